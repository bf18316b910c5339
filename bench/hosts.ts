// The disposable hosts the benchmark runs against, and what it reads from them.
//
//  - one gateway: startTestHost (test/e2e/harness.ts), a fresh one per first apply;
//  - a fleet of G gateways (50 by default): more hosts than the test slots hold, so they
//    get their own prefix "wgb-", state under /run/wgplay-bench and management addresses
//    172.31.251.(4k+1) <-> .(4k+2) (k < 64), never shared with tests or `wgplay lab`.
//
// Every host is destroyed afterwards (also on Ctrl-C); a crashed run's fleet is removed
// by the next run (destroyStale, sparing hosts whose owning process is alive).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { NamespaceHost, destroyStale } from '../src/lab/namespaceHost.js';
import { startTestHost, writeInventory, type TestSsh } from '../test/e2e/harness.js';
import type { FileBundle } from './baselines.js';

export interface BenchHost {
  name: string;
  netns: string;
  ssh: TestSsh;
  host: NamespaceHost;
  destroy(): Promise<void>;
}

export const progress = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

const live = new Set<BenchHost>();

/** Destroys every host still up (the end of the run, or a signal). */
export async function destroyAll(): Promise<void> {
  await Promise.allSettled([...live].map((host) => host.destroy()));
  live.clear();
}

export async function freshHost(name: string): Promise<BenchHost> {
  const host = await startTestHost({ name });
  const tracked: BenchHost = {
    ...host,
    destroy: async () => {
      live.delete(tracked);
      await host.destroy();
    },
  };
  live.add(tracked);
  return tracked;
}

const FLEET_ROOT = '/run/wgplay-bench';
const FLEET_PREFIX = 'wgb-';
export const FLEET_MAX = 64;

/** G fresh gateways, created a few at a time. */
export async function freshFleet(count: number): Promise<BenchHost[]> {
  if (count > FLEET_MAX) throw new Error(`at most ${FLEET_MAX} gateways (management addresses 172.31.251.0/24)`);
  await destroyStale(FLEET_PREFIX, { stateRoots: [FLEET_ROOT], spareLiveOwners: true });
  // Another live bench run holds these names: refuse rather than collide.
  const taken = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((line) => line.startsWith(FLEET_PREFIX));
  if (taken.length) throw new Error(`fleet namespaces of another live bench run exist (${taken[0]}...): wait for it to finish`);
  const hosts: BenchHost[] = [];
  const started = performance.now();
  for (let first = 0; first < count; first += 8) {
    const batch = Array.from({ length: Math.min(8, count - first) }, (_, i) => first + i);
    hosts.push(...(await Promise.all(batch.map((k) => fleetHost(k)))));
  }
  progress(`  ${count} gateways up (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  return hosts;
}

async function fleetHost(k: number): Promise<BenchHost> {
  const dir = join(FLEET_ROOT, `g${k}`);
  const netns = `${FLEET_PREFIX}${k}`;
  const host = await NamespaceHost.create({
    name: netns,
    stateDir: join(dir, 'host'),
    hostname: `gw${k}`,
    ownerPid: process.pid,
    mgmt: { rootIfname: `${FLEET_PREFIX}m${k}`, hostIfname: 'mgmt0', rootAddress: `172.31.251.${4 * k + 1}`, hostAddress: `172.31.251.${4 * k + 2}`, prefixLen: 30 },
  });
  const tracked: BenchHost = {
    name: `gw${k}`,
    netns,
    host,
    ssh: { host: '', port: 0, user: 'root', privateKeyPath: '', knownHostsPath: '' },
    destroy: async () => {
      live.delete(tracked);
      await host.destroy();
    },
  };
  live.add(tracked);
  const info = await host.startSshd({ privateKeyPath: join(dir, 'id_ed25519'), knownHostsPath: join(dir, 'known_hosts') });
  tracked.ssh = { host: info.host, port: info.port, user: 'root', privateKeyPath: info.privateKeyPath, knownHostsPath: info.knownHostsPath };
  return tracked;
}

export function inventoryFor(dir: string, hosts: BenchHost[]): string {
  return writeInventory(dir, hosts.map((h) => ({ name: h.name, ssh: h.ssh })));
}

/** Bytes this machine has sent to the host so far (the root end of its management veth). */
export function sentBytes(host: BenchHost): number {
  const ifname = host.host.mgmt?.rootIfname;
  if (!ifname) throw new Error(`${host.netns} has no management link`);
  return Number(readFileSync(`/sys/class/net/${ifname}/statistics/tx_bytes`, 'utf8'));
}

/** wireguard-go processes alive in the host (by its namespace's pid list). */
export function daemonsAlive(host: BenchHost): number {
  const pids = execFileSync('ip', ['netns', 'pids', host.netns], { encoding: 'utf8' }).split('\n').filter(Boolean);
  let alive = 0;
  for (const pid of pids) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'wireguard-go') alive++;
    } catch {
      // gone meanwhile
    }
  }
  return alive;
}

/** WireGuard interfaces the host has (links of kind tun or wireguard named like ours). */
export async function wireguardLinks(host: BenchHost): Promise<number> {
  const out = await host.host.run(`ls /sys/class/net`);
  return out.split(/\s+/).filter((name) => /^wg-/.test(name)).length;
}

const MARKER = '/run/bench-before-apply';

/** Marks the moment before a first apply: the bundle takes what is newer. */
export async function markBeforeApply(host: BenchHost): Promise<void> {
  await host.host.run(`touch ${MARKER}; sleep 0.01`);
}

/**
 * The files and symlinks written under /etc and /var/lib since markBeforeApply, except
 * the given private key files, as a bundle a baseline script can unpack.
 */
export async function captureBundle(host: BenchHost, keyFiles: string[]): Promise<FileBundle> {
  const skip = new Set(keyFiles.map((path) => path.slice(1)));
  const listing = await host.host.run(`find /etc /var/lib -newer ${MARKER} -printf '%y %m %P|%p\\n'`);
  const directories: FileBundle['directories'] = [];
  const files: string[] = [];
  for (const line of listing.split('\n').filter(Boolean)) {
    const [head, full] = line.split('|') as [string, string];
    const [type, mode] = head.split(' ') as [string, string];
    const path = full.slice(1);
    if (type === 'd') directories.push({ path, mode: mode.padStart(4, '0') });
    else if ((type === 'f' || type === 'l') && !skip.has(path)) files.push(path);
  }
  await host.host.writeFile('/run/bench-bundle-list', `${files.join('\n')}\n`, 0o600);
  const tarBase64 = (await host.host.run(`tar -c -C / --no-recursion -f - -T /run/bench-bundle-list | base64 -w 0`)).trim();
  return { directories, files, tarBase64 };
}

/** wireguard-go takes one inotify instance per daemon, machine-wide: raise the limit (never lower it). */
export function raiseInotifyLimit(daemons: number): string {
  const path = '/proc/sys/fs/inotify/max_user_instances';
  const current = Number(readFileSync(path, 'utf8').trim());
  const wanted = daemons + 1024;
  if (current >= wanted) return `fs.inotify.max_user_instances = ${current} (enough for ${daemons} daemons; left as is)`;
  writeFileSync(path, `${wanted}\n`);
  return `fs.inotify.max_user_instances raised from ${current} to ${wanted} for up to ${daemons} wireguard-go daemons (live only; never lowered)`;
}
