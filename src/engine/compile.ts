import { randomBytes } from 'node:crypto';
import { PHASES, STAGES, type Change, type Phase, type Step } from '../tasks/types.js';

/** A marker line the apply script prints as it enters each phase; the last one seen says where it stopped. */
export const PHASE_MARKER = '@@wgplay-phase ';

/** Where each wireguard-go daemon wgplay starts writes its errors, for as long as it runs. */
export const DAEMON_LOG_DIR = '/run/wgplay/wireguard-go';

/**
 * Helpers the steps call. wgplay_wg_add creates a WireGuard interface: in the kernel
 * when it has WireGuard, else with wireguard-go (as wg-quick does); once the kernel has
 * said no, later interfaces go straight to wireguard-go (each refusal costs ~30 ms).
 * wireguard-go forks, and the daemon only keeps an output when LOG_LEVEL is set: its
 * errors (e.g. "Failed to listen on uapi socket: too many open files", after the
 * starting process has already returned 0) go to its log, and when the script fails,
 * the logs of the daemons it started are printed to stderr, so the report shows the
 * daemon's own words, not only the "Connection reset by peer" of the next `wg set`.
 * The banner wireguard-go prints on every start (lines drawn with box characters) is left out.
 */
const APPLY_PRELUDE = `wgplay_kernel_wg=maybe
wgplay_daemons=()
wgplay_wg_add() {
  if [ "$wgplay_kernel_wg" != no ] && ip link add dev "$1" type wireguard 2>/dev/null; then wgplay_kernel_wg=yes; return; fi
  wgplay_kernel_wg=no
  [ -d ${DAEMON_LOG_DIR} ] || mkdir -p ${DAEMON_LOG_DIR}
  wgplay_daemons+=("$1")
  LOG_LEVEL=error wireguard-go "$1" </dev/null >"${DAEMON_LOG_DIR}/$1.log" 2>&1
}
wgplay_daemon_errors() {
  local name said
  for name in "\${wgplay_daemons[@]}"; do
    said=$(grep -av -e '^┌' -e '^│' -e '^└' "${DAEMON_LOG_DIR}/$name.log" 2>/dev/null) || true
    [ -z "$said" ] || printf 'wireguard-go %s said:\\n%s\\n' "$name" "$said" >&2
  done
}
trap '[ "$?" = 0 ] || wgplay_daemon_errors' EXIT`;

/**
 * The steps of `phases`, in order: in each, shell steps, then one `ip -batch`, then one
 * `nft -f` transaction; inside each of those, steps by their stage (STAGES), then in
 * the order the tasks planned them.
 */
function compilePhases(steps: Step[], phases: readonly Phase[], delimiter: string): string[] {
  const out: string[] = [];
  for (const phase of phases) {
    const inPhase = steps
      .map((step, index) => ({ step, index }))
      .filter(({ step }) => step.phase === phase)
      .sort((a, b) => stageIndex(a.step) - stageIndex(b.step) || a.index - b.index)
      .map(({ step }) => step);
    if (inPhase.length === 0) continue;
    out.push(`printf '%s\\n' '${PHASE_MARKER}${phase}'`);
    const of = <K extends Step['kind']>(kind: K) => inPhase.filter((step): step is Extract<Step, { kind: K }> => step.kind === kind);
    const ran = new Set<string>();
    for (const step of of('shell')) {
      if (step.once !== undefined) {
        if (ran.has(step.once)) continue;
        ran.add(step.once);
      }
      out.push(step.script);
    }
    const ipLines = of('ip').map((step) => step.line);
    if (ipLines.length) out.push(`ip -batch - <<'${delimiter}'`, ...ipLines, delimiter);
    const nftLines = of('nft').map((step) => step.line);
    if (nftLines.length) out.push(`nft -f - <<'${delimiter}'`, ...nftLines, delimiter);
  }
  return out;
}

const newDelimiter = () => `WGPLAY_${randomBytes(6).toString('hex')}`;

/**
 * All changes of a host as ONE bash script, phases in order. With `arm` (the
 * commit-confirmed lines, run before any change), the `persist` phase is left out: it
 * waits for the confirmation (compileAfterConfirm).
 */
export function compileApplyScript(changes: Change[], arm?: string): string {
  const steps = changes.flatMap((change) => change.steps);
  const phases = arm === undefined ? PHASES : PHASES.filter((phase) => phase !== 'persist');
  const out = ['set -euo pipefail', 'export LC_ALL=C', 'umask 0077', APPLY_PRELUDE];
  if (arm !== undefined) out.push(arm);
  out.push(...compilePhases(steps, phases, newDelimiter()));
  out.push(`printf '%s\\n' '${PHASE_MARKER}done'`);
  return `${out.join('\n')}\n`;
}

/** The `persist` phase's steps, run once the change is confirmed (empty when there are none). */
export function compileAfterConfirm(changes: Change[]): string {
  const lines = compilePhases(
    changes.flatMap((change) => change.steps),
    ['persist'],
    newDelimiter(),
  );
  return lines.length ? ['(', 'set -euo pipefail', 'export LC_ALL=C', 'umask 0077', ...lines, ')'].join('\n') : '';
}

function stageIndex(step: Step): number {
  const stages: readonly string[] = STAGES[step.phase];
  return step.stage === undefined ? 0 : stages.indexOf(step.stage);
}

/** The phase an apply script was in when it stopped ("done" when it finished). */
export function lastPhase(stdout: string): string | undefined {
  const markers = stdout.split('\n').filter((line) => line.startsWith(PHASE_MARKER));
  return markers.at(-1)?.slice(PHASE_MARKER.length);
}
