import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { Duplex } from 'node:stream';
import type { AnyAuthMethod, ClientChannel, ConnectConfig, ParsedKey } from 'ssh2';
import type { ConnectionSettings } from '../inventory/types.js';
import {
  appendKnownHost,
  checkHostKey,
  fingerprint,
  keyTypeOf,
  knownHostName,
  preferredHostKeyAlgorithms,
  readKnownHosts,
  type KnownHostEntry,
} from './knownHosts.js';
import {
  DEFAULT_COMMAND_TIMEOUT_MS,
  heldCommand,
  scriptInput,
  KILL_AFTER_S,
  remoteCommand,
  remoteTimedOut,
  seconds,
  sudoRefusal,
} from './common.js';
import { TransportError, type HeldCommand, type RunOptions, type RunResult, type Transport } from './types.js';

const { Client, utils } = ssh2;
type Client = InstanceType<typeof Client>;

export interface SshOptions {
  /** Time for TCP connect + SSH handshake + authentication (ms). Default 10 000. */
  connectTimeoutMs?: number;
  /**
   * Channels open at once on the connection; more runs wait. Default 8 (OpenSSH's
   * MaxSessions is 10 by default). When the server refuses a channel while others are
   * open, the limit drops by one and the run waits for a free channel.
   */
  maxChannels?: number;
  /** Default per-run timeout (ms) when run() gives none. Default 10 min; 0 = never. */
  commandTimeoutMs?: number;
  /** Where WGPLAY_SSH_KEY_PASSPHRASE and SSH_AUTH_SOCK are read. Default process.env. */
  env?: NodeJS.ProcessEnv;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_CHANNELS = 8;
/** After a timed-out channel is killed, how long its slot stays taken if the server never closes it. */
const KILL_GRACE_MS = 5_000;

/**
 * A counting semaphore: at most `capacity` holders, the rest wait in order. `shrink`
 * gives a held slot up for good, when the server turns out to allow fewer channels.
 */
class Slots {
  private capacity: number;
  private held = 0;
  private readonly waiting: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];

  constructor(size: number) {
    this.capacity = size;
  }

  get inUse(): number {
    return this.held;
  }

  acquire(): Promise<void> {
    if (this.held < this.capacity) {
      this.held++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  release(): void {
    this.held--;
    this.wake();
  }

  /** Releases a held slot and lowers the capacity by one (never below 1). */
  shrink(): void {
    this.capacity = Math.max(1, this.capacity - 1);
    this.release();
  }

  private wake(): void {
    while (this.held < this.capacity && this.waiting.length > 0) {
      this.held++;
      this.waiting.shift()!.resolve();
    }
  }

  rejectAll(error: Error): void {
    for (const w of this.waiting.splice(0)) w.reject(error);
  }
}

/** sshd refused a session channel: MaxSessions reached (or sessions not yet freed). */
function isOpenRefused(err: Error & { reason?: number }): boolean {
  return /Channel open failure/i.test(err.message);
}

interface Credentials {
  methods: AnyAuthMethod[];
  /** For messages: "key file /root/.ssh/id_ed25519", "ssh-agent"... */
  tried: string[];
}

function loadKey(
  host: string,
  file: string,
  passphrase: string | undefined,
  explicit: boolean,
): ParsedKey | undefined {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (e) {
    if (!explicit) return undefined;
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? 'unreadable');
    throw new TransportError('auth', host, `cannot read private key file ${file} (ansible_ssh_private_key_file): ${why}`);
  }
  const parsed = utils.parseKey(data, passphrase);
  if (parsed instanceof Error) {
    const encrypted = /no passphrase given/i.test(parsed.message);
    const badPassphrase = /bad passphrase|integrity check failed|bad decrypt/i.test(parsed.message);
    if (encrypted) {
      if (!explicit) return undefined;
      throw new TransportError(
        'auth',
        host,
        `private key ${file} is encrypted: set WGPLAY_SSH_KEY_PASSPHRASE to its passphrase, ` +
          'or load it into ssh-agent and drop ansible_ssh_private_key_file',
      );
    }
    if (badPassphrase && passphrase !== undefined) {
      throw new TransportError(
        'auth',
        host,
        `cannot decrypt private key ${file} with WGPLAY_SSH_KEY_PASSPHRASE (wrong passphrase?)`,
      );
    }
    if (!explicit) return undefined;
    throw new TransportError('auth', host, `cannot use private key ${file}: not a private key ssh2 can read`);
  }
  const key = Array.isArray(parsed) ? (parsed[0] as ParsedKey) : parsed;
  if (!key.isPrivateKey()) {
    if (!explicit) return undefined;
    throw new TransportError('auth', host, `${file} is not a private key (a .pub file?)`);
  }
  return key;
}

/**
 * Credentials in OpenSSH's spirit: the inventory's key file when given; otherwise
 * ssh-agent (SSH_AUTH_SOCK) and the default identity files ~/.ssh/id_{ed25519,ecdsa,rsa}.
 */
function credentials(settings: ConnectionSettings, env: NodeJS.ProcessEnv): Credentials {
  const username = settings.user;
  const passphrase = env.WGPLAY_SSH_KEY_PASSPHRASE || undefined;
  if (settings.privateKeyFile) {
    const key = loadKey(settings.host, settings.privateKeyFile, passphrase, true)!;
    return {
      methods: [{ type: 'publickey', username, key }],
      tried: [`key file ${settings.privateKeyFile}`],
    };
  }
  const methods: AnyAuthMethod[] = [];
  const tried: string[] = [];
  const agent = env.SSH_AUTH_SOCK;
  if (agent && existsSync(agent)) {
    methods.push({ type: 'agent', username, agent });
    tried.push(`ssh-agent (${agent})`);
  }
  for (const name of ['id_ed25519', 'id_ecdsa', 'id_rsa']) {
    const file = join(homedir(), '.ssh', name);
    const key = loadKey(settings.host, file, passphrase, false);
    if (key) {
      methods.push({ type: 'publickey', username, key });
      tried.push(`key file ${file}`);
    }
  }
  if (methods.length === 0) {
    throw new TransportError(
      'auth',
      settings.host,
      'no SSH credentials: set ansible_ssh_private_key_file, or start ssh-agent (SSH_AUTH_SOCK) with the key loaded',
    );
  }
  return { methods, tried };
}

function unreachable(settings: ConnectionSettings, err: Error & { level?: string; code?: string }, timeoutMs: number): TransportError {
  const at = `${settings.address}:${settings.port}`;
  let message: string;
  switch (err.code) {
    case 'ECONNREFUSED':
      message = `connection refused by ${at} (is sshd running there, and is ansible_port right?)`;
      break;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      message = `cannot resolve "${settings.address}" (check ansible_host)`;
      break;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      message = `no route to ${at}`;
      break;
    case 'ETIMEDOUT':
      message = `connection to ${at} timed out`;
      break;
    case 'ECONNRESET':
    case 'EPIPE':
      message = `connection to ${at} was closed by the other side during the SSH handshake`;
      break;
    default:
      message =
        err.level === 'client-timeout'
          ? `no SSH handshake with ${at} within ${seconds(timeoutMs)}`
          : `cannot connect to ${at}: ${err.message}`;
  }
  return new TransportError('unreachable', settings.host, message);
}

/** A channel from `hop` to address:port (what `ssh -J` opens), as a stream for the next connection. */
function forwardOut(hop: Client, address: string, port: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    hop.forwardOut('127.0.0.1', 0, address, port, (err, channel) => (err ? reject(err) : resolve(channel)));
  });
}

/** One SSH connection to a host, reused for every run, with at most N channels open. */
export class SshTransport implements Transport {
  readonly host: string;
  private count = 0;
  private closed = false;
  private lost: TransportError | undefined;
  private readonly slots: Slots;
  private readonly active = new Set<{ fail: (e: Error) => void }>();

  private constructor(
    private readonly client: Client,
    readonly settings: ConnectionSettings,
    private readonly options: Required<Pick<SshOptions, 'maxChannels' | 'commandTimeoutMs'>>,
    /** The jump hosts' connections, first hop first: closed after the host's. */
    private readonly hops: Client[] = [],
  ) {
    this.host = settings.host;
    this.slots = new Slots(options.maxChannels);
    const onGone = (why: string) => {
      if (this.closed || this.lost) return;
      this.lost = new TransportError(
        'unreachable',
        this.host,
        `connection to ${settings.address}:${settings.port} lost${why ? `: ${why}` : ''}`,
      );
      this.slots.rejectAll(this.lost);
      for (const a of this.active) a.fail(this.lost);
    };
    client.on('error', (err: Error) => onGone(err.message));
    client.on('close', () => onGone(''));
  }

  get roundTrips(): number {
    return this.count;
  }

  /**
   * Connects, verifies the host key, authenticates. Through ProxyJump hops, each hop
   * is one SSH connection (its host key verified against its known_hosts like any
   * host's) whose forwarded channel carries the next. Throws TransportError.
   */
  static async connect(settings: ConnectionSettings, options: SshOptions = {}): Promise<SshTransport> {
    const hops: Client[] = [];
    const closeHops = () => {
      for (const hop of hops.reverse()) hop.end();
    };
    let sock: Duplex | undefined;
    try {
      const jumps = settings.jumpHosts ?? [];
      for (const [index, jump] of jumps.entries()) {
        const hopSettings: ConnectionSettings = {
          host: settings.host,
          kind: 'ssh',
          address: jump.address,
          port: jump.port,
          user: jump.user,
          privateKeyFile: jump.privateKeyFile ?? settings.privateKeyFile,
          become: false,
          becomeUser: 'root',
          knownHostsFile: jump.knownHostsFile,
          hostKeyPolicy: jump.hostKeyPolicy,
        };
        let hop: Client;
        try {
          hop = await SshTransport.openClient(hopSettings, options, sock);
        } catch (e) {
          if (!(e instanceof TransportError)) throw e;
          throw new TransportError(e.kind, settings.host, `jump host ${jump.spec}: ${e.problems.map((p) => p.message).join("; ")}`);
        }
        hops.push(hop);
        const next = jumps[index + 1] ?? settings;
        sock = await forwardOut(hop, next.address, next.port).catch((e: Error) => {
          throw new TransportError(
            'unreachable',
            settings.host,
            `jump host ${jump.spec} could not reach ${next.address}:${next.port}: ${e.message}`,
          );
        });
      }
      const client = await SshTransport.openClient(settings, options, sock);
      return new SshTransport(client, settings, {
        maxChannels: Math.max(1, options.maxChannels ?? DEFAULT_MAX_CHANNELS),
        commandTimeoutMs: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      }, hops);
    } catch (e) {
      closeHops();
      throw e;
    }
  }

  /** One SSH connection (over `sock` when it goes through a jump host), ready. */
  private static async openClient(settings: ConnectionSettings, options: SshOptions, sock?: Duplex): Promise<Client> {
    const env = options.env ?? process.env;
    const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const host = settings.host;
    const creds = credentials(settings, env);

    let entries: KnownHostEntry[];
    try {
      entries = readKnownHosts(settings.knownHostsFile);
    } catch (e) {
      throw new TransportError(
        'hostkey',
        host,
        `cannot read known_hosts file ${settings.knownHostsFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }

    const client = new Client();
    let refusal: TransportError | undefined;
    let toRecord: Buffer | undefined;
    const name = knownHostName(settings.address, settings.port);
    const file = settings.knownHostsFile;

    const hostVerifier = (key: Buffer, verify: (ok: boolean) => void): void => {
      const verdict = checkHostKey(entries, settings.address, settings.port, key);
      const type = keyTypeOf(key) ?? 'unknown-type';
      const fp = fingerprint(key);
      switch (verdict.status) {
        case 'known':
          verify(true);
          return;
        case 'revoked':
          refusal = new TransportError(
            'hostkey',
            host,
            `${name} presented the ${type} key ${fp}, which ${verdict.entry.file}:${verdict.entry.line} marks @revoked: refusing to connect`,
          );
          verify(false);
          return;
        case 'changed': {
          const old = verdict.entry;
          refusal = new TransportError(
            'hostkey',
            host,
            `HOST KEY CHANGED for ${name}: it presented the ${type} key ${fp}, but ${old.file}:${old.line} ` +
              `records a different ${old.keyType} key (${fingerprint(old.key)}). Someone may be intercepting the ` +
              'connection, or the host was reinstalled. If you know why it changed, remove the old entry ' +
              `(ssh-keygen -R '${name}' -f ${old.file}) and connect again. Refusing to connect.`,
          );
          verify(false);
          return;
        }
        case 'unknown': {
          if (verdict.others.length > 0) {
            const o = verdict.others[0]!;
            refusal = new TransportError(
              'hostkey',
              host,
              `${name} presented a ${type} key (${fp}), but ${o.file}:${o.line} records a ${o.keyType} key for it ` +
                'and the host no longer offers that type. If its keys really changed, remove the old entries ' +
                `(ssh-keygen -R '${name}' -f ${o.file}) and connect again. Refusing to connect.`,
            );
            verify(false);
            return;
          }
          if (settings.hostKeyPolicy === 'accept-new') {
            toRecord = key;
            verify(true);
            return;
          }
          const ca = verdict.certAuthority
            ? ' (an @cert-authority line names it, but wgplay does not check host certificates)'
            : '';
          const portOpt = settings.port === 22 ? '' : ` -p ${settings.port}`;
          refusal = new TransportError(
            'hostkey',
            host,
            `unknown host key: ${name} is not in ${file}${ca}; it presented the ${type} key ${fp}. ` +
              `Compare that with the host's own (ssh-keygen -lf /etc/ssh/ssh_host_${type.replace(/^ssh-|-sha2-.*$/g, '')}_key.pub on it), ` +
              `then add it: ssh-keyscan${portOpt} -t ${type} ${settings.address} >> ${file}; ` +
              'or set wgplay_host_key_policy: accept-new to record it on first connection.',
          );
          verify(false);
          return;
        }
      }
    };

    const config: ConnectConfig = {
      host: settings.address,
      port: settings.port,
      ...(sock ? { sock } : {}),
      username: settings.user,
      readyTimeout: connectTimeoutMs,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 4,
      hostVerifier,
      authHandler: creds.methods,
      algorithms: {
        serverHostKey: preferredHostKeyAlgorithms(entries, settings.address, settings.port) as NonNullable<
          ConnectConfig['algorithms']
        >['serverHostKey'],
      },
    };

    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (error: TransportError) => {
        if (settled) return;
        settled = true;
        clearTimeout(overall);
        client.removeAllListeners();
        client.on('error', () => {});
        client.end();
        reject(error);
      };
      // ssh2's readyTimeout covers the handshake; this bounds authentication too.
      const overall = setTimeout(
        () => fail(unreachable(settings, Object.assign(new Error('timeout'), { level: 'client-timeout' }), connectTimeoutMs)),
        connectTimeoutMs + 1000,
      );
      client.on('handshake', () => {
        if (!toRecord) return;
        try {
          appendKnownHost(file, settings.address, settings.port, toRecord);
          entries = readKnownHosts(file);
        } catch (e) {
          fail(
            new TransportError(
              'hostkey',
              host,
              `cannot record the host key of ${name} in ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
            ),
          );
        }
      });
      client.once('ready', () => {
        if (settled) return;
        settled = true;
        clearTimeout(overall);
        client.removeAllListeners('handshake');
        resolve();
      });
      client.on('error', (err: Error & { level?: string; code?: string }) => {
        if (refusal) return fail(refusal);
        if (err.level === 'client-authentication' || err.level === 'agent') {
          return fail(
            new TransportError(
              'auth',
              host,
              `authentication as "${settings.user}" on ${settings.address}:${settings.port} failed ` +
                `(tried ${creds.tried.join(', ')}): is the public key in the user's authorized_keys?`,
            ),
          );
        }
        fail(unreachable(settings, err, connectTimeoutMs));
      });
      client.on('close', () => {
        fail(
          refusal ??
            new TransportError(
              'unreachable',
              host,
              `connection to ${settings.address}:${settings.port} closed before the SSH session was ready`,
            ),
        );
      });
      try {
        client.connect(config);
      } catch (e) {
        fail(new TransportError('unreachable', host, `cannot connect to ${settings.address}:${settings.port}: ${(e as Error).message}`));
      }
    });
    client.removeAllListeners('error');
    client.removeAllListeners('close');
    return client;
  }

  async run(script: string, options: RunOptions = {}): Promise<RunResult> {
    const label = options.label ?? 'script';
    const timeoutMs = options.timeoutMs ?? this.options.commandTimeoutMs;
    let channel: ClientChannel;
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new TransportError('command', this.host, `cannot run ${label}: the connection is closed`);
      if (this.lost) throw this.lost;
      await this.slots.acquire();
      try {
        channel = await this.openChannel(remoteCommand(this.settings, timeoutMs), label);
        this.count++;
        break;
      } catch (e) {
        const err = e as Error;
        if (!(err instanceof TransportError) && isOpenRefused(err)) {
          if (this.slots.inUse > 1) {
            // The server allows fewer sessions than we opened: use one less, and
            // try again when another run is done.
            this.slots.shrink();
            continue;
          }
          if (attempt < 5) {
            // Sessions of channels just closed may not be freed on the server yet.
            this.slots.release();
            await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
            continue;
          }
        }
        this.slots.release();
        if (err instanceof TransportError) throw err;
        throw new TransportError('command', this.host, `cannot start ${label}: ${err.message}`);
      }
    }
    const result = await this.collect(channel, script, label, timeoutMs, options.idleTimeoutMs);
    const refused = sudoRefusal(this.settings.become, this.settings.user, result);
    if (refused) throw new TransportError('auth', this.host, refused);
    return result;
  }

  private openChannel(command: string, label: string): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      const handle = { fail: (e: Error) => reject(e) };
      this.active.add(handle);
      try {
        this.client.exec(command, (err: Error | undefined, channel: ClientChannel) => {
          this.active.delete(handle);
          if (err) reject(err);
          else resolve(channel);
        });
      } catch (e) {
        this.active.delete(handle);
        reject(new TransportError('unreachable', this.host, `cannot start ${label}: ${(e as Error).message}`));
      }
    });
  }

  /**
   * Frees a channel's slot once the server has surely freed its session: sshd frees
   * it a loop after our CHANNEL_CLOSE, so a channel opened at once may be refused
   * (MaxSessions). A keepalive request answered proves that loop has passed.
   */
  private releaseAfterServer(): void {
    const internals = this.client as unknown as {
      _callbacks?: Array<(failed: boolean) => void>;
      _protocol?: { ping?: () => void };
    };
    let released = false;
    const release = () => {
      if (!released) {
        released = true;
        clearTimeout(fallback);
        this.slots.release();
      }
    };
    // Without ssh2's internals (another version), a short pause does most of it.
    const fallback = setTimeout(release, internals._callbacks && internals._protocol?.ping ? 5_000 : 50);
    if (this.closed || this.lost || !internals._callbacks || !internals._protocol?.ping) return;
    try {
      internals._callbacks.push(() => release());
      internals._protocol.ping();
    } catch {
      // the fallback releases it
    }
  }

  async start(script: string, options: { label?: string } = {}): Promise<HeldCommand> {
    const label = options.label ?? 'command';
    if (this.closed) throw new TransportError('command', this.host, `cannot run ${label}: the connection is closed`);
    if (this.lost) throw this.lost;
    await this.slots.acquire();
    let channel: ClientChannel;
    try {
      channel = await this.openChannel(heldCommand(this.settings, script), label);
      this.count++;
    } catch (e) {
      this.slots.release();
      if (e instanceof TransportError) throw e;
      throw new TransportError('command', this.host, `cannot start ${label}: ${(e as Error).message}`);
    }
    const listeners: Array<(text: string) => void> = [];
    const out: Buffer[] = [];
    const errOut: Buffer[] = [];
    let code: number | undefined;
    let signal: string | undefined;
    const done = new Promise<RunResult>((resolve, reject) => {
      const handle = { fail: (e: Error) => reject(e) };
      this.active.add(handle);
      channel.on('data', (d: Buffer) => {
        out.push(d);
        for (const listener of listeners) listener(d.toString('utf8'));
      });
      channel.stderr.on('data', (d: Buffer) => errOut.push(d));
      channel.on('exit', (c: number | null, sig?: string) => {
        if (typeof c === 'number') code = c;
        else if (sig) signal = sig;
      });
      channel.on('error', () => {
        // reported through 'close'
      });
      channel.on('close', () => {
        this.active.delete(handle);
        this.releaseAfterServer();
        const result: RunResult = { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(errOut).toString('utf8'), code: code ?? -1, ...(signal ? { signal } : {}) };
        if (code === undefined && signal === undefined) {
          // sshd drops the exit status of a command that ended while wgplay was still
          // writing to it (the lock holder's script): sudo's refusal is in its stderr all the same.
          const refused = sudoRefusal(this.settings.become, this.settings.user, { ...result, code: 1 });
          reject(refused ? new TransportError('auth', this.host, refused) : (this.lost ?? new TransportError('command', this.host, `${label} ended without an exit status (sshd dropped it)`)));
          return;
        }
        const refused = sudoRefusal(this.settings.become, this.settings.user, result);
        if (refused) reject(new TransportError('auth', this.host, refused));
        else resolve(result);
      });
    });
    done.catch(() => undefined);
    return {
      onOutput: (listener) => listeners.push(listener),
      write: (text) => {
        if (!this.lost && !this.closed) channel.write(text);
      },
      end: () => {
        if (!this.lost && !this.closed) channel.end();
      },
      done,
    };
  }

  private collect(channel: ClientChannel, script: string, label: string, timeoutMs: number, idleTimeoutMs?: number): Promise<RunResult> {
    return new Promise<RunResult>((resolve, reject) => {
      const out: Buffer[] = [];
      const errOut: Buffer[] = [];
      let code: number | undefined;
      let signal: string | undefined;
      let done = false;
      let slotFreed = false;
      let timer: NodeJS.Timeout | undefined;
      let grace: NodeJS.Timeout | undefined;
      let idle: NodeJS.Timeout | undefined;
      const stillAlive = () => {
        if (!(idleTimeoutMs! > 0) || done) return;
        clearTimeout(idle);
        idle = setTimeout(() => {
          handle.fail(
            new TransportError('stalled', this.host, `${label}: nothing arrived from the host for ${seconds(idleTimeoutMs!)} (connection stalled)`),
          );
        }, idleTimeoutMs);
      };
      const freeSlot = (afterServer: boolean) => {
        if (slotFreed) return;
        slotFreed = true;
        clearTimeout(grace);
        if (afterServer) this.releaseAfterServer();
        else this.slots.release();
      };
      const handle = {
        fail: (e: Error) => {
          if (done) return;
          finish();
          freeSlot(false);
          reject(e);
        },
      };
      const finish = () => {
        done = true;
        clearTimeout(timer);
        clearTimeout(idle);
        this.active.delete(handle);
      };
      this.active.add(handle);
      const startedAt = Date.now();
      stillAlive();
      channel.on('data', (d: Buffer) => {
        out.push(d);
        stillAlive();
      });
      channel.stderr.on('data', (d: Buffer) => {
        errOut.push(d);
        stillAlive();
      });
      channel.on('exit', (c: number | null, sig?: string) => {
        if (typeof c === 'number') code = c;
        else if (sig) signal = sig;
      });
      channel.on('error', () => {
        // reported through 'close'
      });
      channel.on('close', () => {
        freeSlot(true);
        if (done) return;
        finish();
        const stdout = Buffer.concat(out).toString('utf8');
        const stderr = Buffer.concat(errOut).toString('utf8');
        if (code === undefined && signal === undefined) {
          reject(
            new TransportError(
              'command',
              this.host,
              this.lost
                ? `${label} was cut off: ${this.lost.problems[0]!.message}`
                : `${label} ended without an exit status (sshd dropped it)`,
            ),
          );
          return;
        }
        const result: RunResult = { stdout, stderr, code: code ?? -1, ...(signal ? { signal } : {}) };
        if (remoteTimedOut(result, Date.now() - startedAt, timeoutMs)) {
          reject(
            new TransportError(
              'timeout',
              this.host,
              `${label} did not finish within ${seconds(timeoutMs)}; it was killed on the host`,
            ),
          );
          return;
        }
        resolve(result);
      });
      if (timeoutMs > 0) {
        // The host's `timeout` should end it first; this covers a host without one.
        timer = setTimeout(() => {
          finish();
          channel.close();
          // The session stays on the server until the script ends: keep its slot a while.
          grace = setTimeout(() => freeSlot(false), KILL_GRACE_MS);
          reject(
            new TransportError(
              'timeout',
              this.host,
              `${label} did not finish within ${seconds(timeoutMs)}; its channel was closed ` +
                '(the host has no `timeout` command, so the script may still be running there)',
            ),
          );
        }, timeoutMs + (KILL_AFTER_S + 3) * 1000);
      }
      channel.end(scriptInput(script));
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = new TransportError('command', this.host, 'the connection was closed');
    this.slots.rejectAll(error);
    for (const a of this.active) a.fail(error);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 2000);
      this.client.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      this.client.on('error', () => {});
      this.client.end();
    });
    for (const hop of [...this.hops].reverse()) {
      hop.on('error', () => {});
      hop.end();
    }
  }
}
