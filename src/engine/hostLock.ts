import { hostname, userInfo } from 'node:os';
import { shellQuote } from '../shell.js';
import type { HeldCommand, Transport } from '../transport/types.js';
import { RUN_DIR, STATE_DIR } from './hostPaths.js';

/**
 * One apply at a time per host: `flock` on /run/wgplay/apply.lock, held by a command
 * that waits on its standard input. It lives as long as wgplay's connection does: when
 * wgplay ends, is killed, or its connection dies, the command reads end-of-file and
 * the lock is released. A wgplay that cannot be heard from (a network partition, where
 * no end-of-file ever arrives) is given up after HOLDER_SILENCE_S, since wgplay writes
 * to it every HEARTBEAT_MS. Before releasing, the holder waits for what the apply left
 * running on the host: the detached apply script and the commit-confirmed timer
 * (a rerun must not plan against a host that is about to roll back).
 *
 * `plan` takes no lock: it changes nothing, and an operator must be able to look at a
 * host while an apply runs on it (it then shows that apply's state at that moment).
 */

const HEARTBEAT_MS = 5_000;
const HOLDER_SILENCE_S = 20;
const BUSY_EXIT = 75;
const RELEASE_WAIT_MS = 5_000;

/** Who holds the lock, in the words of the busy message: "at T by USER@CONTROLLER (pid N)". */
export function lockOwner(now = new Date()): string {
  return `${now.toISOString().replace(/\.\d+Z$/, 'Z')} by ${userInfo().username}@${hostname()} (pid ${process.pid})`;
}

/** The holder script (bash -c); prints "locked" (after any "unreported" line) once it holds the lock. */
function lockScript(owner: string, waitSeconds: number): string {
  const wait = waitSeconds > 0 ? `-w ${waitSeconds}` : '-n';
  const alive = (file: string) => `{ [ -s "${file}" ] && kill -0 "$(cat "${file}")" 2>/dev/null; }`;
  return `set -u
d=${STATE_DIR}
r=${RUN_DIR}
mkdir -p -m 0700 "$d" || exit 70
command -v flock >/dev/null 2>&1 || { echo 'the host has no flock (util-linux): wgplay needs it for its apply lock' >&2; exit 69; }
exec 9>>"$d/apply.lock"
if ! flock ${wait} 9; then printf 'busy %s\\n' "$(cat "$d/apply.owner" 2>/dev/null || echo 'at an unknown time by an unknown holder')"; exit ${BUSY_EXIT}; fi
printf '%s\\n' ${shellQuote(owner)} > "$d/apply.owner"
if [ -d "$r" ] && [ ! -e "$r/reported" ]; then
  printf 'unreported %s|%s|%s|%s\\n' "$(cat "$r/rc" 2>/dev/null || echo running)" "$(grep -a '^@@wgplay-phase ' "$r/out" 2>/dev/null | tail -n 1 | cut -d' ' -f2)" "$(cat "$d/confirm/state" 2>/dev/null)" "$(cat "$r/owner" 2>/dev/null)"
  touch "$r/reported"
fi
printf 'locked\\n'
while IFS= read -r -t ${HOLDER_SILENCE_S} line; do
  if [ "$line" = done ]; then [ -d "$r" ] && touch "$r/reported"; break; fi
done
while ${alive('$r/pid')} || ${alive('$d/confirm/timer.pid')}; do sleep 0.2; done
rm -f "$d/apply.owner"
`;
}

/** Another apply holds the host (or held it longer than --lock-timeout). */
export class HostBusyError extends Error {
  constructor(readonly owner: string) {
    super(`host busy: an apply started ${owner.startsWith('at ') ? owner : `at ${owner}`}`);
    this.name = 'HostBusyError';
  }
}

export interface HostLock {
  /**
   * An earlier apply whose connection was lost before wgplay could report it, as the
   * host saw it end ("exit 0 after phase done, rollback: confirmed"): the report says so.
   */
  readonly previous?: string;
  /** Releases the lock (it is released anyway when the connection ends). */
  release(): Promise<void>;
}

function describePrevious(line: string): string {
  const [rc = '', phase = '', confirm = '', ...owner] = line.split('|');
  const ended = rc === 'running' ? 'was still running' : `ended with exit ${rc}${phase ? ` after phase "${phase}"` : ''}`;
  const rollback = confirm === 'rolled-back' ? '; it was rolled back (not confirmed in time)' : confirm === 'armed' ? '; its rollback timer is armed' : '';
  return `the previous apply (started at ${owner.join('|') || 'an unknown time'}) lost its connection before wgplay could report it; on the host it ${ended}${rollback}`;
}

/**
 * Takes the host's apply lock through `transport`, waiting up to `waitSeconds`
 * (0 = fail at once). Throws HostBusyError when another apply holds it.
 */
export async function takeHostLock(transport: Transport, options: { waitSeconds?: number; owner?: string } = {}): Promise<HostLock> {
  const waitSeconds = options.waitSeconds ?? 0;
  const held: HeldCommand = await transport.start(lockScript(options.owner ?? lockOwner(), waitSeconds), { label: 'host lock' });
  let output = '';
  const locked = new Promise<string | undefined>((resolve, reject) => {
    held.onOutput((text) => {
      output += text;
      if (/^locked$/m.test(output)) resolve(/^unreported (.*)$/m.exec(output)?.[1]);
    });
    held.done.then((result) => {
      const busy = /^busy (.*)$/m.exec(result.stdout);
      if (result.code === BUSY_EXIT && busy) reject(new HostBusyError(busy[1]!));
      else reject(new Error(`could not take the host's apply lock (exit ${result.code}): ${result.stderr.trim() || result.stdout.trim()}`));
    }, reject);
  });
  const previous = await locked;
  const heartbeat = setInterval(() => held.write('alive\n'), HEARTBEAT_MS);
  heartbeat.unref();
  return {
    ...(previous !== undefined ? { previous: describePrevious(previous) } : {}),
    async release() {
      clearInterval(heartbeat);
      held.write('done\n');
      held.end();
      // A stalled connection may never say the holder exited; closing it releases the lock anyway.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([held.done.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, RELEASE_WAIT_MS)))]);
      clearTimeout(timer);
    },
  };
}
