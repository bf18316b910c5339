import { randomBytes } from 'node:crypto';
import { shellQuote } from '../shell.js';
import type { Change } from '../tasks/types.js';
import { scriptInput } from '../transport/common.js';
import { framedRun } from './framed.js';
import { CONFIRM_DIR } from './hostPaths.js';
import { NETLINK_PACING } from './netlinkPacing.js';

/**
 * Commit-confirmed: an apply that can cut the management path (nftables, policy rules,
 * routes, addresses, interfaces) first saves what it may change and arms a timer on
 * the host, detached from the SSH session (setsid). The timer waits for the apply
 * script to end, then T seconds, then restores the saved state, unless wgplay confirmed
 * (disarmed it) through a NEW SSH connection: only a path that still takes new
 * connections proves the change left the operator a way in.
 *
 * What is saved and restored:
 *   nftables   the tables the apply touches, as `nft list table` prints them (restored
 *              in one transaction; a table the apply created is deleted)
 *   interfaces the ones the apply creates are deleted
 *   addresses, routes (every table but local), policy rules: what differs from the
 *              saved lists is undone (added ones deleted, removed ones added back)
 *   files      the ones `file` tasks write (the gateway's record among them)
 * On a host without IPv6 (booted with ipv6.disable=1) only IPv4 state is saved and restored.
 * Not restored: sysctls, WireGuard key files, interfaces the apply deleted (their key
 * and peers are not saved); none of those can cut the management path.
 */

export const DEFAULT_CONFIRM_TIMEOUT_S = 60;

/** The task modules whose changes can cut the management path. */
const CUTTING_MODULES = new Set(['nft_table', 'nft_element', 'ip_rule', 'ip_route', 'wireguard_interface']);

interface RollbackScope {
  nftTables: { family: string; name: string }[];
  /** Interfaces the apply creates. */
  links: string[];
  /** Files the apply writes or removes. */
  files: string[];
}

/** What a rollback must cover for these planned tasks; undefined when none can cut the management path. */
export function rollbackScope(tasks: { module: string; args: unknown; changes: Change[] }[]): RollbackScope | undefined {
  const changed = tasks.filter((task) => task.changes.length > 0);
  if (!changed.some((task) => CUTTING_MODULES.has(task.module))) return undefined;
  const tables = new Map<string, { family: string; name: string }>();
  const links = new Set<string>();
  const files = new Set<string>();
  for (const task of changed) {
    const args = (task.args ?? {}) as { family?: string; name?: string; table?: string; path?: string };
    if (task.module === 'nft_table' && args.name) tables.set(`${args.family ?? 'inet'} ${args.name}`, { family: args.family ?? 'inet', name: args.name });
    if (task.module === 'nft_element' && args.table) tables.set(`${args.family ?? 'inet'} ${args.table}`, { family: args.family ?? 'inet', name: args.table });
    // Deleted on rollback only if it did not exist when the state was saved.
    if (task.module === 'wireguard_interface' && args.name) links.add(args.name);
    if (task.module === 'file' && args.path) files.add(args.path);
  }
  return { nftTables: [...tables.values()], links: [...links], files: [...files] };
}

/**
 * Routes of every table but the kernel's local one, in a form `ip route add` takes back.
 * No such route at all (a host without IPv6 routes) is an empty list, not a failure
 * (grep's exit 1 would stop the apply script under pipefail, before any change).
 */
const ROUTES = (family: 4 | 6) =>
  `ip -${family} route show table all | { grep -v -e ' table local' -e '^local ' -e '^broadcast ' -e '^anycast ' -e '^multicast ' || [ $? = 1 ]; } | sed -e 's/ linkdown//' | sort`;
/** Policy rules as `ip rule add` takes them ("100:\tfrom X lookup 41" -> "priority 100 from X lookup 41"). */
const RULES = (family: 4 | 6) => `ip -${family} rule show | sed -E 's/^([0-9]+):[[:space:]]+/priority \\1 /' | sort`;
const ADDRESSES = (family: 4 | 6) => `ip -${family} -o addr show | awk '{print $4, "dev", $2}' | sort`;
const LINKS = `ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort`;
const LISTS = { rules4: RULES(4), rules6: RULES(6), routes4: ROUTES(4), routes6: ROUTES(6), addrs4: ADDRESSES(4), addrs6: ADDRESSES(6), links: LINKS };
const IPV6_LISTS = new Set(['rules6', 'routes6', 'addrs6']);

/**
 * Restores the saved state; prints one line per thing it restored (the rollback log
 * wgplay reports). Errors of single steps are logged, the rest goes on. The new links
 * are deleted paced as the apply made them (netlinkPacing.ts): a rollback of a hundred
 * new customers must not overflow a running customer's daemon either.
 */
const ROLLBACK_SCRIPT = `set -u
${NETLINK_PACING}
c=${CONFIRM_DIR}; s=$c/saved
now() { case "$1" in ${Object.entries(LISTS).map(([name, command]) => `${name}) ${command} ;;`).join(' ')} esac; }
tx=$c/nft.tx; : > "$tx"
while read -r fam name; do
  [ -n "$fam" ] || continue
  nft list table "$fam" "$name" >/dev/null 2>&1 && printf 'delete table %s %s\\n' "$fam" "$name" >> "$tx"
  if [ -s "$s/nft.$fam.$name" ]; then cat "$s/nft.$fam.$name" >> "$tx"; echo "nft table $fam $name restored"; else echo "nft table $fam $name removed (it did not exist before)"; fi
done < "$s/nft-tables"
[ -s "$tx" ] && { nft -f "$tx" || echo "nft restore FAILED"; }
rm -f "$tx"
while read -r link; do
  [ -n "$link" ] || continue
  if ! grep -qxF -- "$link" "$s/links" && ip link show dev "$link" >/dev/null 2>&1; then wgplay_link_del "$link" && echo "interface $link deleted"; fi
done < "$s/new-links"
undo() { # $1 list, $2 ip family, $3 ip object: delete what was added since, add back what was removed
  now "$1" > "$c/now.$1"
  comm -13 "$s/$1" "$c/now.$1" | while IFS= read -r line; do ip -"$2" $3 del $line 2>/dev/null && echo "$3 $line: removed"; done
  comm -23 "$s/$1" "$c/now.$1" | while IFS= read -r line; do ip -"$2" $3 add $line 2>/dev/null && echo "$3 $line: added back"; done
  rm -f "$c/now.$1"
}
has6() { [ -e "$s/ipv6" ]; }
undo addrs4 4 address; if has6; then undo addrs6 6 address; fi
undo routes4 4 route; if has6; then undo routes6 6 route; fi
undo rules4 4 rule; if has6; then undo rules6 6 rule; fi
while read -r n path; do
  [ -n "$n" ] || continue
  if [ -e "$s/file.$n" ]; then cp -p -- "$s/file.$n" "$path.wgplay-tmp" && mv -f -- "$path.wgplay-tmp" "$path" && echo "file $path restored"
  elif [ -e "$path" ]; then rm -f -- "$path" && echo "file $path removed (it did not exist before)"; fi
done < "$s/files"
`;

/**
 * The timer: waits for the apply script (pid $1) to end, then $2 seconds; restores
 * unless `armed` was taken away by a confirmation (a rename: exactly one of them wins).
 */
const TIMER_SCRIPT = `c=${CONFIRM_DIR}
echo $$ > "$c/timer.pid"
while kill -0 "$1" 2>/dev/null; do sleep 0.1; done
sleep "$2"
mv "$c/armed" "$c/rolling" 2>/dev/null || exit 0
started=$(date +%s%N)
bash "$c/rollback.sh" > "$c/rollback.log" 2>&1
echo "took $(( ($(date +%s%N) - started) / 1000000 )) ms" >> "$c/rollback.log"
echo rolled-back > "$c/state.new" && mv -f "$c/state.new" "$c/state"
rm -f "$c/rolling" "$c/timer.pid"
`;

const delimiter = () => `WGPLAY_CC_${randomBytes(6).toString('hex')}`;

/** Lines at the top of the apply script: save the state in scope, arm the timer. Runs before any change. */
export function armScript(scope: RollbackScope, timeoutSeconds: number, runId: string): string {
  const d = delimiter();
  const lines = [
    `wgplay_c=${CONFIRM_DIR}`,
    'rm -rf "$wgplay_c"; mkdir -p -m 0700 "$wgplay_c/saved"',
    `cat > "$wgplay_c/saved/nft-tables" <<'${d}'`,
    ...scope.nftTables.map((table) => `${table.family} ${table.name}`),
    d,
    `cat > "$wgplay_c/saved/new-links" <<'${d}'`,
    ...scope.links,
    d,
    `cat > "$wgplay_c/saved/files" <<'${d}'`,
    ...scope.files.map((file, index) => `${index} ${file}`),
    d,
    ...scope.nftTables.map(
      (table) => `nft list table ${table.family} ${shellQuote(table.name)} > "$wgplay_c/saved/nft.${table.family}.${table.name}" 2>/dev/null || : > "$wgplay_c/saved/nft.${table.family}.${table.name}"`,
    ),
    // A kernel booted with ipv6.disable=1 refuses every `ip -6` request: there is no
    // IPv6 state to save or restore then, and the rollback leaves IPv6 alone.
    'if ip -6 rule show >/dev/null 2>&1; then : > "$wgplay_c/saved/ipv6"; fi',
    ...Object.entries(LISTS).map(([name, command]) =>
      IPV6_LISTS.has(name)
        ? `if [ -e "$wgplay_c/saved/ipv6" ]; then ${command} > "$wgplay_c/saved/${name}"; else : > "$wgplay_c/saved/${name}"; fi`
        : `${command} > "$wgplay_c/saved/${name}"`,
    ),
    ...scope.files.map((file, index) => `if [ -e ${shellQuote(file)} ]; then cp -p -- ${shellQuote(file)} "$wgplay_c/saved/file.${index}"; fi`),
    `cat > "$wgplay_c/rollback.sh" <<'${d}'`,
    ROLLBACK_SCRIPT.trimEnd(),
    d,
    `cat > "$wgplay_c/timer.sh" <<'${d}'`,
    TIMER_SCRIPT.trimEnd(),
    d,
    `printf '%s\\n' ${shellQuote(runId)} > "$wgplay_c/armed"`,
    'printf "armed\\n" > "$wgplay_c/state"',
    `setsid bash "$wgplay_c/timer.sh" $$ ${timeoutSeconds} </dev/null >/dev/null 2>&1 &`,
    'printf "%s\\n" $! > "$wgplay_c/timer.pid"',
  ];
  return lines.join('\n');
}

/**
 * Sent through the NEW connection (after the detached apply has ended): disarms the
 * timer (if it has not fired), runs what waits for the confirmation (files for the
 * next boot), and prints the outcome: "@@wgplay-confirm confirmed" or
 * "@@wgplay-confirm rolled-back" followed by the rollback log. Once confirmed, `then`
 * (the verify's fact script) runs in the same command, its result framed (framed.ts).
 */
export function confirmScript(runId: string, afterConfirm: string, then?: { script: string; frame: string }): string {
  const d = delimiter();
  const verify = then
    ? `wgplay_then() {
cat <<'${d}'
${scriptInput(then.script).trimEnd()}
${d}
}
${framedRun('wgplay_then', then.frame)}`
    : '';
  return `set -u
c=${CONFIRM_DIR}
if [ "$(cat "$c/armed" 2>/dev/null)" = ${shellQuote(runId)} ] && mv "$c/armed" "$c/confirmed" 2>/dev/null; then
  # Its whole session (the sleep too). Even before it is gone it can no longer roll back:
  # \`armed\` is taken.
  kill -TERM -- "-$(cat "$c/timer.pid")" 2>/dev/null
  rm -f "$c/timer.pid"
  echo confirmed > "$c/state"
  printf '@@wgplay-confirm confirmed\\n'
${afterConfirm}
${verify}
else
  while [ -e "$c/rolling" ]; do sleep 0.1; done
  printf '@@wgplay-confirm %s\\n' "$(cat "$c/state" 2>/dev/null || echo unknown)"
  cat "$c/rollback.log" 2>/dev/null
fi
`;
}

interface ConfirmOutcome {
  confirmed: boolean;
  /** What the rollback restored, one line each (when it rolled back). */
  rolledBack: string[];
}

export function parseConfirm(stdout: string): ConfirmOutcome | undefined {
  const match = /^@@wgplay-confirm (\S+)$/m.exec(stdout);
  if (!match) return undefined;
  const confirmed = match[1] === 'confirmed';
  const rolledBack = confirmed ? [] : stdout.slice(match.index + match[0].length).split('\n').map((line) => line.trim()).filter(Boolean);
  return { confirmed, rolledBack };
}
