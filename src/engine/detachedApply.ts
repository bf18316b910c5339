import { randomBytes } from 'node:crypto';
import { shellQuote } from '../shell.js';
import { RUN_DIR, STATE_DIR } from './hostPaths.js';

/**
 * The apply script runs detached on the host: the SSH command writes it to
 * /run/wgplay/run/apply.sh, starts it with `setsid` (its own session, output to
 * run/out and run/err, status to run/rc) and waits for it, printing a sign of life
 * every second. If the connection dies, the script still runs to its end; the next
 * run reads how it ended (hostLock.ts) and reports it.
 *
 * A connection cut while the command itself is still arriving runs nothing: the whole
 * command is one function definition, called on its last line, so a truncated one is a
 * syntax error for bash, never a truncated script.
 */

export const ALIVE_MARKER = '@@wgplay-alive';
const ALIVE_INTERVAL_S = 1;

/** Waits for the detached run to end, then prints its output and exits with its status. */
const COLLECT = `wgplay_collect() {
  r=${RUN_DIR}
  [ "$(cat "$r/id" 2>/dev/null)" = "$1" ] || { echo "the apply run $1 is not the host's last one" >&2; return 71; }
  # The sleep holds none of the channel's descriptors: killing the loop ends the command at once.
  ( while sleep ${ALIVE_INTERVAL_S} </dev/null >/dev/null 2>&1; do printf '%s\\n' '${ALIVE_MARKER}'; done ) & local alive=$!
  [ -n "\${2:-}" ] && wait "$2" 2>/dev/null
  while [ ! -e "$r/rc" ]; do sleep 0.02; done
  kill "$alive" 2>/dev/null; wait "$alive" 2>/dev/null
  cat "$r/out"; cat "$r/err" >&2
  return "$(cat "$r/rc")"
}`;

export function newRunId(): string {
  return randomBytes(8).toString('hex');
}

/** The SSH command of an apply: stores `applyScript`, runs it detached, waits for it. */
export function detachedApplyScript(applyScript: string, runId: string, owner: string): string {
  const delimiter = `WGPLAY_RUN_${randomBytes(6).toString('hex')}`;
  return `${COLLECT}
wgplay_apply() {
  set -u
  local r=${RUN_DIR}
  mkdir -p -m 0700 ${STATE_DIR} || return 70
  command -v setsid >/dev/null 2>&1 || { echo 'the host has no setsid (util-linux): wgplay needs it to run the apply detached' >&2; return 69; }
  rm -rf "$r" && mkdir -m 0700 "$r" || return 70
  printf '%s\\n' ${shellQuote(owner)} > "$r/owner"
  cat > "$r/apply.sh" <<'${delimiter}'
${applyScript.trimEnd()}
${delimiter}
  printf '%s\\n' ${shellQuote(runId)} > "$r/id"
  setsid bash -c 'echo $$ > "$0/pid"; bash "$0/apply.sh" > "$0/out" 2> "$0/err"; printf "%s\\n" $? > "$0/rc.new"; rm -f "$0/apply.sh"; mv -f "$0/rc.new" "$0/rc"' "$r" </dev/null >/dev/null 2>&1 &
  wgplay_collect ${shellQuote(runId)} $!
}
wgplay_apply
`;
}

/** Over a new connection: the result of a detached run whose own connection stalled. */
export function collectScript(runId: string): string {
  return `${COLLECT}\nwgplay_collect ${shellQuote(runId)}\n`;
}

/** The script's output without the signs of life. */
export function withoutAliveMarkers(stdout: string): string {
  return stdout
    .split('\n')
    .filter((line) => line !== ALIVE_MARKER)
    .join('\n');
}
