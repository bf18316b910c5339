// Small process helpers for the lab: run a command and collect its output, and look
// at processes through /proc. Only Node built-ins.

import { spawn } from 'node:child_process';
import { readFileSync, readlinkSync, statSync } from 'node:fs';

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit code; 128 + signal number when killed by a signal. */
  code: number;
}

export interface ExecOptions {
  /** Written to the command's stdin (stdin is /dev/null otherwise). */
  input?: string;
  /** Kill the command (SIGKILL) after this many milliseconds. Default 60 s. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** A predictable environment for commands run in lab hosts (no pyenv, no LOG_LEVEL...). */
export const LAB_ENV: NodeJS.ProcessEnv = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/root',
  LANG: 'C.UTF-8',
  USER: 'root',
  LOGNAME: 'root',
  SHELL: '/bin/bash',
};

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/**
 * Runs argv[0] with the rest as arguments (no shell) and collects its output.
 * Resolves on exit even when a daemon it started keeps stdout/stderr open.
 */
export function execArgv(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: opts.env ?? LAB_ENV,
      cwd: opts.cwd ?? '/',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    let settled = false;
    let exitCode: number | undefined;
    const started = Date.now();
    const finish = () => {
      if (settled || exitCode === undefined) return;
      settled = true;
      if (process.env.WGPLAY_LAB_TRACE) {
        process.stderr.write(`[lab ${new Date().toISOString().slice(17, 23)} ${Date.now() - started} ms, exit ${exitCode}] ${argv.join(' ').replace(/\s+/g, ' ').slice(0, 200)}\n`);
      }
      clearTimeout(timer);
      clearTimeout(closeTimer);
      child.stdout!.destroy();
      child.stderr!.destroy();
      resolve({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        code: exitCode,
      });
    };
    let closeTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`cannot run ${argv[0]}: ${e.message}`));
    });
    child.on('exit', (code, signal) => {
      exitCode = code ?? 128 + (signal ? (SIGNALS[signal] ?? 0) : 0);
      // A daemon (wireguard-go, sshd -D's children...) may hold our pipes: don't wait forever.
      closeTimer = setTimeout(finish, 300);
    });
    child.on('close', () => finish());
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => {});
      child.stdin!.end(opts.input);
    }
  });
}

/** execArgv that throws (with the command's stderr) on a non-zero exit. Returns stdout. */
export async function checkArgv(argv: string[], opts: ExecOptions = {}): Promise<string> {
  const r = await execArgv(argv, opts);
  if (r.code !== 0) throw commandError(argv.join(' '), r);
  return r.stdout;
}

export function commandError(what: string, r: ExecResult): Error {
  const detail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-15).join('\n');
  return new Error(`\`${abbreviate(what)}\` failed (exit ${r.code})${detail ? `:\n${detail}` : ''}`);
}

function abbreviate(s: string): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > 160 ? `${one.slice(0, 157)}...` : one;
}

/** Single-quotes a string for sh/bash. */
export { shellQuote as shQuote } from '../shell.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** True when the pid exists and is not a zombie. */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 1) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The kernel's start time of a process (clock ticks since boot), to detect pid reuse. */
export function pidStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

/** The inode of a process's network namespace ("net:[4026532345]" -> 4026532345). */
export function pidNetnsInode(pid: number): number | undefined {
  try {
    const m = /\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/net`));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The inode of a named network namespace (/run/netns/NAME), undefined when absent. */
export function netnsInode(name: string): number | undefined {
  try {
    return statSync(`/run/netns/${name}`).ino;
  } catch {
    return undefined;
  }
}

export function pidCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

/** Waits until every pid is gone; returns those still alive after the timeout. */
export async function waitForExit(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let alive = pids.filter(pidAlive);
  while (alive.length > 0 && Date.now() < deadline) {
    await sleep(25);
    alive = alive.filter(pidAlive);
  }
  return alive;
}

/** SIGTERM, wait, then SIGKILL what is left. Only the given pids are touched. */
export async function terminatePids(pids: number[], graceMs = 2000): Promise<void> {
  const started = Date.now();
  const targets = pids.filter(pidAlive);
  for (const pid of targets) signal(pid, 'SIGTERM');
  const left = await waitForExit(targets, graceMs);
  for (const pid of left) signal(pid, 'SIGKILL');
  await waitForExit(left, 2000);
  if (process.env.WGPLAY_LAB_TRACE) {
    process.stderr.write(`[lab ${Date.now() - started} ms] terminated ${targets.join(' ')}${left.length ? ` (SIGKILL ${left.join(' ')})` : ''}\n`);
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}
