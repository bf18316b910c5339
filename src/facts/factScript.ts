// The ONE remote command that gathers every fact of a host.
//
// `buildFactScript(request)` returns a bash script (run as `bash -s`, normally as root)
// that prints sections, each introduced by a marker line:
//
//   @@wgplay <section> [argument]
//
// The argument of `file` and `sysctl` sections is a JSON string (so paths with spaces,
// quotes or newlines stay on one line). Sections that run a command end with
// `@@wgplay rc <exit status>` (127 when the program is absent). The last line is
// `@@wgplay end`; `parseFacts` refuses output without it (a truncated run). The
// section list and the format of each body are documented in parseFacts.ts.
//
// Secrets never leave the host: WireGuard private and preshared keys are replaced by
// "(set)"/"(none)" by awk before anything is printed, files marked secret (or wgKey)
// are reported without content, and wgKey files only with their derived public key.

import { WgplayError } from '../errors.js';
import { HOLDS_KEY_ERE } from '../net/index.js';
import { shellQuote } from '../shell.js';

export { shellQuote };
import { nftBootFileOf, nftBootTextCommand, nftTableKey } from './nftBoot.js';
import type { FactRequest, FileRequest } from './types.js';

export const FACT_MARKER = '@@wgplay';
export const FACT_FORMAT_VERSION = 1;
/** Files larger than this are reported without content (their sha256 is still there). */
const FILE_CONTENT_LIMIT = 256 * 1024;
/** Programs whose presence is reported in `HostFacts.programs`. */
export const FACT_PROGRAMS = [
  'wg',
  'wireguard-go',
  'nft',
  'ip',
  'sysctl',
  'wg-quick',
  'awk',
  'base64',
  'sha256sum',
  'stat',
] as const;

/**
 * The /proc/sys file of a sysctl key, as `sysctl` itself finds it: "." separates
 * levels and "/" stands for a dot inside a name ("net.ipv4.conf.eth0/100.forwarding").
 * Reading the file directly (instead of running `sysctl -n KEY`) means a key can never
 * be mistaken for an assignment ("a=b") or an option ("-w").
 */
export function sysctlPath(key: string): string {
  const relative = key.replace(/[./]/g, (c) => (c === '.' ? '/' : '.'));
  const parts = relative.split('/');
  if (key === '' || parts.some((p) => p === '' || p === '.' || p === '..') || key.includes('\0')) {
    throw new WgplayError(`invalid sysctl key ${JSON.stringify(key)}`);
  }
  return `/proc/sys/${relative}`;
}

function marker(section: string, argument?: string): string {
  const line = argument === undefined ? `${FACT_MARKER} ${section}` : `${FACT_MARKER} ${section} ${JSON.stringify(argument)}`;
  return `printf '%s\\n' ${shellQuote(line)}`;
}

// Helpers every section uses. `m` starts every marker on a fresh line by printing a
// newline first (the splitter drops the one empty line that leaves when the output
// already ended with one): no process per section just to fix line endings. `run`
// adds the exit status. Commands get /dev/null as stdin: under `bash -s` their stdin
// is the rest of this script.
// String.raw keeps the backslashes bash needs; a bash "${" is written "\${" (to stay out of JS interpolation) and unescaped below.
const PRELUDE = String.raw`# wgplay fact script (format ${FACT_FORMAT_VERSION})
export LC_ALL=C
PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
umask 077
set +e
m() { printf '\n${FACT_MARKER} %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }
run() {
  if have "$1"; then "$@" < /dev/null; m rc "$?"; else m rc 127; fi
}
# WireGuard dump without secrets. Interface lines (5 fields): ifname, private key,
# public key, listen port, fwmark. Peer lines (9): ifname, public key, preshared key,
# endpoint, allowed ips, latest handshake, rx, tx, keepalive. Keys become (set)/(none);
# lines of any other shape are dropped.
# The raw dump stays in WG_RAW (never printed) for files_facts' key comparison: one
# wg show wakes every wireguard-go daemon once. WG_NAMES (" a b "): its interfaces.
WG_RAW= WG_NAMES=
# A stopped or hung wireguard-go accepts wg's connection and never answers, and wg would
# wait for it for ever: the dump is bounded (10 s, and a second more per 50 daemons, all
# of which answer this one dump). When it times out, every interface is asked alone, all
# at once, to name those that do not answer (section wg-unanswered).
wg_dump() {
  if ! have wg || ! have awk; then m rc 127; return; fi
  local rc i
  local -a sockets=(/var/run/wireguard/*.sock) bound=()
  have timeout && bound=(timeout -k 1 $((10 + \${#sockets[@]} / 50)))
  WG_RAW=$("\${bound[@]}" wg show all dump < /dev/null); rc=$?
  WG_NAMES=" $(printf '%s\n' "$WG_RAW" | awk -F '\t' 'NF == 5 { printf "%s ", $1 }')"
  printf '%s\n' "$WG_RAW" | awk -F '\t' 'BEGIN { OFS = "\t" }
    NF == 5 { if ($2 != "(none)") $2 = "(set)"; print; next }
    NF == 9 { if ($3 != "(none)") $3 = "(set)"; print; next }'
  m rc "$rc"
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    m wg-unanswered
    for i in $(timeout -k 1 2 wg show interfaces < /dev/null 2> /dev/null); do
      { timeout -k 1 2 wg show "$i" listen-port < /dev/null > /dev/null 2>&1; [ "$?" -lt 124 ] || printf '%s\n' "$i"; } &
    done
    wait
  fi
}
# Tables as nft itself reads them, without touching the host's ruleset: loaded into ONE
# scratch network namespace (empty, gone when the command ends; the ruleset flushed
# between tables, so each is read as if alone) and listed back there, so a task compares
# the kernel's spelling of what it wants with the kernel's spelling of what is live. A
# namespace costs tens of milliseconds on a busy host: one for every table, no probe.
# Without unshare (or where it is refused: the scratch namespace never says "scratch",
# or it ends before its last table), each text is only checked (nft -c). Arguments, per
# table: the section's marker argument (JSON), family, name, text. Each text reaches the
# namespace through a pipe of its own (a process substitution): an argument is limited
# to 128 KiB, a table of a thousand customers is not.
# What runs in the scratch namespace: per table (marker argument, family, name, the
# file its text is read from) the section with "mode scratch", the ruleset flushed
# before every table but the first; "done" once all are read.
NFT_SCRATCH_SCRIPT='echo scratch
first=1
while [ "$#" -gt 0 ]; do
  printf "\n@@wgplay nft-canonical %s\nmode scratch\n" "$1"
  [ -n "$first" ] || nft flush ruleset < /dev/null > /dev/null 2>&1
  first=
  nft -f - < "$4" 2>&1 && nft -s list table "$2" "$3" < /dev/null 2>&1
  printf "\n@@wgplay rc %s\n" "$?"
  shift 4
done
printf "\n@@wgplay scratch-done\n"'
nft_text() { printf '%s\n' "\${args[$1]}"; }
nft_canonical() {
  local -a args=("$@")
  local i pipes= out
  if ! have nft; then
    for ((i = 0; i < $#; i += 4)); do m nft-canonical "\${args[i]}"; m rc 127; done
    return
  fi
  if have unshare; then
    # A process substitution's pipe lives as long as the command it is written on:
    # unshare's own command line, built here of array indices (never of the texts);
    # nft_text prints one of this function's arguments.
    for ((i = 0; i < $#; i += 4)); do
      pipes+=' "\${args['$i']}" "\${args['$((i + 1))']}" "\${args['$((i + 2))']}" <(nft_text '$((i + 3))')'
    done
    eval "out=\$(unshare -n -- bash -c \"\$NFT_SCRATCH_SCRIPT\" bash $pipes 2>/dev/null)"
    if [ "\${out%%$'\n'*}" = scratch ] && [[ $out == *$'\n@@wgplay scratch-done' ]]; then
      out=\${out#scratch$'\n'}
      printf '%s\n' "\${out%$'\n@@wgplay scratch-done'}"
      return
    fi
  fi
  for ((i = 0; i < $#; i += 4)); do
    m nft-canonical "\${args[i]}"
    echo 'mode check'
    printf '%s\n' "\${args[i + 3]}" | nft -c -f - 2>&1
    m rc "$?"
  done
}
# The first line of a file, as a command section.
slurp() {
  local line
  if IFS= read -r line < "$1"; then printf '%s\n' "$line"; m rc 0; else m rc 1; fi
}
# Whether the kernel has WireGuard, and the inotify instances this user holds: only
# when a daemon may be started, for one of the interfaces named in the arguments that
# is not in the WireGuard dump (none named: always). An interface the dump lists exists
# (its daemon holds it): the link dump needs no second reading for its names.
inotify_facts() {
  if [ -d /sys/module/wireguard ]; then echo 'kernel-wireguard 1'; else echo 'kernel-wireguard 0'; fi
  if [ "$#" -gt 0 ]; then
    local name missing=
    for name in "$@"; do [[ $WG_NAMES == *" $name "* ]] || { missing=1; break; }; done
    [ -n "$missing" ] || return 0
  fi
  printf 'in-use %s\n' "$(find /proc/[0-9]*/fd -user "$EUID" -lname 'anon_inode:inotify' 2>/dev/null | wc -l)"
}
ssh_connection() {
  [ -n "\${SSH_CONNECTION-}" ] || return 0
  printf '%s\n' "$SSH_CONNECTION"
  local client port server rest
  read -r client port server rest <<< "$SSH_CONNECTION"
  have ip && ip -j route get "\${client%%%*}" from "\${server%%%*}" < /dev/null 2>/dev/null
}
# Files, in one pass whatever their number: F holds the paths and J their marker
# arguments. One find reports type, mode, owner, group and size (symbolic links
# followed), one where links point, one sha256sum hashes every readable regular file:
# NUL-separated records, base64 on one line, joined with the paths by the parser.
# Per-file work only where it is asked for: W (indices of files whose key is compared
# with the live key of interface I[i], on the host), P (files whose public key is
# wanted: a wg pubkey each), C (files whose content may travel: not secret, and only
# when its sha256 differs from E[i] and its size is at most L[i]).
files_facts() {
  local i f k r
  local -a shas=()
  local -A sha_of=() live_key=()
  m files
  printf '%s\n' "\${J[@]}"
  m files-stat
  find -H "\${F[@]}" -maxdepth 0 -printf '%p\0%y\0%m\0%u\0%g\0%s\0' 2>/dev/null | base64 -w 0; echo
  m files-link
  find -P "\${F[@]}" -maxdepth 0 -type l -printf '%p\0%l\0' 2>/dev/null | base64 -w 0; echo
  m files-sha
  mapfile -d '' -t shas < <(find -H "\${F[@]}" -maxdepth 0 -type f -readable -exec sha256sum --zero -- {} + 2>/dev/null)
  [ "\${#shas[@]}" -eq 0 ] || printf '%s\0' "\${shas[@]}" | base64 -w 0; echo
  if [ "\${#W[@]}" -gt 0 ] && [ -n "$WG_RAW" ]; then
    while IFS=$'\t' read -r f k; do live_key[$f]=$k; done < <(printf '%s\n' "$WG_RAW" | awk -F '\t' 'NF == 5 { print $1 "\t" $2 }')
  fi
  for i in "\${W[@]}"; do
    f=\${F[i]}
    [ -f "$f" ] && [ -r "$f" ] || continue
    m file "\${J[i]}"
    k=; IFS= read -r k < "$f"
    if [ -n "$k" ] && [ "$k" = "\${live_key[\${I[i]}]-}" ]; then echo 'wg-key-matches yes'; else echo 'wg-key-matches no'; fi
    k=
  done
  if [ "\${#P[@]}" -gt 0 ] && have wg; then
    for i in "\${P[@]}"; do
      f=\${F[i]}
      [ -f "$f" ] && [ -r "$f" ] || continue
      k=$(wg pubkey < "$f" 2>/dev/null) && { m file "\${J[i]}"; printf 'wg-pubkey %s\n' "$k"; }
    done
  fi
  if [ "\${#C[@]}" -gt 0 ]; then
    for r in "\${shas[@]}"; do sha_of[\${r:66}]=\${r:0:64}; done
    for i in "\${C[@]}"; do
      f=\${F[i]}
      k=\${sha_of[$f]-}
      [ -n "$k" ] && [ "$k" != "\${E[i]}" ] || continue
      r=$(stat -L -c %s -- "$f" 2>/dev/null) && [ "$r" -le "\${L[i]}" ] || continue
      m file "\${J[i]}"
      # A file that holds a private key is never sent, whatever the task said.
      if grep -qiE ${shellQuote(HOLDS_KEY_ERE)} -- "$f" 2>/dev/null; then echo holds-key; else echo content; base64 < "$f"; fi
    done
  fi
}
`.replaceAll('\\${', '${');

/** Two tasks asking about one file: the union of what they need. */
export function mergeFileRequests(previous: FileRequest | undefined, file: FileRequest): FileRequest {
  if (!previous) return { ...file };
  return {
    path: file.path,
    secret: Boolean(previous.secret || file.secret),
    wgKey: Boolean(previous.wgKey || file.wgKey),
    wgInterface: previous.wgInterface ?? file.wgInterface,
    statOnly: Boolean(previous.statOnly && file.statOnly),
    // Content is skipped only when every asker expects the same content.
    expectSha256: previous.expectSha256 === file.expectSha256 ? file.expectSha256 : undefined,
    contentLimit: Math.max(previous.contentLimit ?? FILE_CONTENT_LIMIT, file.contentLimit ?? FILE_CONTENT_LIMIT),
  };
}

export function buildFactScript(request: FactRequest = {}): string {
  const lines: string[] = [PRELUDE];
  const add = (...more: string[]) => lines.push(...more);

  add(`m facts ${FACT_FORMAT_VERSION}`);
  // Read by bash itself: a process each would cost more than all three.
  add('m kernel', 'slurp /proc/sys/kernel/osrelease');
  add('m uid', 'printf \'%s\\n\' "$EUID"; m rc 0');
  add('m hostname', 'slurp /proc/sys/kernel/hostname');
  add('m clock', "printf '%(%s)T\\n' -1");
  add('m programs');
  add(`for p in ${FACT_PROGRAMS.join(' ')}; do if have "$p"; then echo "$p 1"; else echo "$p 0"; fi; done`);
  add('m ip-link', 'run ip -j -d link show');
  add('m ip-addr', 'run ip -j addr show');
  add('m ip-rule inet', 'run ip -j -4 rule show');
  add('m ip-rule inet6', 'run ip -j -6 rule show');
  add('m ip-route inet', 'run ip -j -4 route show table all');
  add('m ip-route inet6', 'run ip -j -6 route show table all');
  add('m nft-json', 'run nft -j list ruleset');
  // -s: no counter values or element expiry (they change between runs);
  // -a: "# handle N" after each rule (stripped by the parser, kept as NftChainFact.handles).
  add('m nft-text', 'run nft -s -a list ruleset');
  add('m wg-dump', 'wg_dump');
  // What wgplay's own connection is (sshd sets SSH_CONNECTION: client address and port,
  // server address and port; sudo gets it passed explicitly, see remoteCommand), and the
  // route its replies take back to the controller: the interface it arrived on.
  add('m ssh-connection', 'ssh_connection');

  const files = new Map<string, FileRequest>();
  for (const file of request.files ?? []) {
    const previous = files.get(file.path);
    files.set(file.path, mergeFileRequests(previous, file));
  }
  const list = [...files.values()];
  if (list.some((file) => file.path === '')) throw new WgplayError('cannot gather facts of a file with an empty path');
  if (list.some((file) => !file.path.startsWith('/'))) {
    throw new WgplayError(`cannot gather facts of a file by a relative path: ${list.find((file) => !file.path.startsWith('/'))!.path}`);
  }
  if (list.length > 0) {
    const array = (name: string, values: string[]) => `${name}=(${values.map(shellQuote).join(' ')})`;
    const indices = (wanted: (file: FileRequest) => boolean) => list.flatMap((file, index) => (wanted(file) ? [String(index)] : []));
    const secret = (file: FileRequest) => file.secret || file.statOnly || file.wgKey || file.wgInterface;
    add(
      array('F', list.map((file) => file.path)),
      // The marker argument, JSON-quoted here so that the script prints it verbatim.
      array('J', list.map((file) => JSON.stringify(file.path))),
      array('I', list.map((file) => file.wgInterface ?? '')),
      array('E', list.map((file) => file.expectSha256 ?? '')),
      array('L', list.map((file) => String(file.contentLimit ?? FILE_CONTENT_LIMIT))),
      `W=(${indices((file) => file.wgInterface !== undefined).join(' ')})`,
      `P=(${indices((file) => Boolean(file.wgKey)).join(' ')})`,
      `C=(${indices((file) => !secret(file)).join(' ')})`,
      'files_facts',
    );
  }

  const canonical = request.nftCanonical ?? [];
  if (canonical.length > 0) {
    const args = canonical.flatMap((table) => [JSON.stringify(`${table.family} ${table.name}`), table.family, table.name, table.text]);
    add(`nft_canonical ${args.map(shellQuote).join(' ')}`);
  }

  for (const key of new Set(request.sysctls ?? [])) {
    const path = sysctlPath(key);
    add(marker('sysctl', key), `if [ -f ${shellQuote(path)} ]; then run cat -- ${shellQuote(path)}; else m rc 1; fi`);
  }

  if (request.inotify) {
    // One `find` over every process's descriptors (the limit is per user, machine-wide):
    // the slowest fact of a host running many daemons, so with `ifMissing` only when
    // one of those interfaces does not exist yet (a daemon is about to be started).
    const ifMissing = request.inotify === true ? [] : request.inotify.ifMissing;
    add('m inotify', `inotify_facts ${ifMissing.map(shellQuote).join(' ')}`);
  }

  const bootFiles = new Map((request.nftBootFiles ?? []).map((table) => [nftTableKey(table), table]));
  for (const [key, table] of bootFiles) {
    const path = shellQuote(nftBootFileOf(table));
    // Content travels only when the file and the live table differ (for the diff).
    add(
      marker('nft-boot', key),
      `if b_live=$(${nftBootTextCommand(table)} 2>/dev/null); then echo 'live present'; else echo 'live missing'; b_live=; fi`,
      `if [ -f ${path} ]; then`,
      `  echo 'file present'; b_file=$(< ${path})`,
      `  if [ -n "$b_live" ] && [ "$b_file" = "$b_live" ]; then echo 'matches yes'; else`,
      `    echo 'matches no'; echo file-content; printf '%s\n' "$b_file" | base64`,
      `    [ -z "$b_live" ] || { echo live-content; printf '%s\n' "$b_live" | base64; }`,
      '  fi',
      "else echo 'file missing'; fi",
    );
  }

  add('m end', '');
  return lines.join('\n');
}
