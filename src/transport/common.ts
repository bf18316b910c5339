import type { ConnectionSettings } from '../inventory/types.js';
import { shellQuote } from '../shell.js';
import type { RunResult } from './types.js';

export const DEFAULT_COMMAND_TIMEOUT_MS = 600_000;

/** After a remote timeout's SIGTERM, how long before SIGKILL (seconds). */
export const KILL_AFTER_S = 3;

/**
 * The remote command: `bash -s` reading the script on stdin, through `sudo -n` for
 * become. With a timeout, the script runs under coreutils' `timeout`, which puts it
 * in its own process group and, at the deadline, sends SIGTERM then SIGKILL to the
 * whole group, so nothing the script started outlives it. (sshd cannot deliver
 * signals to root sessions, so the deadline has to be enforced on the host.) Hosts
 * without `timeout` run the script bare; the local deadline still closes the channel.
 * sudo resets the environment: SSH_CONNECTION (what the lock-out checks read) is
 * passed through explicitly.
 */
export function remoteCommand(
  settings: Pick<ConnectionSettings, 'become' | 'user'>,
  timeoutMs = 0,
): string {
  const sudo = settings.become && settings.user !== 'root' ? 'sudo -n -- env SSH_CONNECTION="$SSH_CONNECTION" ' : '';
  if (!(timeoutMs > 0)) return `${sudo}bash -s`;
  const secs = (Math.ceil(timeoutMs) / 1000).toFixed(3).replace(/\.?0+$/, '');
  return (
    `${sudo}sh -c 'if command -v timeout >/dev/null 2>&1; then ` +
    `exec timeout -k ${KILL_AFTER_S} "$0" bash -s; else exec bash -s; fi' ${secs}`
  );
}

/** The remote command that runs `script` itself (`bash -c`), as root like remoteCommand's (SSH_CONNECTION passed too). */
export function heldCommand(settings: Pick<ConnectionSettings, 'become' | 'user'>, script: string): string {
  const sudo = settings.become && settings.user !== 'root' ? 'sudo -n -- env SSH_CONNECTION="$SSH_CONNECTION" ' : '';
  return `${sudo}bash -c ${shellQuote(script)}`;
}

/**
 * What `bash -s` is sent to run `script`. bash reads a script from a pipe one byte per
 * read(), to leave the rest of its input to the commands it runs: a 50 KiB fact script
 * costs 50,000 system calls. The first line reads the rest at once and runs it (nothing
 * runs before all of it has arrived; the commands' standard input is then at its end).
 */
export function scriptInput(script: string): string {
  return `eval "$(cat)"\n${script.endsWith('\n') ? script : `${script}\n`}`;
}

/** Whether a result is the remote `timeout` ending the script at its deadline. */
export function remoteTimedOut(result: RunResult, elapsedMs: number, timeoutMs: number): boolean {
  if (!(timeoutMs > 0) || elapsedMs < timeoutMs) return false;
  return result.code === 124 || result.code === 137 || result.signal === 'KILL';
}

const SUDO_PASSWORD = /^sudo: (a password is required|a terminal is required|.*no tty present)/m;

/** When `sudo -n` refused to run the script for want of a password: why, for the operator. */
export function sudoRefusal(become: boolean, user: string, result: RunResult): string | undefined {
  if (!become || user === 'root' || result.code !== 1) return undefined;
  if (!SUDO_PASSWORD.test(result.stderr)) return undefined;
  return (
    `ansible_become: sudo asked for a password for user "${user}"; wgplay runs ` +
    '`sudo -n`: allow the user passwordless sudo (NOPASSWD) or connect as root'
  );
}

export function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

