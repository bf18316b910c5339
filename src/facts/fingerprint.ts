// What a saved plan depends on: the facts its tasks read, as canonical lines (one per
// link, address, rule, route, WireGuard interface and peer, nftables table the tasks
// name, file, sysctl and nftables boot file they asked for), and their hash. Counters and times that move
// on their own are left out (handshakes, bytes, the endpoint a roaming peer was last
// seen at, IPv6 link-local addresses and the kernel's local routes); so are tables no
// task reads (a fail2ban set changing by the minute).
import { createHash } from 'node:crypto';
import type { AddressFact, FactRequest, HostFacts, RouteFact } from './types.js';

/** JSON with keys sorted and undefined fields left out: one spelling per value. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, inner]) => inner !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonicalJson(inner)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const line = (kind: string, value: unknown) => `${kind} ${canonicalJson(value)}`;

// What the kernel maintains on its own, and tasks never manage: IPv6 link-local
// addresses (they appear once duplicate address detection is done) and multicast, and
// the local table's kernel routes (they mirror the addresses, which are covered).
const LINK_LOCAL_OR_MULTICAST = /^(fe[89ab][0-9a-f]|ff[0-9a-f]{2}):/i;
const kernelOwnedAddress = (address: AddressFact) => address.family === 'inet6' && LINK_LOCAL_OR_MULTICAST.test(address.local);
const kernelOwnedRoute = (route: RouteFact) =>
  (route.table === 'local' && route.protocol === 'kernel') || (route.family === 'inet6' && LINK_LOCAL_OR_MULTICAST.test(route.dst));

/** The facts a plan read, one sorted line per object; equal lines = the same host state. */
export function canonicalFacts(facts: HostFacts, request: FactRequest): string[] {
  const lines: string[] = [];
  for (const link of facts.links) lines.push(line('link', link));
  for (const address of facts.addresses) if (!kernelOwnedAddress(address)) lines.push(line('address', address));
  for (const rule of facts.rules) lines.push(line('rule', rule));
  for (const route of facts.routes) if (!kernelOwnedRoute(route)) lines.push(line('route', route));
  for (const wg of Object.values(facts.wg)) {
    const { peers, ...device } = wg;
    lines.push(line('wireguard', device));
    for (const { latestHandshake: _h, rxBytes: _rx, txBytes: _tx, endpoint: _e, ...peer } of peers) {
      lines.push(line('wireguard-peer', { interface: wg.name, ...peer }));
    }
  }
  const tables = new Set((request.nftTables ?? []).map((table) => `${table.family} ${table.name}`));
  for (const { family, name, chains, sets } of facts.nftTables) {
    if (!tables.has(`${family} ${name}`)) continue;
    const table = { family, table: name };
    lines.push(line('nft-table', table));
    for (const chain of chains) lines.push(line('nft-chain', { ...table, ...chain }));
    for (const { elements, ...set } of sets) {
      lines.push(line(`nft-${set.kind}`, { ...table, ...set }));
      for (const element of elements) lines.push(line('nft-element', { ...table, set: set.name, ...element }));
    }
  }
  for (const { path } of request.files ?? []) {
    const file = facts.files[path];
    // Content is covered by its hash (and secret files have none).
    if (file) lines.push(line('file', { ...file, content: undefined }));
  }
  for (const key of request.sysctls ?? []) lines.push(line('sysctl', { key, value: facts.sysctls[key] ?? null }));
  for (const table of request.nftBootFiles ?? []) {
    const boot = facts.nftBootFiles[`${table.family} ${table.name}`];
    // Whether it matches the live table says it all; its text is covered by the table's lines.
    if (boot) lines.push(line('nft-boot-file', { ...boot, content: undefined, liveContent: undefined }));
  }
  for (const [program, present] of Object.entries(facts.programs)) lines.push(line('program', { program, present }));
  return lines.sort();
}

export function factsFingerprint(lines: string[]): string {
  return `sha256:${createHash('sha256').update(lines.join('\n')).digest('hex')}`;
}

/** What changed between two canonical fact lists: "- " lines as planned, "+ " lines as found. */
export function factsDrift(planned: string[], found: string[]): string[] {
  const before = new Set(planned);
  const after = new Set(found);
  return [...planned.filter((fact) => !after.has(fact)).map((fact) => `- ${fact}`), ...found.filter((fact) => !before.has(fact)).map((fact) => `+ ${fact}`)];
}
