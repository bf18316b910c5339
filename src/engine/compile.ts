import { randomBytes } from 'node:crypto';
import { FILE_STAGING_HELPERS } from '../tasks/shared/files.js';
import { PHASES, STAGES, type Change, type Phase, type Step } from '../tasks/types.js';
import { DAEMON_START_COST, NETLINK_PACING } from './netlinkPacing.js';

/**
 * A marker line the apply script prints as it enters each phase, with the host's clock
 * (bash's EPOCHREALTIME, empty on bash < 5): the last one seen says where it stopped,
 * and the times between them what each phase took.
 */
export const PHASE_MARKER = '@@wgplay-phase ';
const marker = (phase: string) => `printf '%s %s\\n' '${PHASE_MARKER}${phase}' "\${EPOCHREALTIME:-}"`;

/** Where each wireguard-go daemon wgplay starts writes its errors, for as long as it runs. */
const DAEMON_LOG_DIR = '/run/wgplay/wireguard-go';

/**
 * Helpers the steps call, in the order the links are made (see wireguardInterface.ts):
 *
 * - wgplay_genkeys: the private keys named into wgplay_new_keys (staged paths), all from
 *   one read of /dev/urandom: what `wg genkey` makes (32 random bytes, clamped for
 *   X25519, base64) without a process per key (a thousand took 8-19 s on a loaded
 *   machine, this a second). Each key is followed by a zero byte, so that base64 of its
 *   33 bytes is one 44-character line ending in "A" where the key's own ends in "=".
 * - wgplay_create_links: every new WireGuard interface (named by its step into
 *   wgplay_new_links) in ONE `ip -batch`, before the batches that bring them up and give
 *   them addresses, rules and routes. In the kernel when it has WireGuard (the first
 *   name is tried as wg-quick does), else as a persistent TUN that its wireguard-go
 *   daemon attaches to later: every running daemon reads every link, address and
 *   route event of the namespace, so those changes are made while no new one runs
 *   (a burst with daemons running costs seconds). Beside daemons already running,
 *   the batches go in chunks they can keep up with (wgplay_ip_batch,
 *   src/engine/netlinkPacing.ts): a daemon that falls behind gets ENOBUFS and exits.
 * - wgplay_wg_up new|tun NAME MTU|- ARGS...: the interface's `wg set ARGS` (port, key and
 *   peers at once); on a TUN, its wireguard-go daemon started first (paced as the
 *   batches are: each start is link and address events for the running ones), two at a time in
 *   the background (wgplay_wg_wait collects them; wgplay_wg_started, once all have
 *   started, fails when one is gone again). wireguard-go sets the MTU to 1420
 *   as it starts: another MTU is set again after it.
 * - A daemon only keeps an output when LOG_LEVEL is set: its errors (e.g. "Failed to
 *   listen on uapi socket: too many open files", after the starting process has
 *   returned 0) go to its log, and when the script fails the logs of the daemons it
 *   started are printed to stderr, without the banner wireguard-go prints on every
 *   start (box characters). A `wg set` that fails because its daemon is gone says
 *   nothing itself (its "Connection reset by peer" would hide the daemon's words).
 */
// String.raw keeps the backslashes bash needs; a bash "${" is written "\${" (out of JS interpolation) and unescaped below.
const APPLY_PRELUDE = String.raw`${NETLINK_PACING}
wgplay_kernel_wg=maybe
wgplay_new_keys=()
wgplay_genkeys() {
  local count=\${#wgplay_new_keys[@]} i line formats='' key
  local -a b keys
  [ "$count" -gt 0 ] || return 0
  while read -r -a b; do
    printf -v 'b[0]' '%02x' $((0x\${b[0]} & 248))
    printf -v 'b[31]' '%02x' $(((0x\${b[31]} & 127) | 64))
    printf -v line '\\x%s' "\${b[@]}"
    formats+="$line\\x00"
  done < <(od -An -v -tx1 -w32 -N $((32 * count)) /dev/urandom)
  mapfile -t keys < <(printf "$formats" | base64 -w 44)
  [ "\${#keys[@]}" -eq "$count" ] || { echo "generating $count WireGuard keys gave \${#keys[@]}" >&2; return 1; }
  for ((i = 0; i < count; i++)); do
    key=\${keys[i]}
    printf '%s=\n' "\${key%A}" > "\${wgplay_new_keys[i]}"
  done
  wgplay_new_keys=()
}
wgplay_new_links=()
wgplay_daemons=()
wgplay_jobs=()
wgplay_create_links() {
  [ "\${#wgplay_new_links[@]}" -gt 0 ] || return 0
  local name lines=() rest=("\${wgplay_new_links[@]}")
  if [ "$wgplay_kernel_wg" != no ] && ip link add dev "\${rest[0]}" type wireguard 2>/dev/null; then
    wgplay_kernel_wg=yes
    for name in "\${rest[@]:1}"; do lines+=("link add dev $name type wireguard"); done
  else
    wgplay_kernel_wg=no
    for name in "\${rest[@]}"; do lines+=("tuntap add dev $name mode tun"); done
  fi
  wgplay_new_links=()
  [ "\${#lines[@]}" -eq 0 ] || printf '%s\n' "\${lines[@]}" | wgplay_ip_batch
}
wgplay_said() {
  grep -av -e '^┌' -e '^│' -e '^└' "${DAEMON_LOG_DIR}/$1.log" 2>/dev/null || true
}
wgplay_wg_set() {
  local out
  out=$(wg set "$@" 2>&1) && return 0
  [ -n "$(wgplay_said "$1")" ] || printf '%s\n' "$out" >&2
  return 1
}
wgplay_wg_up() {
  local how=$1 name=$2 mtu=$3
  shift 3
  if [ "$how" = new ] && [ "$wgplay_kernel_wg" = yes ]; then wgplay_wg_set "$name" "$@"; return; fi
  [ "\${#wgplay_jobs[@]}" -lt 2 ] || wgplay_wg_wait
  wgplay_netlink_spend ${DAEMON_START_COST}
  [ -d ${DAEMON_LOG_DIR} ] || mkdir -p ${DAEMON_LOG_DIR}
  wgplay_daemons+=("$name")
  (
    LOG_LEVEL=error wireguard-go "$name" </dev/null >"${DAEMON_LOG_DIR}/$name.log" 2>&1 || exit 1
    [ "$mtu" = - ] || ip link set dev "$name" mtu "$mtu"
    wgplay_wg_set "$name" "$@"
  ) &
  wgplay_jobs+=("$!")
}
wgplay_wg_wait() {
  local pid failed=0
  for pid in "\${wgplay_jobs[@]}"; do wait "$pid" || failed=1; done
  wgplay_jobs=()
  return "$failed"
}
wgplay_wg_started() {
  local name gone=0
  wgplay_wg_wait || return 1
  # A daemon can die after its start succeeded (it falls behind on the namespace's link
  # events as the others start: ENOBUFS): its own words, not a "did not converge" later.
  for name in "\${wgplay_daemons[@]}"; do
    [ -S "/var/run/wireguard/$name.sock" ] || { printf 'wireguard-go %s is gone after starting\n' "$name" >&2; gone=1; }
  done
  return "$gone"
}
wgplay_daemon_errors() {
  local name said
  # Only the daemon starts: the script may have other children (a commit-confirmed timer).
  [ "\${#wgplay_jobs[@]}" -eq 0 ] || wait "\${wgplay_jobs[@]}" 2>/dev/null || true
  for name in "\${wgplay_daemons[@]}"; do
    said=$(wgplay_said "$name")
    [ -z "$said" ] || printf 'wireguard-go %s said:\n%s\n' "$name" "$said" >&2
  done
}
trap '[ "$?" = 0 ] || wgplay_daemon_errors' EXIT`.replaceAll('\\${', '${');

/**
 * The steps of `phases`, in order: in each, shell steps, then one `ip -batch` (paced in links), then one
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
    out.push(marker(phase));
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
    // Only links and addresses wake the wireguard-go daemons: that batch is paced.
    if (ipLines.length) out.push(`${phase === 'links' ? 'wgplay_ip_batch' : 'ip -batch -'} <<'${delimiter}'`, ...ipLines, delimiter);
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
  const out = ['set -euo pipefail', 'export LC_ALL=C', 'umask 0077', APPLY_PRELUDE, FILE_STAGING_HELPERS];
  if (arm !== undefined) out.push(arm);
  out.push(...compilePhases(steps, phases, newDelimiter()));
  out.push(marker('done'));
  return `${out.join('\n')}\n`;
}

/** The `persist` phase's steps, run once the change is confirmed (empty when there are none). */
export function compileAfterConfirm(changes: Change[]): string {
  const lines = compilePhases(
    changes.flatMap((change) => change.steps),
    ['persist'],
    newDelimiter(),
  );
  if (lines.length) lines.push(marker('done'));
  return lines.length ? ['(', 'set -euo pipefail', 'export LC_ALL=C', 'umask 0077', FILE_STAGING_HELPERS, ...lines, ')'].join('\n') : '';
}

function stageIndex(step: Step): number {
  const stages: readonly string[] = STAGES[step.phase];
  return step.stage === undefined ? 0 : stages.indexOf(step.stage);
}

const markersOf = (stdout: string) =>
  stdout
    .split('\n')
    .filter((line) => line.startsWith(PHASE_MARKER))
    .map((line) => {
      const [phase, time] = line.slice(PHASE_MARKER.length).split(' ');
      return { phase: phase!, time: time ? Number(time.replace(',', '.')) : NaN };
    });

/** The phase an apply script was in when it stopped ("done" when it finished). */
export function lastPhase(stdout: string): string | undefined {
  return markersOf(stdout).at(-1)?.phase;
}

/**
 * An apply script's output followed by the phase markers of the confirmation that ran
 * its last phase (persist, after the confirmation): one output whose phases read in order.
 */
export function withLaterPhases(applyStdout: string, laterStdout: string): string {
  const markers = laterStdout.split('\n').filter((line) => line.startsWith(PHASE_MARKER));
  if (markers.length === 0) return applyStdout;
  const separator = applyStdout === '' || applyStdout.endsWith('\n') ? '' : '\n';
  return `${applyStdout}${separator}${markers.join('\n')}\n`;
}

/**
 * Seconds each phase of a finished apply script took on the host (a `persist` that
 * waited for the confirmation included); undefined without its clock.
 */
export function phaseSeconds(stdout: string): Record<string, number> | undefined {
  const markers = markersOf(stdout);
  if (markers.at(-1)?.phase !== 'done' || markers.some((m) => !Number.isFinite(m.time))) return undefined;
  const seconds: Record<string, number> = {};
  markers.slice(0, -1).forEach((m, i) => {
    if (m.phase !== 'done') seconds[m.phase] = Math.round((markers[i + 1]!.time - m.time) * 1000) / 1000;
  });
  return seconds;
}
