import { spawn } from 'node:child_process';
import type { ConnectionSettings } from '../inventory/types.js';
import { userInfo } from 'node:os';
import { DEFAULT_COMMAND_TIMEOUT_MS, scriptInput, seconds, sudoRefusal } from './common.js';
import { TransportError, type HeldCommand, type RunOptions, type RunResult, type Transport } from './types.js';

interface LocalOptions {
  /** Default per-run timeout (ms) when run() gives none. Default 10 min; 0 = never. */
  commandTimeoutMs?: number;
}

/** `ansible_connection: local`: scripts run with `bash -s` on this machine. */
export class LocalTransport implements Transport {
  readonly host: string;
  private count = 0;
  private closed = false;
  private readonly children = new Set<number>();
  private readonly sudo: boolean;

  constructor(
    readonly settings: Pick<ConnectionSettings, 'host' | 'become'>,
    private readonly options: LocalOptions = {},
  ) {
    this.host = settings.host;
    // Local runs as the user running wgplay: sudo only when that is not root.
    this.sudo = settings.become && process.getuid?.() !== 0;
  }

  get roundTrips(): number {
    return this.count;
  }

  run(script: string, options: RunOptions = {}): Promise<RunResult> {
    const label = options.label ?? 'script';
    const timeoutMs = options.timeoutMs ?? this.options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    if (this.closed) {
      return Promise.reject(new TransportError('command', this.host, `cannot run ${label}: the transport is closed`));
    }
    this.count++;
    const [command, args] = this.sudo ? ['sudo', ['-n', '--', 'bash', '-s']] : ['bash', ['-s']];
    return new Promise<RunResult>((resolve, reject) => {
      // Its own process group, so a timeout kills the script's children too.
      const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      const out: Buffer[] = [];
      const errOut: Buffer[] = [];
      let timedOut = false;
      let timer: NodeJS.Timeout | undefined;
      if (child.pid !== undefined) this.children.add(child.pid);
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => errOut.push(d));
      child.stdin.on('error', () => {
        // the script exited before reading all its input: its status says why
      });
      child.on('error', (err) => {
        clearTimeout(timer);
        if (child.pid !== undefined) this.children.delete(child.pid);
        reject(new TransportError('command', this.host, `cannot start ${command} for ${label}: ${err.message}`));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (child.pid !== undefined) this.children.delete(child.pid);
        if (timedOut) return;
        this.settle(out, errOut, code, signal, resolve, reject);
      });
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          timedOut = true;
          this.kill(child.pid);
          reject(
            new TransportError('timeout', this.host, `${label} did not finish within ${seconds(timeoutMs)}; it was killed`),
          );
        }, timeoutMs);
      }
      child.stdin.end(scriptInput(script));
    });
  }

  /** A finished child's result, or the refusal sudo printed instead of running it. */
  private settle(
    out: Buffer[],
    errOut: Buffer[],
    code: number | null,
    signal: NodeJS.Signals | null,
    resolve: (result: RunResult) => void,
    reject: (error: Error) => void,
  ): void {
    const result: RunResult = {
      stdout: Buffer.concat(out).toString('utf8'),
      stderr: Buffer.concat(errOut).toString('utf8'),
      code: code ?? -1,
      ...(signal ? { signal: signal.replace(/^SIG/, '') } : {}),
    };
    const refused = sudoRefusal(this.sudo, this.sudo ? userInfo().username : 'root', result);
    if (refused) reject(new TransportError('auth', this.host, refused));
    else resolve(result);
  }

  async start(script: string, options: { label?: string } = {}): Promise<HeldCommand> {
    const label = options.label ?? 'command';
    if (this.closed) throw new TransportError('command', this.host, `cannot run ${label}: the transport is closed`);
    this.count++;
    const [command, args] = this.sudo ? ['sudo', ['-n', '--', 'bash', '-c', script]] : ['bash', ['-c', script]];
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    if (child.pid !== undefined) this.children.add(child.pid);
    const listeners: Array<(text: string) => void> = [];
    const out: Buffer[] = [];
    const errOut: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => {
      out.push(d);
      for (const listener of listeners) listener(d.toString('utf8'));
    });
    child.stderr.on('data', (d: Buffer) => errOut.push(d));
    child.stdin.on('error', () => {
      // it exited: its status says why
    });
    const done = new Promise<RunResult>((resolve, reject) => {
      child.on('error', (err) => reject(new TransportError('command', this.host, `cannot start ${command} for ${label}: ${err.message}`)));
      child.on('close', (code, signal) => {
        if (child.pid !== undefined) this.children.delete(child.pid);
        this.settle(out, errOut, code, signal, resolve, reject);
      });
    });
    done.catch(() => undefined);
    return {
      onOutput: (listener) => listeners.push(listener),
      write: (text) => {
        if (child.stdin.writable) child.stdin.write(text);
      },
      end: () => child.stdin.end(),
      done,
    };
  }

  private kill(pid: number | undefined): void {
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const pid of this.children) this.kill(pid);
    this.children.clear();
  }
}
