// End-to-end test harness: disposable SSH-reachable hosts (network + mount namespaces,
// see src/lab/namespaceHost.ts) and private instances of the seed lab.
//
//   const h = await startTestHost({ name: 'gw' });
//   const inventory = h.writeInventory();         // all: hosts: gw: { ansible_host: ... }
//   await h.run('ip -br link');                    // inside the host, throws on failure
//   await h.destroy();                             // in afterAll, always
//
// Test hosts use the "wgt-" prefix, state under /run/wgplay-test and management slots
// 16..63 (172.31.250.64/26 and .128/25), so they never collide with `wgplay lab`
// ("wgl-", /run/wgplay-lab, 172.31.250.0/30) nor with a concurrent test run (each host
// or lab atomically claims its own slot, and stale cleanup spares hosts whose owning
// process is alive).

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { TEST_SLOTS, claimSlot, listSlotClaims, mgmtAddresses, releaseSlot } from '../../src/lab/addressPlan.js';
import type { ExecResult } from '../../src/lab/exec.js';
import { NamespaceHost, destroyStale, listNetns, requireRoot } from '../../src/lab/namespaceHost.js';
import { SeedLab } from '../../src/lab/seedLab.js';
import { PACKAGE_ROOT } from '../../src/version.js';

const TEST_STATE_ROOT = '/run/wgplay-test';
const TEST_PREFIX = 'wgt-';

export interface TestSsh {
  host: string;
  port: number;
  user: 'root';
  privateKeyPath: string;
  knownHostsPath: string;
}

export interface TestHost {
  /** Inventory name of the host. */
  name: string;
  /** Its network namespace (`ip netns`). */
  netns: string;
  ssh: TestSsh;
  /** The underlying namespace host (nsenter prefix, daemons, writeFile...). */
  host: NamespaceHost;
  /**
   * Writes an Ansible-style YAML inventory with this host and returns its path
   * (`${dir}/inventory.yaml`; dir defaults to the host's root-only state dir).
   */
  writeInventory(dir?: string): string;
  /** Runs a bash script inside the host. */
  exec(script: string): Promise<ExecResult>;
  /** Runs a bash script (set -euo pipefail) inside the host; throws with stderr on failure. */
  run(script: string): Promise<string>;
  /** Removes the host: processes (by pid), veth, namespaces, state. Idempotent. */
  destroy(): Promise<void>;
}

let staleCleaned = false;

/** Removes test hosts and test labs whose owning process is gone. Runs once per process by default. */
async function cleanStaleTestHosts(force = false): Promise<string[]> {
  if (staleCleaned && !force) return [];
  staleCleaned = true;
  requireRoot();
  let removed: string[] = [];
  try {
    removed = await destroyStale(TEST_PREFIX, { stateRoots: [TEST_STATE_ROOT], spareLiveOwners: true });
  } catch (e) {
    // Best effort: a leftover that will not go away must not fail every test.
    process.stderr.write(`warning: ${(e as Error).message}\n`);
  }
  for (const claim of listSlotClaims(TEST_STATE_ROOT)) {
    // A stale claim whose hosts are still there keeps its slot (and addresses) busy.
    if (claim.stale && (await listNetns(`${TEST_PREFIX}${claim.slot}-`)).length === 0) releaseSlot(claim.dir);
  }
  return removed;
}

function sanitize(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,40}$/.test(name)) {
    throw new Error(`test host name ${JSON.stringify(name)}: use letters, digits, "-", "_", "." (max 41)`);
  }
  return name;
}

/** An SSH-reachable disposable host: management veth + sshd, no underlay. */
export async function startTestHost(opts: { name?: string } = {}): Promise<TestHost> {
  await cleanStaleTestHosts();
  const claim = claimSlot(TEST_STATE_ROOT, TEST_SLOTS);
  const name = sanitize(opts.name ?? `h${claim.slot}`);
  const netns = `${TEST_PREFIX}${claim.slot}-${name}`;
  let host: NamespaceHost | undefined;
  try {
    host = await NamespaceHost.create({
      name: netns,
      stateDir: join(claim.dir, 'host'),
      hostname: name,
      ownerPid: process.pid,
      mgmt: { rootIfname: `${TEST_PREFIX}m${claim.slot}`, hostIfname: 'mgmt0', ...mgmtAddresses(claim.slot) },
    });
    const info = await host.startSshd({
      privateKeyPath: join(claim.dir, 'id_ed25519'),
      knownHostsPath: join(claim.dir, 'known_hosts'),
    });
    const ssh: TestSsh = {
      host: info.host,
      port: info.port,
      user: 'root',
      privateKeyPath: info.privateKeyPath,
      knownHostsPath: info.knownHostsPath,
    };
    const h = host;
    let destroyed = false;
    return {
      name,
      netns,
      ssh,
      host: h,
      writeInventory(dir = claim.dir) {
        return writeInventory(dir, [{ name, ssh }]);
      },
      exec: (script) => h.bash(script),
      run: (script) => h.run(script),
      async destroy() {
        if (destroyed) return;
        await h.destroy();
        releaseSlot(claim.dir);
        destroyed = true;
      },
    };
  } catch (e) {
    await host?.destroy().catch(() => {});
    releaseSlot(claim.dir);
    throw e;
  }
}

/** A host's connection variables for an inventory, then `vars`. */
function inventoryHost(ssh: TestSsh, vars: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ansible_host: ssh.host,
    ansible_port: ssh.port,
    ansible_user: ssh.user,
    ansible_ssh_private_key_file: ssh.privateKeyPath,
    wgplay_known_hosts_file: ssh.knownHostsPath,
    ...vars,
  };
}

/** Writes `${dir}/inventory.yaml` for the given hosts and returns its path. */
export function writeInventory(dir: string, hosts: { name: string; ssh: TestSsh; vars?: Record<string, unknown> }[]): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, 'inventory.yaml');
  writeFileSync(path, stringify({ all: { hosts: Object.fromEntries(hosts.map((h) => [h.name, inventoryHost(h.ssh, h.vars)])) } }), { mode: 0o644 });
  return path;
}

/** The seed article's gateway playbook (what `wgplay lab` applies). */
export const GATEWAY_PLAYBOOK = join(PACKAGE_ROOT, 'playbooks/gateway.yaml');

export type LabCustomer = Record<string, unknown> & { name: string };

/** The gateway vars, customers among them, of the committed lab inventory (playbooks/lab.inventory.yaml). */
export const labVars = (parse(readFileSync(join(PACKAGE_ROOT, 'playbooks/lab.inventory.yaml'), 'utf8')) as any).all.children.gateways.vars as Record<string, unknown> & {
  customers: LabCustomer[];
};

let labInventories = 0;

/**
 * An inventory (in a new folder under `dir`) for a seed lab's Host C in group "gateways",
 * as the committed lab inventory has it: the lab's vars with these customers, `vars` over
 * them, `host` over its connection variables; `ssh` instead of the lab's (a closed port...).
 */
export function labInventory(
  lab: TestSeedLab,
  dir: string,
  customers: LabCustomer[],
  options: { vars?: Record<string, unknown>; host?: Record<string, unknown>; ssh?: TestSsh } = {},
): string {
  const folder = join(dir, `inv-${labInventories++}`);
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const host = { ...inventoryHost(options.ssh ?? lab.ssh, { ...labVars, customers, ...options.vars }), ...options.host };
  const path = join(folder, 'inventory.yaml');
  writeFileSync(path, stringify({ all: { children: { gateways: { hosts: { 'host-c': host } } } } }), { mode: 0o644 });
  return path;
}

export interface TestSeedLab {
  /** The lab itself: host(id), runInHost, configureCustomer, addCustomerHost, status... */
  lab: SeedLab;
  prefix: string;
  /** SSH to Host C (the gateway). */
  ssh: TestSsh;
  /** Inventory with Host C as `inventoryName` (default "host-c"). */
  writeInventory(dir?: string, inventoryName?: string): string;
  /** Removes every host of this lab. Idempotent. */
  destroy(): Promise<void>;
}

/**
 * A private instance of the seed topology (Hosts A, B, C and router R; see seedLab.ts)
 * with the same addresses as `wgplay lab`, but its own namespaces ("wgt-N-a"...),
 * management slot and keys, so it coexists with `wgplay lab` and other test runs.
 */
export async function startTestSeedLab(): Promise<TestSeedLab> {
  await cleanStaleTestHosts();
  const claim = claimSlot(TEST_STATE_ROOT, TEST_SLOTS);
  const prefix = `${TEST_PREFIX}${claim.slot}-`;
  const stateDir = join(claim.dir, 'lab');
  try {
    const lab = await SeedLab.up({
      prefix,
      stateDir,
      ownerPid: process.pid,
      mgmt: { rootIfname: `${TEST_PREFIX}m${claim.slot}`, hostIfname: 'mgmt0', ...mgmtAddresses(claim.slot) },
      privateKeyPath: join(claim.dir, 'id_ed25519'),
      knownHostsPath: join(claim.dir, 'known_hosts'),
    });
    const s = lab.ssh;
    const ssh: TestSsh = { host: s.host, port: s.port, user: 'root', privateKeyPath: s.privateKeyPath, knownHostsPath: s.knownHostsPath };
    let destroyed = false;
    return {
      lab,
      prefix,
      ssh,
      writeInventory(dir = claim.dir, inventoryName = 'host-c') {
        return writeInventory(dir, [{ name: inventoryName, ssh }]);
      },
      async destroy() {
        if (destroyed) return;
        await SeedLab.down(stateDir, prefix);
        releaseSlot(claim.dir);
        destroyed = true;
      },
    };
  } catch (e) {
    await SeedLab.down(stateDir, prefix).catch(() => {});
    releaseSlot(claim.dir);
    throw e;
  }
}

/**
 * Shell that lists the wireguard-go daemons of the namespace it runs in, one
 * "PID wireguard-go IFACE" line each, sorted: other labs' daemons on this machine are
 * left out (pgrep sees every namespace). Never fails, even when a daemon ends meanwhile.
 */
export const OWN_DAEMONS_SCRIPT =
  "self=$(readlink /proc/self/ns/net); for p in $(pgrep -x wireguard-go); do " +
  'if [ "$(readlink /proc/$p/ns/net 2>/dev/null)" = "$self" ]; then echo "$p $(tr \'\\0\' \' \' < /proc/$p/cmdline 2>/dev/null)"; fi; done | sort; true';

/** A customer of testHostGateway: every one is 10.0.0.1 and calls us 10.0.0.2, as in the seed. */
export interface TestCustomer {
  name: string;
  public_key: string;
}

/**
 * The one-play, one-task gateway playbook the single-host tests and benches run on a
 * startTestHost host (its management link is mgmt0; SSH allowed on any interface).
 */
export function testHostGateway(play: string, customers: TestCustomer[], pools: Record<string, string>, more: Record<string, unknown> = {}): unknown[] {
  return [
    {
      name: play,
      hosts: 'all',
      tasks: [
        {
          name: 'gateway',
          wireguard_gateway: {
            public_interface: 'mgmt0',
            public_address: '203.0.113.2',
            ssh: { interfaces: 'any' },
            ...more,
            pools,
            customers: customers.map((customer) => ({ ...customer, address: '10.0.0.1', our_address: '10.0.0.2' })),
          },
        },
      ],
    },
  ];
}
