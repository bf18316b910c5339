import { hostname, userInfo } from 'node:os';
import { shellQuote } from '../shell.js';
import { scriptInput } from '../transport/common.js';
import type { HeldCommand, RunResult, Transport } from '../transport/types.js';
import { frameDone, framedRun, newFrame, unframe } from './framed.js';
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
 * The command that takes the lock also runs the apply's first script (the facts) once it
 * holds it: one round trip for both. That script arrives on the command's standard input
 * (`head -c` reads exactly its bytes: a script on the command line would be limited to
 * 128 KiB), its output comes back framed (framed.ts).
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

/**
 * The holder script (bash -c). Once it holds the lock: any "unreported" line, then the
 * script of `scriptBytes` bytes read from standard input, run, its result framed.
 */
function lockScript(owner: string, waitSeconds: number, scriptBytes: number, frame: string): string {
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
${framedRun(`head -c ${scriptBytes}`, frame)}
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
  /** What the script given to takeHostLock printed, run under the lock. */
  readonly ran: RunResult;
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
 * (0 = fail at once), and runs `script` (as Transport.run would) once it holds it, in
 * the same remote command. Throws HostBusyError when another apply holds it.
 */
export async function takeHostLock(transport: Transport, options: { waitSeconds?: number; owner?: string; script?: string } = {}): Promise<HostLock> {
  const waitSeconds = options.waitSeconds ?? 0;
  const input = options.script ? scriptInput(options.script) : '';
  const frame = newFrame();
  const held: HeldCommand = await transport.start(lockScript(options.owner ?? lockOwner(), waitSeconds, Buffer.byteLength(input), frame), { label: 'host lock' });
  held.write(input);
  const chunks: string[] = [];
  let tail = '';
  const done = frameDone(frame);
  const locked = new Promise<{ previous?: string; ran: RunResult }>((resolve, reject) => {
    held.onOutput((text) => {
      chunks.push(text);
      // Only the end is searched: the facts may be megabytes, arriving in many chunks.
      tail = (tail + text).slice(-(done.length + text.length));
      if (!tail.includes(done)) return;
      const output = chunks.join('');
      const framed = unframe(output, frame);
      if (!framed) return reject(new Error(`the host lock's holder printed what wgplay cannot read: ${output.slice(0, 500)}`));
      const previous = /^unreported (.*)$/m.exec(framed.before)?.[1];
      resolve({ ...(previous !== undefined ? { previous } : {}), ran: framed.ran });
    });
    held.done.then((result) => {
      const busy = /^busy (.*)$/m.exec(result.stdout);
      if (result.code === BUSY_EXIT && busy) reject(new HostBusyError(busy[1]!));
      else reject(new Error(`could not take the host's apply lock (exit ${result.code}): ${result.stderr.trim() || result.stdout.trim()}`));
    }, reject);
  });
  const { previous, ran } = await locked;
  const heartbeat = setInterval(() => held.write('alive\n'), HEARTBEAT_MS);
  heartbeat.unref();
  return {
    ...(previous !== undefined ? { previous: describePrevious(previous) } : {}),
    ran,
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
