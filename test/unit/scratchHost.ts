// A host for the engine's shell scripts that needs no root: real bash, with the host's
// /run/wgplay moved into a scratch folder (the scripts' text is rewritten on the way,
// nothing else), and, for commit-confirmed, a network namespace of its own (a user
// namespace too when not root) where nft, ip rule/route/address and tun devices are real.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STATE_DIR } from '../../src/engine/hostPaths.js';
import { TransportError, type HeldCommand, type RunOptions, type RunResult, type Transport } from '../../src/transport/types.js';

export class ScratchHost implements Transport {
  readonly host = 'scratch';
  /** Stands for the host's /run/wgplay. */
  readonly stateDir: string;
  private count = 0;

  private constructor(
    readonly root: string,
    private readonly enter: string[],
    private readonly holder?: ChildProcess,
    private readonly env?: NodeJS.ProcessEnv,
  ) {
    this.stateDir = join(root, 'run/wgplay');
  }

  /** A scratch host; with `network`, its own network namespace (only lo, down). */
  static async create(options: { network?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<ScratchHost> {
    const root = mkdtempSync(join(tmpdir(), 'wgplay-scratch-'));
    if (!options.network) return new ScratchHost(root, [], undefined, options.env);
    const asRoot = process.getuid?.() === 0;
    const holder = spawn('unshare', [...(asRoot ? [] : ['-r']), '-n', 'sleep', 'infinity'], { stdio: 'ignore' });
    // The namespace exists once `unshare` has exec'd `sleep` (its /proc/PID/exe says so).
    for (let tries = 0; tries < 500; tries++) {
      const exe = await readExe(holder.pid!);
      if (exe?.endsWith('/sleep')) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const enter = ['nsenter', '-t', String(holder.pid), ...(asRoot ? [] : ['-U', '--preserve-credentials']), '-n', '--'];
    const host = new ScratchHost(root, enter, holder, options.env);
    const up = await host.run('ip link set lo up');
    if (up.code !== 0) throw new Error(`scratch host: ${up.stderr}`);
    return host;
  }

  /** Another connection to the same host (what a reconnect opens). */
  connection(): ScratchHost {
    return new ScratchHost(this.root, this.enter, undefined, this.env);
  }

  get roundTrips(): number {
    return this.count;
  }

  /** The script as this host runs it: the state folder moved into the scratch folder. */
  local(script: string): string {
    return script.replaceAll(STATE_DIR, this.stateDir);
  }

  /** A file under the host's /run/wgplay, or undefined when it does not exist. */
  state(path: string): string | undefined {
    try {
      return readFileSync(join(this.stateDir, path), 'utf8');
    } catch {
      return undefined;
    }
  }

  /** Empties the host's /run/wgplay. */
  reset(): void {
    rmSync(this.stateDir, { recursive: true, force: true });
  }

  /** Spawns bash (in the namespace) with `args`; its own process group. */
  spawnBash(args: string[]): ChildProcess {
    const [command, ...rest] = [...this.enter, '/bin/bash', ...args];
    // bash reads this machine's ~/.bashrc when its stdin is a socket and SHLVL < 2 (as
    // under a test runner's worker): not the scratch host's business.
    return spawn(command!, rest, { stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: { ...(this.env ?? process.env), SHLVL: '2' } });
  }

  run(script: string, options: RunOptions = {}): Promise<RunResult> {
    this.count++;
    const child = this.spawnBash(['-s']);
    return new Promise((resolve, reject) => {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout!.on('data', (d: Buffer) => out.push(d));
      child.stderr!.on('data', (d: Buffer) => err.push(d));
      child.stdin!.on('error', () => undefined);
      child.on('error', (error) => reject(new TransportError('command', this.host, `${options.label ?? 'script'}: ${error.message}`)));
      child.on('close', (code) => resolve({ stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), code: code ?? -1 }));
      child.stdin!.end(this.local(script));
    });
  }

  async start(script: string): Promise<HeldCommand> {
    this.count++;
    const child = this.spawnBash(['-c', this.local(script)]);
    const listeners: ((text: string) => void)[] = [];
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => {
      out.push(d);
      for (const listener of listeners) listener(d.toString());
    });
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    child.stdin!.on('error', () => undefined);
    const done = new Promise<RunResult>((resolve) =>
      child.on('close', (code) => resolve({ stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), code: code ?? -1 })),
    );
    return {
      onOutput: (listener) => listeners.push(listener),
      write: (text) => {
        if (child.stdin!.writable) child.stdin!.write(text);
      },
      end: () => child.stdin!.end(),
      done,
    };
  }

  async close(): Promise<void> {}

  /** Ends the namespace (its processes with it) and removes the scratch folder. */
  destroy(): void {
    if (this.holder?.pid) {
      try {
        process.kill(this.holder.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}

async function readExe(pid: number): Promise<string | undefined> {
  const { readlink } = await import('node:fs/promises');
  return readlink(`/proc/${pid}/exe`).catch(() => undefined);
}
