// The seed article's topology ("WireGuard With Overlapping Client Networks") as
// namespace hosts on this machine:
//
//   Host A (customer)  eth0 198.51.100.10/25  --- R to-a 198.51.100.1/25
//   Host B (customer)  eth0 198.51.100.130/25 --- R to-b 198.51.100.129/25
//   Host C (gateway)   eth0 203.0.113.2/24    --- R to-c 203.0.113.1/24
//                      mgmt0 172.31.250.2/30  --- root namespace wgl-mgmt-c 172.31.250.1/30 (sshd)
//   Host D.. (extra customers, on demand)  eth0 198.18.N.10/24 --- R to-d 198.18.N.1/24
//   R (router): ip_forward=1. Every host's default route goes via R.
//
// HTTP "whoami" servers: A and B (and extra customers) on 0.0.0.0:80 ("hello from
// host-a; you are 10.0.0.2"), C on 0.0.0.0:8080 ("host-c service; you are 10.100.100.1").
// Customer WireGuard is not configured at `up`: configureCustomer() does that.
//
// `wgplay lab` uses the fixed instance (prefix "wgl-", state /run/wgplay-lab, Host C at
// 172.31.250.2 with the client key and known_hosts at fixed paths, see LAB). The
// end-to-end tests start private instances (prefix "wgt-N-", see test/e2e/harness.ts).

import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertStatePath, mgmtAddresses } from './addressPlan.js';
import { checkArgv, execArgv, pidCmdline, shQuote, terminatePids, waitForExit, type ExecResult } from './exec.js';
import {
  NamespaceHost,
  destroyStale,
  listNetns,
  requireRoot,
  linkExists,
  type MgmtLinkSpec,
  type SshInfo,
} from './namespaceHost.js';

type CustomerId = 'a' | 'b' | (string & {});
type LabHostId = 'a' | 'b' | 'c' | 'r' | (string & {});

interface UnderlaySpec {
  /** Interface name inside the host. */
  ifname: string;
  address: string;
  prefixLen: number;
  /** The router's address on this link (the host's default gateway). */
  gateway: string;
  /** The link's name inside the router namespace. */
  routerIfname: string;
}

interface CustomerSpec {
  id: string;
  hostname: string;
  underlay: UnderlaySpec;
  httpPort: number;
  httpText: string;
  /** WireGuard key pair the customer's wg0.conf uses. */
  privateKey: string;
  publicKey: string;
}

/** The seed article's demo keys (its Host A and Host B); verified with `wg pubkey`. */
export const SEED_CUSTOMER_KEYS = {
  a: { privateKey: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEE=', publicKey: '/TOE4TKtAqVsePRVR+5AA43HkAK5DSntkOCO7nYq5xU=' },
  b: { privateKey: 'ABBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBFA=', publicKey: 'fE/wdxzl0klVp/IR8UcaoGUMjqaWi3jAd7KzHKFS6Ds=' },
} as const;

const SEED_TOPOLOGY = {
  gateway: {
    id: 'c',
    hostname: 'host-c',
    underlay: { ifname: 'eth0', address: '203.0.113.2', prefixLen: 24, gateway: '203.0.113.1', routerIfname: 'to-c' },
    httpPort: 8080,
    httpText: 'host-c service',
  },
  customers: {
    a: {
      id: 'a',
      hostname: 'host-a',
      underlay: { ifname: 'eth0', address: '198.51.100.10', prefixLen: 25, gateway: '198.51.100.1', routerIfname: 'to-a' },
      httpPort: 80,
      httpText: 'hello from host-a',
      ...SEED_CUSTOMER_KEYS.a,
    },
    b: {
      id: 'b',
      hostname: 'host-b',
      underlay: { ifname: 'eth0', address: '198.51.100.130', prefixLen: 25, gateway: '198.51.100.129', routerIfname: 'to-b' },
      httpPort: 80,
      httpText: 'hello from host-b',
      ...SEED_CUSTOMER_KEYS.b,
    },
  } satisfies Record<string, CustomerSpec>,
  router: { id: 'r', hostname: 'router' },
} as const;

/**
 * Underlay of an extra customer host ("d".."z" except "r"): 198.18.N.10/24 behind
 * router 198.18.N.1, N = the letter's index (d = 3). (198.51.100.0/24 is fully used by
 * A's and B's /25s; 198.18.0.0/15 is reserved for test networks.)
 */
function extraCustomerUnderlay(id: string): UnderlaySpec {
  if (!/^[d-z]$/.test(id) || id === 'r') throw new Error(`extra customer ids are single letters d..z except r, not ${JSON.stringify(id)}`);
  const n = id.charCodeAt(0) - 'a'.charCodeAt(0);
  return { ifname: 'eth0', address: `198.18.${n}.10`, prefixLen: 24, gateway: `198.18.${n}.1`, routerIfname: `to-${id}` };
}

interface SeedLabOptions {
  /** Namespace name prefix; host X becomes `${prefix}X`. */
  prefix: string;
  /** Root-only state directory under /run/wgplay-*; lab.json lives here. */
  stateDir: string;
  /** Host C's management veth. */
  mgmt: MgmtLinkSpec;
  /** Where the SSH client key for Host C goes. Default `${stateDir}/id_ed25519`. */
  privateKeyPath?: string;
  /** Where Host C's known_hosts goes. Default `${stateDir}/known_hosts`. */
  knownHostsPath?: string;
  /** Test runs: the process whose death makes this lab stale. */
  ownerPid?: number;
}

interface LabHostState {
  id: string;
  role: 'gateway' | 'customer' | 'router';
  netns: string;
  hostname: string;
  /** The host's own state dir (host.json, overlay upper dirs, logs). */
  stateDir: string;
  holderPid: number;
  underlay?: UnderlaySpec;
  http?: { port: number; pid: number; text: string };
  /** Customers: the key pair for their wg0.conf. */
  wg?: { privateKey: string; publicKey: string };
}

interface LabState {
  version: 1;
  prefix: string;
  stateDir: string;
  createdAt: string;
  ownerPid?: number;
  mgmt: MgmtLinkSpec;
  /** SSH to Host C (the gateway). */
  ssh: SshInfo;
  hosts: Record<string, LabHostState>;
}

export interface LabHostStatus {
  id: string;
  role: LabHostState['role'];
  netns: string;
  exists: boolean;
  holderAlive: boolean;
  /** Processes in the namespace: pid and command line. */
  processes: { pid: number; cmd: string }[];
  /** `wg show` inside the host ('' when no interface or host down). */
  wgShow: string;
}

export interface LabStatus {
  up: boolean;
  stateFile: string;
  ssh?: SshInfo;
  hosts: LabHostStatus[];
  /** Namespaces with the lab's prefix that lab.json does not know (leftovers). */
  strayNamespaces: string[];
}

const STATE_FILE = 'lab.json';

export class SeedLab {
  private constructor(private state: LabState) {}

  get prefix(): string {
    return this.state.prefix;
  }
  get stateDir(): string {
    return this.state.stateDir;
  }
  get ssh(): SshInfo {
    return { ...this.state.ssh };
  }
  toState(): LabState {
    return structuredClone(this.state);
  }

  /** Loads a lab brought up earlier; undefined when there is no lab.json. */
  static load(stateDir: string): SeedLab | undefined {
    const file = join(stateDir, STATE_FILE);
    if (!existsSync(file)) return undefined;
    return new SeedLab(JSON.parse(readFileSync(file, 'utf8')));
  }

  /** True when lab.json exists and every recorded host's holder is alive. */
  static isUp(stateDir: string): boolean {
    const lab = SeedLab.load(stateDir);
    if (!lab) return false;
    return Object.values(lab.state.hosts).every((h) => {
      try {
        return NamespaceHost.load(h.stateDir).holderIsOurs();
      } catch {
        return false;
      }
    });
  }

  /**
   * Brings the topology up. Refuses when this lab is already up; leftovers of a crashed
   * or half-removed earlier run (same prefix and state dir) are removed first. On
   * failure, everything created is removed again.
   */
  static async up(opts: SeedLabOptions): Promise<SeedLab> {
    requireRoot();
    assertStatePath(join(opts.stateDir, STATE_FILE));
    if (SeedLab.isUp(opts.stateDir)) {
      throw new Error(`the lab in ${opts.stateDir} is already up (prefix ${opts.prefix}); take it down first`);
    }
    await SeedLab.down(opts.stateDir, opts.prefix, { keepDir: true });
    mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
    chmodSync(opts.stateDir, 0o700);

    const p = opts.prefix;
    const hostsDir = join(opts.stateDir, 'hosts');
    const mk = (id: string, hostname: string, mgmt?: MgmtLinkSpec) =>
      NamespaceHost.create({ name: `${p}${id}`, stateDir: join(hostsDir, `${p}${id}`), hostname, mgmt, ownerPid: opts.ownerPid });

    const lab = new SeedLab({
      version: 1,
      prefix: p,
      stateDir: opts.stateDir,
      createdAt: new Date().toISOString(),
      ownerPid: opts.ownerPid,
      mgmt: opts.mgmt,
      ssh: undefined as unknown as SshInfo,
      hosts: {},
    });
    try {
      const g = SEED_TOPOLOGY.gateway;
      const [r, c, a, b] = await settleAll([
        mk('r', SEED_TOPOLOGY.router.hostname),
        mk('c', g.hostname, opts.mgmt),
        mk('a', SEED_TOPOLOGY.customers.a.hostname),
        mk('b', SEED_TOPOLOGY.customers.b.hostname),
      ]);
      lab.state.hosts.r = lab.hostStateOf('r', 'router', r);
      lab.state.hosts.c = lab.hostStateOf('c', 'gateway', c, g.underlay);
      lab.state.hosts.a = lab.hostStateOf('a', 'customer', a, SEED_TOPOLOGY.customers.a.underlay, SEED_CUSTOMER_KEYS.a);
      lab.state.hosts.b = lab.hostStateOf('b', 'customer', b, SEED_TOPOLOGY.customers.b.underlay, SEED_CUSTOMER_KEYS.b);
      await r.run('sysctl -qw net.ipv4.ip_forward=1');

      const whoami = await whoamiServerSource();
      const sshInfo = c.startSshd({ privateKeyPath: opts.privateKeyPath, knownHostsPath: opts.knownHostsPath });
      sshInfo.catch(() => {}); // awaited below; no unhandled rejection meanwhile
      await settleAll([
        lab.connectUnderlay(r, c, g.underlay),
        lab.connectUnderlay(r, a, SEED_TOPOLOGY.customers.a.underlay),
        lab.connectUnderlay(r, b, SEED_TOPOLOGY.customers.b.underlay),
      ]);
      lab.state.ssh = await sshInfo;
      await settleAll([
        lab.startHttp('c', c, whoami, g.httpPort, g.httpText),
        lab.startHttp('a', a, whoami, SEED_TOPOLOGY.customers.a.httpPort, SEED_TOPOLOGY.customers.a.httpText),
        lab.startHttp('b', b, whoami, SEED_TOPOLOGY.customers.b.httpPort, SEED_TOPOLOGY.customers.b.httpText),
      ]);
      lab.save();
      return lab;
    } catch (e) {
      await SeedLab.down(opts.stateDir, p).catch(() => {});
      throw e;
    }
  }

  /**
   * Removes every host of the lab (recorded in lab.json or just carrying the prefix),
   * its processes (by pid), veths, namespaces and the state directory. Idempotent.
   * Returns the namespaces removed.
   */
  static async down(stateDir: string, prefix: string, opts: { keepDir?: boolean } = {}): Promise<string[]> {
    requireRoot();
    assertStatePath(join(stateDir, STATE_FILE));
    const removed = new Set<string>();
    const lab = SeedLab.load(stateDir);
    if (lab) {
      for (const h of Object.values(lab.state.hosts)) {
        try {
          await NamespaceHost.load(h.stateDir).destroy();
          removed.add(h.netns);
        } catch {
          /* no record: destroyStale below catches the namespace */
        }
      }
      const rootIf = lab.state.mgmt.rootIfname;
      if (await linkExists(rootIf)) await execArgv(['ip', 'link', 'del', 'dev', rootIf]);
    }
    for (const ns of await destroyStale(prefix, { stateRoots: [stateDir] })) removed.add(ns);
    if (existsSync(stateDir)) {
      if (opts.keepDir) {
        rmSync(join(stateDir, STATE_FILE), { force: true });
        rmSync(join(stateDir, 'hosts'), { recursive: true, force: true });
      } else {
        rmSync(stateDir, { recursive: true, force: true });
      }
    }
    return [...removed].sort();
  }

  private save(): void {
    writeFileSync(join(this.state.stateDir, STATE_FILE), JSON.stringify(this.state, null, 2) + '\n', { mode: 0o600 });
  }

  private async connectUnderlay(router: NamespaceHost, host: NamespaceHost, u: UnderlaySpec): Promise<void> {
    await checkArgv([
      'ip', '-n', router.name, 'link', 'add', 'name', u.routerIfname, 'type', 'veth', 'peer', 'name', u.ifname, 'netns', host.name,
    ]);
    await router.run(
      `ip address add ${u.gateway}/${u.prefixLen} dev ${u.routerIfname}\nip link set dev ${u.routerIfname} up`,
    );
    await host.run(
      `ip address add ${u.address}/${u.prefixLen} dev ${u.ifname}\nip link set dev ${u.ifname} up\n` +
        `ip route add default via ${u.gateway} dev ${u.ifname}`,
    );
  }

  private async startHttp(id: string, host: NamespaceHost, source: string, port: number, text: string): Promise<void> {
    const script = `/run/wgplay-whoami-${port}.mjs`;
    await host.writeFile(script, source, 0o644);
    const pid = host.spawnDaemon([process.execPath, script, '--port', String(port), '--text', text], `http-${port}.log`, `whoami :${port}`);
    const r = await host.bash(
      `for i in $(seq 200); do curl -s -o /dev/null --max-time 1 http://127.0.0.1:${port}/ && exit 0; ` +
        `kill -0 ${pid} 2>/dev/null || exit 2; sleep 0.025; done; exit 1`,
    );
    if (r.code !== 0) {
      throw new Error(`HTTP server on ${host.name}:${port} did not start: ${host.readLog(`http-${port}.log`).trim() || `exit ${r.code}`}`);
    }
    this.state.hosts[id]!.http = { port, pid, text };
  }

  /** The namespace host behind an id ("a", "b", "c", "r", extra customers). */
  host(id: LabHostId): NamespaceHost {
    const h = this.state.hosts[id];
    if (!h) throw new Error(`the lab has no host ${JSON.stringify(id)} (hosts: ${Object.keys(this.state.hosts).join(', ')})`);
    return NamespaceHost.load(h.stateDir);
  }

  /** What lab.json records about a host (copy). */
  hostInfo(id: LabHostId): LabHostState {
    const h = this.state.hosts[id];
    if (!h) throw new Error(`the lab has no host ${JSON.stringify(id)}`);
    return structuredClone(h);
  }

  /** Runs a bash script inside a lab host. */
  async runInHost(id: LabHostId, script: string): Promise<ExecResult> {
    return this.host(id).bash(script);
  }

  /** Customer ids present (a, b, extra ones). */
  customers(): string[] {
    return Object.values(this.state.hosts)
      .filter((h) => h.role === 'customer')
      .map((h) => h.id)
      .sort();
  }

  /** The customer's WireGuard key pair (seed demo keys for A/B, generated for extras). */
  customerKeys(id: CustomerId): { privateKey: string; publicKey: string } {
    const h = this.state.hosts[id];
    if (!h || h.role !== 'customer' || !h.wg) throw new Error(`no customer host ${JSON.stringify(id)} in the lab`);
    return { ...h.wg };
  }

  /**
   * Writes /etc/wireguard/wg0.conf inside a customer host (its overlay /etc, mode 600)
   * and brings wg0 up with wg-quick (wireguard-go). When wg0 is already up it is taken
   * down first (with its old config) and its wireguard-go is waited for.
   */
  async configureCustomer(id: CustomerId, wgQuickConfig: string): Promise<void> {
    const h = this.state.hosts[id];
    if (!h || h.role !== 'customer') throw new Error(`no customer host ${JSON.stringify(id)} in the lab`);
    const host = this.host(id);
    await wgQuickDown(host, 'wg0');
    await host.writeFile('/etc/wireguard/wg0.conf', wgQuickConfig, 0o600);
    await host.run('wg-quick up wg0 2>&1');
  }

  /** Takes a customer's wg0 down (no-op when it is not up). */
  async unconfigureCustomer(id: CustomerId): Promise<void> {
    await wgQuickDown(this.host(id), 'wg0');
  }

  /**
   * Adds an extra customer host ("d".."z"): namespace, underlay link to the router,
   * HTTP server on :80 ("hello from host-d"), a generated WireGuard key pair.
   */
  async addCustomerHost(id: CustomerId): Promise<LabHostState> {
    if (this.state.hosts[id]) throw new Error(`the lab already has host ${JSON.stringify(id)}`);
    const underlay = extraCustomerUnderlay(id);
    const p = this.state.prefix;
    const host = await NamespaceHost.create({
      name: `${p}${id}`,
      stateDir: join(this.state.stateDir, 'hosts', `${p}${id}`),
      hostname: `host-${id}`,
      ownerPid: this.state.ownerPid,
    });
    try {
      const privateKey = (await checkArgv(['wg', 'genkey'])).trim();
      const publicKey = (await checkArgv(['wg', 'pubkey'], { input: privateKey + '\n' })).trim();
      this.state.hosts[id] = this.hostStateOf(id, 'customer', host, underlay, { privateKey, publicKey });
      this.save();
      await this.connectUnderlay(this.host('r'), host, underlay);
      await this.startHttp(id, host, await whoamiServerSource(), 80, `hello from host-${id}`);
      this.save();
      return structuredClone(this.state.hosts[id]!);
    } catch (e) {
      await host.destroy().catch(() => {});
      delete this.state.hosts[id];
      this.save();
      throw e;
    }
  }

  /** Removes an extra customer host again. */
  async removeCustomerHost(id: CustomerId): Promise<void> {
    const h = this.state.hosts[id];
    if (!h) return;
    if (id === 'a' || id === 'b') throw new Error('hosts a and b belong to the seed topology; take the whole lab down instead');
    await NamespaceHost.load(h.stateDir).destroy();
    delete this.state.hosts[id];
    this.save();
  }

  async status(): Promise<LabStatus> {
    return statusOf(this.state.stateDir, this.state.prefix);
  }

  private hostStateOf(
    id: string,
    role: LabHostState['role'],
    host: NamespaceHost,
    underlay?: UnderlaySpec,
    wg?: { privateKey: string; publicKey: string },
  ): LabHostState {
    return {
      id,
      role,
      netns: host.name,
      hostname: host.hostname,
      stateDir: host.stateDir,
      holderPid: host.holderPid,
      underlay,
      wg: wg ? { ...wg } : undefined,
    };
  }
}

/** Status of the lab in stateDir (works when it is down or half there too). */
async function statusOf(stateDir: string, prefix: string): Promise<LabStatus> {
  const lab = SeedLab.load(stateDir);
  const file = join(stateDir, STATE_FILE);
  const known = new Set<string>();
  const hosts: LabHostStatus[] = [];
  if (lab) {
    const st = lab.toState();
    for (const h of Object.values(st.hosts)) {
      known.add(h.netns);
      let host: NamespaceHost | undefined;
      try {
        host = NamespaceHost.load(h.stateDir);
      } catch {
        host = undefined;
      }
      const holderAlive = host?.holderIsOurs() ?? false;
      const pids = host ? await host.pids() : [];
      let wgShow = '';
      if (host && holderAlive) {
        const r = await host.exec(['wg', 'show']);
        wgShow = r.code === 0 ? r.stdout.trim() : `(wg show failed: ${r.stderr.trim()})`;
      }
      hosts.push({
        id: h.id,
        role: h.role,
        netns: h.netns,
        exists: (await listNetns(h.netns)).includes(h.netns),
        holderAlive,
        processes: pids.map((pid) => ({ pid, cmd: pidCmdline(pid) })),
        wgShow,
      });
    }
  }
  const stray = (await listNetns(prefix)).filter((n) => !known.has(n));
  return {
    up: !!lab && hosts.length > 0 && hosts.every((h) => h.exists && h.holderAlive),
    stateFile: file,
    ssh: lab?.ssh,
    hosts,
    strayNamespaces: stray,
  };
}

/** `wg-quick down IFACE` inside a host when the link exists, then waits for its wireguard-go. */
async function wgQuickDown(host: NamespaceHost, iface: string): Promise<void> {
  const exists = (await host.exec(['ip', 'link', 'show', 'dev', iface])).code === 0;
  if (!exists) return;
  const before = (await host.pids()).filter((pid) => pidCmdline(pid) === `wireguard-go ${iface}`);
  const r = await host.bash(`wg-quick down ${shQuote(iface)} 2>&1 || ip link del dev ${shQuote(iface)}`);
  if (r.code !== 0) throw new Error(`cannot take ${iface} down in ${host.name}: ${r.stdout.trim()}`);
  // wireguard-go exits shortly after its tun device goes; a new one must not race it
  // for /run/wireguard/IFACE.sock.
  const left = await waitForExit(before, 5000);
  if (left.length) await terminatePids(left, 1000);
}

async function settleAll<T>(promises: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/**
 * JavaScript of the whoami server. From dist: the sibling whoamiServer.js. From the
 * TypeScript sources (vitest): the built dist/src/lab/whoamiServer.js when it is newer
 * than whoamiServer.ts, else the .ts transpiled on the fly, so it never depends on a
 * stale or missing build. The lab copies it into each host's private /run (the lab's
 * state dir is not visible inside hosts).
 */
function whoamiServerSource(): Promise<string> {
  whoamiSource ??= loadWhoamiSource();
  return whoamiSource;
}
let whoamiSource: Promise<string> | undefined;

async function loadWhoamiSource(): Promise<string> {
  const here = fileURLToPath(import.meta.url);
  const sibling = join(dirname(here), 'whoamiServer.js');
  if (here.endsWith('.js') && existsSync(sibling)) return readFileSync(sibling, 'utf8');
  const tsSource = join(dirname(here), 'whoamiServer.ts');
  if (!existsSync(tsSource)) throw new Error('cannot find whoamiServer.js: run `npm run build`');
  const built = join(dirname(here), '..', '..', 'dist', 'src', 'lab', 'whoamiServer.js');
  if (existsSync(built) && statSync(built).mtimeMs >= statSync(tsSource).mtimeMs) return readFileSync(built, 'utf8');
  const ts = (await import('typescript')).default;
  return ts.transpileModule(readFileSync(tsSource, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
}

// ---------------------------------------------------------------------------------
// The fixed `wgplay lab` instance.

const LAB_STATE_DIR = '/run/wgplay-lab';
const LAB_PREFIX = 'wgl-';

/** Fixed addresses and paths of the `wgplay lab` instance (a committed inventory uses them). */
export const LAB = {
  prefix: LAB_PREFIX,
  stateDir: LAB_STATE_DIR,
  stateFile: `${LAB_STATE_DIR}/${STATE_FILE}`,
  mgmt: { rootIfname: 'wgl-mgmt-c', ...mgmtAddresses(0), hostIfname: 'mgmt0' } satisfies MgmtLinkSpec,
  ssh: {
    host: mgmtAddresses(0).hostAddress,
    port: 22,
    user: 'root' as const,
    privateKeyPath: `${LAB_STATE_DIR}/id_ed25519`,
    knownHostsPath: `${LAB_STATE_DIR}/known_hosts`,
  },
} as const;

function fixedLabOptions(): SeedLabOptions {
  return {
    prefix: LAB.prefix,
    stateDir: LAB.stateDir,
    mgmt: { ...LAB.mgmt },
    privateKeyPath: LAB.ssh.privateKeyPath,
    knownHostsPath: LAB.ssh.knownHostsPath,
  };
}

/** Brings the `wgplay lab` topology up. Throws when it is already up (not idempotent). */
export async function labUp(): Promise<LabState> {
  return (await SeedLab.up(fixedLabOptions())).toState();
}

/** Takes the `wgplay lab` topology down; idempotent. Returns the namespaces removed. */
export async function labDown(): Promise<string[]> {
  return SeedLab.down(LAB.stateDir, LAB.prefix);
}

export async function labStatus(): Promise<LabStatus> {
  return statusOf(LAB.stateDir, LAB.prefix);
}
