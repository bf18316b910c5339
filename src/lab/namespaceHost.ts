// A disposable Linux "host" on this machine: a network namespace plus its own mount and
// UTS namespaces, held open by a long-lived `sleep` (the holder). Inside the host:
//   /etc      overlayfs on the real /etc   (upper/work dirs in the host's state dir)
//   /var/lib  overlayfs on the real /var/lib, with /var/lib/wgplay a private, empty
//             folder (a record another run left in the machine's must not leak in)
//   /run      fresh tmpfs (with /run/sshd, /run/wireguard), so wireguard-go sockets,
//             pid files... are private to the host
//   /root     fresh tmpfs, mode 700 (.ssh/authorized_keys; no pyenv .bashrc)
// Everything else (/usr, /tmp, /work...) is the machine's.
//
// State lives in a root-only directory under /run/wgplay-*/ (never /tmp): host.json
// records the holder pid, the netns inode and the management link, so a later process
// (`wgplay lab down`, a test run after a crash) can find and remove it.
//
// Processes are only ever ended by pid: those `ip netns pids NAME` lists (they are in
// our namespace by definition) and the recorded holder when its pid, start time and
// netns inode still match.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readdirSync, readFileSync, rmSync, writeFileSync, chmodSync, statSync, type Dirent } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { assertStatePath } from './addressPlan.js';
import {
  LAB_ENV,
  checkArgv,
  commandError,
  execArgv,
  netnsInode,
  pidAlive,
  pidNetnsInode,
  pidStartTime,
  shQuote,
  sleep,
  terminatePids,
  waitForExit,
  type ExecOptions,
  type ExecResult,
} from './exec.js';

export interface MgmtLinkSpec {
  /** Name of the root-namespace end (at most 15 characters). */
  rootIfname: string;
  /** Address of the root-namespace end, e.g. "172.31.250.1". */
  rootAddress: string;
  /** Address of the host's end, e.g. "172.31.250.2". */
  hostAddress: string;
  prefixLen: number;
  /** Name of the host's end. Default "mgmt0". */
  hostIfname?: string;
}

interface NamespaceHostOptions {
  /** Network namespace name (`ip netns`), e.g. "wgl-c". Letters, digits, "-", "_", ".". */
  name: string;
  /** Per-host state directory; must be under /run/wgplay-<something>/. Created mode 700. */
  stateDir: string;
  /** Hostname inside the host (own UTS namespace). Default: the namespace name. */
  hostname?: string;
  /** A veth to the root namespace, for SSH from this machine. */
  mgmt?: MgmtLinkSpec;
  /** A process whose death makes this host stale (test runs); none for `wgplay lab`. */
  ownerPid?: number;
}

export interface SshInfo {
  /** Address to connect to (the host-side management address). */
  host: string;
  port: number;
  user: 'root';
  /** ed25519 client private key, mode 600 in a root-only directory. */
  privateKeyPath: string;
  /** known_hosts file holding `knownHostsLine`. */
  knownHostsPath: string;
  /** "172.31.250.2 ssh-ed25519 AAAA..." ("[addr]:port ..." when port != 22). */
  knownHostsLine: string;
}

interface SshdOptions {
  /** Default 22. */
  port?: number;
  /** Where to write the client key pair. Default `${stateDir}/id_ed25519`. */
  privateKeyPath?: string;
  /** Where to write the known_hosts file. Default `${stateDir}/known_hosts`. */
  knownHostsPath?: string;
}

interface NamespaceHostRecord {
  version: 1;
  name: string;
  hostname: string;
  stateDir: string;
  holderPid: number;
  holderStartTime?: number;
  netnsInode?: number;
  mgmt?: MgmtLinkSpec;
  ownerPid?: number;
  sshd?: SshInfo & { pid: number };
  /** Other long-running processes started in the host (pid + what). */
  daemons: { pid: number; what: string }[];
  createdAt: string;
}

const RECORD_FILE = 'host.json';
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const SSHD_CONFIG = '/etc/ssh/wgplay_sshd_config';
const SSHD_HOST_KEY = '/etc/ssh/wgplay_ssh_host_ed25519_key';

export class NamespaceHost {
  private constructor(private record: NamespaceHostRecord) {}

  get name(): string {
    return this.record.name;
  }
  get hostname(): string {
    return this.record.hostname;
  }
  get holderPid(): number {
    return this.record.holderPid;
  }
  get stateDir(): string {
    return this.record.stateDir;
  }
  get mgmt(): MgmtLinkSpec | undefined {
    return this.record.mgmt;
  }
  get ssh(): SshInfo | undefined {
    if (!this.record.sshd) return undefined;
    const { pid: _pid, ...info } = this.record.sshd;
    return info;
  }
  toRecord(): NamespaceHostRecord {
    return structuredClone(this.record);
  }

  /** Re-attaches to a host created earlier (possibly by another process). */
  static fromRecord(record: NamespaceHostRecord): NamespaceHost {
    return new NamespaceHost(structuredClone(record));
  }

  static load(stateDir: string): NamespaceHost {
    return new NamespaceHost(JSON.parse(readFileSync(join(stateDir, RECORD_FILE), 'utf8')));
  }

  /**
   * Creates the namespaces, mounts and (optionally) the management veth. On any
   * failure everything created so far is removed again.
   */
  static async create(opts: NamespaceHostOptions): Promise<NamespaceHost> {
    requireRoot();
    if (!NAME_RE.test(opts.name)) throw new Error(`bad namespace name ${JSON.stringify(opts.name)}`);
    assertStatePath(opts.stateDir);
    if (opts.mgmt) {
      for (const n of [opts.mgmt.rootIfname, opts.mgmt.hostIfname ?? 'mgmt0']) {
        if (!/^[A-Za-z0-9_.-]{1,15}$/.test(n)) throw new Error(`bad interface name ${JSON.stringify(n)} (max 15 chars)`);
      }
    }
    if (netnsInode(opts.name) !== undefined) {
      throw new Error(`network namespace ${opts.name} already exists (stale? destroy it first)`);
    }
    const dir = opts.stateDir;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    for (const sub of ['etc-upper', 'etc-work', 'varlib-upper', 'varlib-work', 'varlib-wgplay', 'logs']) {
      mkdirSync(join(dir, sub), { recursive: true, mode: 0o700 });
    }
    // The host's /etc and /var/lib take their mode from the overlay's upper folder: 0755
    // as on a real machine (the state folder around them stays root-only).
    for (const sub of ['etc-upper', 'varlib-upper', 'varlib-wgplay']) chmodSync(join(dir, sub), 0o755);
    const host = new NamespaceHost({
      version: 1,
      name: opts.name,
      hostname: opts.hostname ?? opts.name,
      stateDir: dir,
      holderPid: 0,
      mgmt: opts.mgmt,
      ownerPid: opts.ownerPid,
      daemons: [],
      createdAt: new Date().toISOString(),
    });
    // Record first: a concurrent stale-cleaner must never see our namespace unrecorded.
    host.save();
    try {
      await checkArgv(['ip', 'netns', 'add', opts.name]);
      host.record.netnsInode = netnsInode(opts.name);
      host.save();
      await host.startHolder();
      await host.run('ip link set dev lo up');
      if (opts.mgmt) await host.addMgmtLink(opts.mgmt);
      return host;
    } catch (e) {
      await host.destroy().catch(() => {});
      throw e;
    }
  }

  private save(): void {
    writeFileSync(join(this.record.stateDir, RECORD_FILE), JSON.stringify(this.record, null, 2) + '\n', {
      mode: 0o600,
    });
  }

  private async startHolder(): Promise<void> {
    const d = this.record.stateDir;
    const setup = [
      'set -e',
      // -n: no /run/mount/utab bookkeeping on the machine's /run
      `mount -n -t overlay overlay -o lowerdir=/etc,upperdir=${d}/etc-upper,workdir=${d}/etc-work /etc`,
      `mount -n -t overlay overlay -o lowerdir=/var/lib,upperdir=${d}/varlib-upper,workdir=${d}/varlib-work /var/lib`,
      // wgplay's own records start empty, whatever the machine's /var/lib/wgplay holds.
      'mkdir -p /var/lib/wgplay',
      `mount -n --bind ${shQuote(`${d}/varlib-wgplay`)} /var/lib/wgplay`,
      'mount -n -t tmpfs -o mode=755,nosuid,nodev wgplay-run /run',
      'mkdir -p /run/sshd /run/wireguard /run/lock',
      'chmod 755 /run/sshd',
      'mount -n -t tmpfs -o mode=700 wgplay-root /root',
      `hostname ${shQuote(this.record.hostname)}`,
      'echo ready',
      'exec sleep infinity </dev/null >/dev/null 2>&1',
    ].join('\n');
    const child = spawn(
      'ip',
      ['netns', 'exec', this.record.name, 'unshare', '--mount', '--uts', '--propagation', 'private', 'sh', '-c', setup],
      { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: LAB_ENV, cwd: '/' },
    );
    const pid = child.pid;
    if (pid === undefined) throw new Error(`cannot start the holder of ${this.record.name}`);
    // ip netns exec, unshare and sh all exec(): the pid stays the same down to `sleep`.
    this.record.holderPid = pid;
    this.save();
    let stderr = '';
    let stdout = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const ok = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 10_000);
      child.stdout!.on('data', (b: Buffer) => {
        stdout += b.toString();
        if (stdout.includes('ready\n')) {
          clearTimeout(timer);
          resolve(true);
        }
      });
      child.on('exit', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    child.stdout!.destroy();
    child.stderr!.destroy();
    child.unref();
    if (!ok) {
      throw new Error(`cannot set up host ${this.record.name}: ${stderr.trim() || 'holder did not start'}`);
    }
    this.record.holderStartTime = pidStartTime(pid);
    this.save();
  }

  private async addMgmtLink(m: MgmtLinkSpec): Promise<void> {
    const hostIf = m.hostIfname ?? 'mgmt0';
    await checkArgv(['ip', 'link', 'add', 'name', m.rootIfname, 'type', 'veth', 'peer', 'name', hostIf, 'netns', this.record.name]);
    await checkArgv(['ip', 'address', 'add', `${m.rootAddress}/${m.prefixLen}`, 'dev', m.rootIfname]);
    await checkArgv(['ip', 'link', 'set', 'dev', m.rootIfname, 'up']);
    await this.run(`ip address add ${m.hostAddress}/${m.prefixLen} dev ${hostIf}\nip link set dev ${hostIf} up`);
  }

  /** nsenter prefix that puts a command inside this host. */
  nsenterArgv(argv: string[]): string[] {
    return ['nsenter', `--target=${this.record.holderPid}`, '--mount', '--net', '--uts', '--', ...argv];
  }

  private assertHolder(): void {
    if (!this.holderIsOurs()) throw new Error(`host ${this.record.name} is not running (holder ${this.record.holderPid} gone)`);
  }

  /** True when the recorded holder pid is still our holder (pid not reused). */
  holderIsOurs(): boolean {
    const pid = this.record.holderPid;
    if (!pidAlive(pid)) return false;
    if (this.record.holderStartTime !== undefined && pidStartTime(pid) !== this.record.holderStartTime) return false;
    if (this.record.netnsInode !== undefined && pidNetnsInode(pid) !== this.record.netnsInode) return false;
    return true;
  }

  /** Runs argv inside the host. */
  async exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    this.assertHolder();
    return execArgv(this.nsenterArgv(argv), opts);
  }

  /** Runs a bash script inside the host (bash --noprofile --norc -c). */
  async bash(script: string, opts: ExecOptions = {}): Promise<ExecResult> {
    return this.exec(['bash', '--noprofile', '--norc', '-c', script], opts);
  }

  /** Like bash() with `set -euo pipefail`; throws with stderr on a non-zero exit. Returns stdout. */
  async run(script: string, opts: ExecOptions = {}): Promise<string> {
    const r = await this.bash(`set -euo pipefail\n${script}`, opts);
    if (r.code !== 0) throw commandError(`[${this.record.name}] ${script}`, r);
    return r.stdout;
  }

  /** Like exec(); throws with stderr on a non-zero exit. Returns stdout. */
  async runArgv(argv: string[], opts: ExecOptions = {}): Promise<string> {
    const r = await this.exec(argv, opts);
    if (r.code !== 0) throw commandError(`[${this.record.name}] ${argv.join(' ')}`, r);
    return r.stdout;
  }

  /** Writes a file inside the host (through its overlay), creating parent directories. */
  async writeFile(path: string, content: string, mode = 0o644): Promise<void> {
    const m = mode.toString(8);
    await this.run(
      `umask 077\nmkdir -p ${shQuote(dirname(path))}\ncat > ${shQuote(path)}.wgplay-tmp\n` +
        `chmod ${m} ${shQuote(path)}.wgplay-tmp\nmv -f ${shQuote(path)}.wgplay-tmp ${shQuote(path)}`,
      { input: content },
    );
  }

  /**
   * Starts a long-running process inside the host, detached from the caller (it outlives
   * a CLI process). Output goes to `${stateDir}/logs/<logName>`. Returns its pid
   * (nsenter exec()s the command, so it is the command's own pid).
   */
  spawnDaemon(argv: string[], logName: string, what = argv.join(' ')): number {
    this.assertHolder();
    const log = join(this.record.stateDir, 'logs', logName);
    const fd = openSync(log, 'a', 0o600);
    try {
      const child = spawn(this.nsenterArgv(argv)[0]!, this.nsenterArgv(argv).slice(1), {
        detached: true,
        stdio: ['ignore', fd, fd],
        env: LAB_ENV,
        cwd: '/',
      });
      if (child.pid === undefined) throw new Error(`cannot start ${what} in ${this.record.name}`);
      child.unref();
      this.record.daemons.push({ pid: child.pid, what });
      this.save();
      return child.pid;
    } finally {
      closeSync(fd);
    }
  }

  readLog(logName: string): string {
    try {
      return readFileSync(join(this.record.stateDir, 'logs', logName), 'utf8');
    } catch {
      return '';
    }
  }

  /**
   * Starts an OpenSSH server on the management address: fresh ed25519 host key inside
   * the host, fresh ed25519 client key pair on this machine (root-only directory), the
   * client's public key in /root/.ssh/authorized_keys, and a known_hosts file.
   */
  async startSshd(opts: SshdOptions = {}): Promise<SshInfo> {
    const m = this.record.mgmt;
    if (!m) throw new Error(`host ${this.record.name} has no management link for sshd`);
    if (this.record.sshd && pidAlive(this.record.sshd.pid)) throw new Error(`sshd already runs in ${this.record.name}`);
    const port = opts.port ?? 22;
    const privateKeyPath = opts.privateKeyPath ?? join(this.record.stateDir, 'id_ed25519');
    const knownHostsPath = opts.knownHostsPath ?? join(this.record.stateDir, 'known_hosts');

    const hostPub = (
      await this.run(
        `rm -f ${SSHD_HOST_KEY} ${SSHD_HOST_KEY}.pub\n` +
          `ssh-keygen -q -t ed25519 -N '' -C ${shQuote(`${this.record.hostname}-host-key`)} -f ${SSHD_HOST_KEY}\n` +
          `cat ${SSHD_HOST_KEY}.pub`,
      )
    ).trim();
    const [keyType, keyB64] = hostPub.split(/\s+/);
    if (!keyType || !keyB64) throw new Error(`unexpected host key: ${hostPub}`);

    mkdirSync(dirname(privateKeyPath), { recursive: true, mode: 0o700 });
    rmSync(privateKeyPath, { force: true });
    rmSync(`${privateKeyPath}.pub`, { force: true });
    await checkArgv(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', `wgplay-client@${this.record.name}`, '-f', privateKeyPath]);
    chmodSync(privateKeyPath, 0o600);
    const clientPub = readFileSync(`${privateKeyPath}.pub`, 'utf8').trim();

    await this.run(
      'mkdir -p -m 700 /root/.ssh\numask 077\ncat > /root/.ssh/authorized_keys\nchmod 600 /root/.ssh/authorized_keys',
      { input: clientPub + '\n' },
    );
    const config = [
      '# wgplay lab sshd (its own config; the machine\'s sshd_config is not used)',
      `Port ${port}`,
      `ListenAddress ${m.hostAddress}`,
      `HostKey ${SSHD_HOST_KEY}`,
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'AuthorizedKeysFile .ssh/authorized_keys',
      'UsePAM no',
      'UseDNS no',
      'PidFile /run/sshd.pid',
      'PrintMotd no',
      'PrintLastLog no',
      'AcceptEnv LANG LC_*',
      'MaxStartups 100:30:200',
      'MaxSessions 64',
      'Subsystem sftp /usr/lib/openssh/sftp-server',
      '',
    ].join('\n');
    await this.writeFile(SSHD_CONFIG, config, 0o600);
    await this.runArgv(['/usr/sbin/sshd', '-t', '-f', SSHD_CONFIG]);

    const pid = this.spawnDaemon(['/usr/sbin/sshd', '-D', '-e', '-f', SSHD_CONFIG], 'sshd.log', 'sshd');
    const deadline = Date.now() + 10_000;
    while (!(await tcpOpen(m.hostAddress, port))) {
      if (!pidAlive(pid) || Date.now() > deadline) {
        throw new Error(`sshd did not start in ${this.record.name}: ${this.readLog('sshd.log').trim() || 'no output'}`);
      }
      await sleep(20);
    }
    const knownHostsLine = `${port === 22 ? m.hostAddress : `[${m.hostAddress}]:${port}`} ${keyType} ${keyB64}`;
    mkdirSync(dirname(knownHostsPath), { recursive: true, mode: 0o700 });
    writeFileSync(knownHostsPath, knownHostsLine + '\n', { mode: 0o644 });
    const info: SshInfo = { host: m.hostAddress, port, user: 'root', privateKeyPath, knownHostsPath, knownHostsLine };
    this.record.sshd = { ...info, pid };
    this.save();
    return info;
  }

  /** Pids in this host's network namespace (`ip netns pids`), plus the holder if still ours. */
  async pids(): Promise<number[]> {
    const set = new Set<number>();
    if (netnsInode(this.record.name) !== undefined) {
      const r = await execArgv(['ip', 'netns', 'pids', this.record.name]);
      for (const w of r.stdout.split(/\s+/)) if (/^\d+$/.test(w)) set.add(Number(w));
    }
    if (this.holderIsOurs()) set.add(this.record.holderPid);
    return [...set].filter(pidAlive).sort((a, b) => a - b);
  }

  /**
   * Removes the host: every process in its network namespace (by pid; SIGTERM, then
   * SIGKILL after a grace period), the holder, the management veth, the namespace and
   * the state directory. Idempotent; safe on a half-created host.
   */
  async destroy(): Promise<void> {
    for (let round = 0; round < 5; round++) {
      const pids = await this.pids();
      if (pids.length === 0) break;
      // wireguard-go closes its tun and exits on SIGTERM; sshd ends its sessions.
      await terminatePids(pids, 2000);
    }
    const left = await this.pids();
    if (left.length > 0) {
      await waitForExit(left, 1000);
    }
    const m = this.record.mgmt;
    if (m && (await linkExists(m.rootIfname))) {
      await execArgv(['ip', 'link', 'del', 'dev', m.rootIfname]);
    }
    if (netnsInode(this.record.name) !== undefined) {
      const r = await execArgv(['ip', 'netns', 'del', this.record.name]);
      if (r.code !== 0 && netnsInode(this.record.name) !== undefined) throw commandError(`ip netns del ${this.record.name}`, r);
    }
    if (existsSync(this.record.stateDir)) {
      assertStatePath(this.record.stateDir);
      rmSync(this.record.stateDir, { recursive: true, force: true });
    }
  }
}

export function requireRoot(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('the lab needs root (network namespaces, veths, mounts): run as root');
  }
}

export async function linkExists(name: string): Promise<boolean> {
  const r = await execArgv(['ip', 'link', 'show', 'dev', name]);
  return r.code === 0;
}

/** Network namespaces whose name starts with prefix. */
export async function listNetns(prefix: string): Promise<string[]> {
  const r = await execArgv(['ip', 'netns', 'list']);
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}

function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: 500 });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.once('timeout', () => done(false));
  });
}

/**
 * Finds host.json records under root (up to `depth` levels deep; test labs keep theirs
 * at /run/wgplay-test/sN/lab/hosts/NAME/host.json, i.e. level 4). Overlay and log dirs
 * are not searched.
 */
function findHostRecords(root: string, depth = 6): NamespaceHostRecord[] {
  const out: NamespaceHostRecord[] = [];
  const walk = (dir: string, level: number) => {
    let dirents: Dirent[];
    try {
      dirents = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    const entries = dirents.map((d) => d.name);
    if (entries.includes(RECORD_FILE)) {
      try {
        out.push(JSON.parse(readFileSync(join(dir, RECORD_FILE), 'utf8')));
      } catch {
        /* half-written */
      }
    }
    if (level >= depth) return;
    for (const d of dirents) {
      if (!d.isDirectory() || d.name.endsWith('-upper') || d.name.endsWith('-work') || d.name === 'logs') continue;
      walk(join(dir, d.name), level + 1);
    }
  };
  walk(root, 0);
  return out;
}

/** Where the lab (`wgplay lab`) and the end-to-end tests keep their state. */
const STATE_ROOTS = ['/run/wgplay-lab', '/run/wgplay-test'];

interface DestroyStaleOptions {
  /** Root-only state roots to search for host records. Default STATE_ROOTS. */
  stateRoots?: string[];
  /**
   * Keep hosts whose recorded owner process is still alive (concurrent test runs).
   * Hosts without an owner are always removed.
   */
  spareLiveOwners?: boolean;
}

/**
 * Removes what an earlier (crashed) run left behind: recorded hosts whose name starts
 * with prefix, and network namespaces with that prefix that no live record claims.
 * Returns the namespace names removed. Keeps going when one host fails to go away and
 * throws at the end, naming every failure.
 */
export async function destroyStale(prefix: string, opts: DestroyStaleOptions = {}): Promise<string[]> {
  requireRoot();
  if (prefix.length < 3) throw new Error(`prefix ${JSON.stringify(prefix)} is too short to clean up safely`);
  // List namespaces BEFORE reading records: creators write their record before
  // `ip netns add`, so every namespace listed here already has its record on disk.
  const namespaces = await listNetns(prefix);
  const removed: string[] = [];
  const failures: string[] = [];
  const handled = new Set<string>();
  for (const root of opts.stateRoots ?? STATE_ROOTS) {
    for (const rec of findHostRecords(root)) {
      if (!rec.name?.startsWith(prefix)) continue;
      handled.add(rec.name);
      if (opts.spareLiveOwners && rec.ownerPid !== undefined && pidAlive(rec.ownerPid)) continue;
      try {
        await NamespaceHost.fromRecord(rec).destroy();
        removed.push(rec.name);
      } catch (e) {
        failures.push(`${rec.name}: ${(e as Error).message}`);
      }
    }
  }
  for (const ns of namespaces) {
    if (handled.has(ns)) continue;
    // No record. With live owners around, leave young namespaces alone: a concurrent
    // run may be creating it right now.
    if (opts.spareLiveOwners && namespaceAgeMs(ns) < 60_000) continue;
    // Kill what lives in it by pid, then delete it.
    const r = await execArgv(['ip', 'netns', 'pids', ns]);
    const pids = r.stdout.split(/\s+/).filter((w) => /^\d+$/.test(w)).map(Number);
    await terminatePids(pids, 2000);
    const del = await execArgv(['ip', 'netns', 'del', ns]);
    if (del.code === 0) removed.push(ns);
    else failures.push(`${ns}: ${del.stderr.trim()}`);
  }
  if (failures.length) throw new Error(`could not remove stale lab hosts:\n${failures.join('\n')}`);
  return removed;
}

function namespaceAgeMs(name: string): number {
  try {
    return Date.now() - statSync(`/run/netns/${name}`).ctimeMs;
  } catch {
    return Infinity;
  }
}
