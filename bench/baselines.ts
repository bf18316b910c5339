// The hand-written scripts wgplay is measured against, each run through ONE OpenSSH
// session (`ssh ... bash -s < script`), producing the same end state as wgplay's apply:
//
//   floor_batch  the obvious fast script: per interface its daemon and `wg setconf`, then
//                ONE `ip -batch` (addresses, link up, rules, routes), ONE `nft -f`.
//   best order   the fastest safe order measured in issue 10: listen ports reserved first,
//                files (keys included) staged and renamed at once, every interface a
//                persistent TUN with MTU, link up, addresses, rules and routes in ONE
//                `ip -batch` while no daemon runs (nothing to wake), then the daemons two at
//                a time, each followed by its `wg set`; ONE `nft -f`.
//   no-op floor  one ssh session and a read-only dump of the facts a no-op reads.
//
// What to write comes from wgplay's own expansion of the playbook (the primitive tasks:
// interfaces, rules, routes, nftables tables and elements, sysctls): the allocation and
// the wanted configuration are the same, the commands and their order are this file's.
// The files on disk (gateway record, wg-quick files, boot units, sysctl.d) are the bundle
// of files wgplay's own first apply wrote on another fresh host of the same run (taken
// from that host's /etc and /var/lib overlay layers), minus the private keys, which each
// script generates on its host as wgplay does.
import { renderNftTable, type NftTableArgs } from '../src/tasks/nftTable.js';
import { nftElementText } from '../src/tasks/shared/nft.js';
import { keyFileOf, type WireguardInterfaceArgs } from '../src/tasks/wireguardInterface.js';
import type { NftElementArgs } from '../src/tasks/nftElement.js';
import type { TaskInvocation } from '../src/tasks/types.js';

/** The files wgplay's first apply wrote (paths relative to /, parents first), as one tar. */
export interface FileBundle {
  /** Directories, with their octal mode, that hold the files. */
  directories: { path: string; mode: string }[];
  /** Every non-directory path of the bundle (files and symlinks). */
  files: string[];
  /** GNU tar of the non-directory entries, base64. */
  tarBase64: string;
}

export interface Wanted {
  interfaces: WireguardInterfaceArgs[];
  rules: { from?: string; to?: string; table: string | number; priority?: number }[];
  routes: { to: string; dev?: string; via?: string; table?: string | number }[];
  tables: NftTableArgs[];
  elements: NftElementArgs[];
  sysctls: { key: string; value: string }[];
}

const KNOWN = new Set(['wireguard_interface', 'ip_rule', 'ip_route', 'nft_table', 'nft_element', 'sysctl', 'file']);

/** The wanted state out of the primitive tasks; refuses what these scripts do not know how to write. */
export function wantedOf(tasks: TaskInvocation[]): Wanted {
  const wanted: Wanted = { interfaces: [], rules: [], routes: [], tables: [], elements: [], sysctls: [] };
  for (const task of tasks) {
    const args = task.args as Record<string, unknown>;
    if (!KNOWN.has(task.module)) throw new Error(`the baselines cannot write task module ${task.module} (${task.name})`);
    if (args.state === 'absent') throw new Error(`the baselines write a fresh host: ${task.module} ${task.name} is "absent"`);
    if (task.module === 'wireguard_interface') wanted.interfaces.push(args as unknown as WireguardInterfaceArgs);
    if (task.module === 'ip_rule') wanted.rules.push(args as Wanted['rules'][number]);
    if (task.module === 'ip_route') wanted.routes.push(args as Wanted['routes'][number]);
    if (task.module === 'nft_table') wanted.tables.push(args as unknown as NftTableArgs);
    if (task.module === 'nft_element') wanted.elements.push(args as unknown as NftElementArgs);
    if (task.module === 'sysctl') wanted.sysctls.push({ key: String(args.key), value: String(args.value) });
    // file tasks: their content is in the bundle.
  }
  return wanted;
}

/** `command <<'BENCH_EOF'` with body; `then` continues the pipeline after the redirection. */
const heredoc = (command: string, body: string, then = '') => `${command} <<'BENCH_EOF'${then}\n${body}${body.endsWith('\n') ? '' : '\n'}BENCH_EOF\n`;

/** `ip -batch` lines of the rules (`rule add ...`). */
export function ruleLines(w: Wanted): string[] {
  return w.rules.map((rule) =>
    ['rule add', rule.from ? `from ${rule.from}` : '', rule.to ? `to ${rule.to}` : '', `table ${rule.table}`, rule.priority ? `priority ${rule.priority}` : ''].filter(Boolean).join(' '),
  );
}

/** `ip -batch` lines of the routes (`route replace ...`), the interfaces' own (wg-quick's Table) included. */
export function routeLines(w: Wanted): string[] {
  const lines: string[] = [];
  // wg-quick's Table: each peer's allowed IPs routed through the interface in that table.
  for (const wg of w.interfaces) {
    if (wg.table === undefined || wg.table === 'off') continue;
    for (const prefix of (wg.peers ?? []).flatMap((peer) => peer.allowed_ips)) lines.push(`route replace ${prefix} dev ${wg.name} table ${wg.table}`);
  }
  for (const route of w.routes) {
    lines.push(['route replace', route.to, route.via ? `via ${route.via}` : '', route.dev ? `dev ${route.dev}` : '', `table ${route.table ?? 'main'}`].filter(Boolean).join(' '));
  }
  return lines;
}

const ipBatchRouting = (w: Wanted) => [...ruleLines(w), ...routeLines(w)];

export function addressLines(w: Wanted): string[] {
  return w.interfaces.flatMap((wg) => (wg.addresses ?? []).map((address) => `address add ${address.includes('/') ? address : `${address}/32`} dev ${wg.name}`));
}

/** One `nft -f`: the tables, then each set's or map's elements in one line. */
export function nftScript(w: Wanted): string {
  const typeOf = (table: string, set: string) => {
    const t = w.tables.find((candidate) => candidate.name === table);
    const s = t?.sets?.find((candidate) => candidate.name === set);
    const m = t?.maps?.find((candidate) => candidate.name === set);
    return { key: s?.type ?? m?.type, value: m?.value_type };
  };
  const groups = new Map<string, string[]>();
  for (const e of w.elements) {
    const types = typeOf(e.table, e.set);
    const text = nftElementText(e.key, types.key) + (e.value === undefined ? '' : ` : ${nftElementText(e.value, types.value)}`);
    const where = `${e.family ?? 'inet'} ${e.table} ${e.set}`;
    groups.set(where, [...(groups.get(where) ?? []), text]);
  }
  return [
    ...w.tables.map((table) => renderNftTable({ ...table, family: table.family ?? 'inet' })),
    ...[...groups].map(([where, items]) => `add element ${where} { ${items.join(', ')} }`),
  ].join('\n');
}

/** `wg set` arguments for an interface (private key from its file). */
function wgSetArgs(wg: WireguardInterfaceArgs): string {
  const peers = (wg.peers ?? []).map(
    (peer) =>
      `peer ${peer.public_key} allowed-ips ${peer.allowed_ips.join(',')}` +
      (peer.endpoint ? ` endpoint ${peer.endpoint}` : '') +
      (peer.persistent_keepalive ? ` persistent-keepalive ${peer.persistent_keepalive}` : ''),
  );
  return [`listen-port ${wg.listen_port ?? 0}`, `private-key ${keyFileOf(wg)}`, ...peers].join(' ');
}

/** A `wg setconf` file body (the private key read from its file on the host). */
function wgSetconfBody(wg: WireguardInterfaceArgs): string {
  const lines = ['[Interface]', `PrivateKey = $(<${keyFileOf(wg)})`, ...(wg.listen_port ? [`ListenPort = ${wg.listen_port}`] : [])];
  for (const peer of wg.peers ?? []) {
    lines.push('[Peer]', `PublicKey = ${peer.public_key}`, `AllowedIPs = ${peer.allowed_ips.join(', ')}`);
    if (peer.endpoint) lines.push(`Endpoint = ${peer.endpoint}`);
    if (peer.persistent_keepalive) lines.push(`PersistentKeepalive = ${peer.persistent_keepalive}`);
  }
  return lines.join('\n');
}

const sysctlLines = (w: Wanted) => w.sysctls.map((s) => `sysctl -q -w '${s.key}=${s.value}'`);
/** The bundle's directories (and more) in one `mkdir`, then one `chmod` per mode. */
function mkdirLines(bundle: FileBundle, more: { path: string; mode: string }[] = []): string[] {
  const all = [...bundle.directories.map((d) => ({ path: `/${d.path}`, mode: d.mode })), ...more];
  if (!all.length) return [];
  const modes = new Map<string, string[]>();
  for (const d of all) modes.set(d.mode, [...(modes.get(d.mode) ?? []), d.path]);
  return [`mkdir -p ${all.map((d) => d.path).join(' ')}`, ...[...modes].map(([mode, paths]) => `chmod ${mode} ${paths.join(' ')}`)];
}
const keyDirs = (w: Wanted) => [...new Set(w.interfaces.map((wg) => keyFileOf(wg).replace(/\/[^/]*$/, '')))];

const PRELUDE = 'set -euo pipefail\nexport LC_ALL=C\numask 0077\n';

export function floorBatchScript(tasks: TaskInvocation[], bundle: FileBundle): string {
  const w = wantedOf(tasks);
  return (
    PRELUDE +
    [...sysctlLines(w), ...mkdirLines(bundle, keyDirs(w).map((path) => ({ path, mode: '0700' })))].join('\n') +
    '\n' +
    heredoc('base64 -d', bundle.tarBase64, ' | tar -x -C / -f -') +
    w.interfaces.map((wg) => `wg genkey > ${keyFileOf(wg)}`).join('\n') +
    '\n' +
    w.interfaces
      .map((wg) => `wireguard-go ${wg.name} </dev/null >/dev/null 2>&1\nwg setconf ${wg.name} /dev/stdin <<BENCH_WG\n${wgSetconfBody(wg)}\nBENCH_WG`)
      .join('\n') +
    '\n' +
    heredoc('ip -batch -', [...addressLines(w), ...w.interfaces.map((wg) => `link set dev ${wg.name}${wg.mtu ? ` mtu ${wg.mtu}` : ''} up`), ...ipBatchRouting(w)].join('\n')) +
    heredoc('nft -f -', nftScript(w))
  );
}

const STAGE = '.bench-stage';

export function bestOrderScript(tasks: TaskInvocation[], bundle: FileBundle): string {
  const w = wantedOf(tasks);
  // Every directory that receives a file, each with its own staging folder (a rename
  // never crosses a file system: /etc and /var/lib are separate mounts).
  const fileDirs = [...new Set([...bundle.files, ...w.interfaces.map((wg) => keyFileOf(wg).slice(1))].map((path) => path.replace(/\/[^/]*$/, '')))];
  const staged = (path: string) => path.replace(/\/([^/]*)$/, `/${STAGE}/$1`);
  const pairs: string[] = [];
  for (let i = 0; i < w.interfaces.length; i += 2) {
    const two = w.interfaces.slice(i, i + 2);
    pairs.push(`${two.map((wg) => `wireguard-go ${wg.name} </dev/null >/dev/null 2>&1 &`).join(' ')} wait\n${two.map((wg) => `wg set ${wg.name} ${wgSetArgs(wg)}`).join('\n')}`);
  }
  return (
    PRELUDE +
    // Listen ports first (net.ipv4.ip_local_reserved_ports is among the sysctls).
    [
      ...sysctlLines(w),
      ...mkdirLines(bundle, [...keyDirs(w).map((path) => ({ path, mode: '0700' })), ...fileDirs.map((dir) => ({ path: `/${dir}/${STAGE}`, mode: '0700' }))]),
    ].join('\n') +
    '\n' +
    heredoc('base64 -d', bundle.tarBase64, ` | tar -x -C / -f - --transform='s,\\([^/]*\\)$,${STAGE}/\\1,rSH'`) +
    // The keys are generated while the links are made (nothing else needs them before).
    `{\n${w.interfaces.map((wg) => `wg genkey > ${staged(keyFileOf(wg))}`).join('\n')}\n} &\nkeys=$!\n` +
    heredoc(
      'ip -batch -',
      [
        ...w.interfaces.map((wg) => `tuntap add dev ${wg.name} mode tun`),
        ...w.interfaces.map((wg) => `link set dev ${wg.name} mtu ${wg.mtu ?? 1420} up`),
        ...addressLines(w),
        ...ipBatchRouting(w),
      ].join('\n'),
    ) +
    'wait $keys\n' +
    // "At once": one mv per directory renames every file staged for it.
    fileDirs.map((dir) => `mv -f -t /${dir} /${dir}/${STAGE}/* && rmdir /${dir}/${STAGE}`).join('\n') +
    '\n' +
    pairs.join('\n') +
    '\n' +
    heredoc('nft -f -', nftScript(w))
  );
}

/** One ssh session dumping, read-only, what a no-op plan reads: links, addresses, rules, routes, nftables, WireGuard, sysctls, files. */
export function noopFloorScript(tasks: TaskInvocation[], bundle: FileBundle): string {
  const w = wantedOf(tasks);
  const files = [...bundle.files.map((path) => `/${path}`), ...w.interfaces.map((wg) => keyFileOf(wg))];
  return (
    'set -uo pipefail\nexport LC_ALL=C\n' +
    'ip -d -j link show; ip -j address show; ip -j rule show; ip -j route show table all; nft -j list ruleset; wg show all dump\n' +
    `sysctl -n ${w.sysctls.map((s) => s.key).join(' ')}\n` +
    heredoc('xargs -d "\\n" stat -c "%n %a %U %G %s %F"', files.join('\n')) +
    heredoc('xargs -d "\\n" sha256sum', files.join('\n'))
  );
}
