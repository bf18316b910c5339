// Addresses and prefixes: parsed strictly (node:net's inet_pton rules: no leading
// zeros, no shorthand IPv4 such as "10.1", no zone ids), then written in ONE canonical
// form (ipaddr.js: IPv6 compressed and lower-case per RFC 5952), the form `ip -j`,
// `nft -j` and `wg show dump` print. Plans, uniqueness and overlap checks compare these
// canonical forms, never what the operator typed.
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

type Family = 4 | 6;

interface Address {
  family: Family;
  /** The canonical text: "10.0.0.1", "fd00::1", "::ffff:10.0.0.1". */
  text: string;
  /** What kind of address (ipaddr.js' ranges): "unicast", "private", "loopback", "multicast"... */
  range: string;
  bytes: number[];
}

interface Prefix {
  family: Family;
  /** The canonical network address. */
  address: string;
  length: number;
  /** "10.0.0.0/24", "fd00::/64"; a full-length prefix keeps its length: "10.0.0.1/32". */
  text: string;
}

/** A parse result: the value, or why the text is not one (a sentence without the value). */
export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

const fail = (problem: string): { ok: false; problem: string } => ({ ok: false, problem });

/** "10.0.0.01" -> "10.0.0.1": the same address without the leading zeros, for the hint. */
function withoutLeadingZeros(text: string): string | undefined {
  const octets = text.split('.');
  if (octets.length !== 4 || !octets.every((octet) => octet !== '' && [...octet].every((c) => c >= '0' && c <= '9'))) return undefined;
  if (!octets.some((octet) => octet.length > 1 && octet.startsWith('0'))) return undefined;
  const fixed = octets.map((octet) => String(Number(octet)));
  return fixed.every((octet) => Number(octet) <= 255) ? fixed.join('.') : undefined;
}

function canonicalText(parsed: ipaddr.IPv4 | ipaddr.IPv6): string {
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    // inet_ntop's form, and RFC 5952's: the IPv4 part stays dotted.
    return `::ffff:${(parsed as ipaddr.IPv6).toIPv4Address().toString()}`;
  }
  return parsed.toString();
}

// Parsing is pure and the same few thousand texts come back over and over (every route
// of a host's facts against every task's): results are kept, frozen, up to a bound.
const MEMO_LIMIT = 50_000;
function memoized<T>(parse: (text: string) => T): (text: string) => T {
  const memo = new Map<string, T>();
  return (text) => {
    let result = memo.get(text);
    if (result === undefined) {
      if (memo.size >= MEMO_LIMIT) memo.clear();
      result = deepFreeze(parse(text));
      memo.set(text, result);
    }
    return result;
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/** One IP address, strictly: what `ip`, `nft` and `wg` read the same way. */
export const parseAddress = memoized(parseAddressText);

function parseAddressText(text: string): Parsed<Address> {
  if (text.includes('%')) return fail('is an address with a zone id ("%..."), which wgplay does not take');
  if (isIP(text) === 0) {
    const fixed = withoutLeadingZeros(text);
    if (fixed !== undefined) {
      return fail(`has an octet with a leading zero, which tools read differently (octal or decimal): write ${fixed}`);
    }
    return fail('is not an IP address');
  }
  const parsed = ipaddr.parse(text);
  return {
    ok: true,
    value: { family: parsed.kind() === 'ipv4' ? 4 : 6, text: canonicalText(parsed), range: parsed.range(), bytes: parsed.toByteArray() },
  };
}

/** An IPv4 address; an IPv4-mapped IPv6 address ("::ffff:10.0.0.1") is taken as its IPv4 address. */
export function parseIpv4(text: string): Parsed<Address> {
  const parsed = parseAddress(text);
  if (!parsed.ok) return parsed;
  if (parsed.value.family === 6) {
    if (parsed.value.range === 'ipv4Mapped') return parseAddress(parsed.value.text.slice('::ffff:'.length));
    return fail('is not an IPv4 address');
  }
  return parsed;
}

const NOT_A_HOST: Record<string, string> = {
  unspecified: 'is the unspecified address',
  loopback: 'is a loopback address',
  broadcast: 'is the broadcast address',
  multicast: 'is a multicast address',
  linkLocal: 'is a link-local address',
};

/** Why an address cannot be a host on the other side of a tunnel, or undefined. */
function notAHost(address: Address): string | undefined {
  if (address.range === 'ipv4Mapped') {
    const inner = parseAddress(address.text.slice('::ffff:'.length));
    return inner.ok ? notAHost(inner.value) : undefined;
  }
  // 0.0.0.0/8 is "this network": no host has such an address.
  if (address.family === 4 && address.bytes[0] === 0) return NOT_A_HOST.unspecified;
  return NOT_A_HOST[address.range];
}

/** An address a host can have (customer, endpoint, gateway): not unspecified/loopback/broadcast/multicast. */
export function parseHostAddress(text: string, family?: Family): Parsed<Address> {
  const parsed = family === 4 ? parseIpv4(text) : parseAddress(text);
  if (!parsed.ok) return parsed;
  const problem = notAHost(parsed.value);
  return problem ? fail(`${problem}, not one a host can have`) : parsed;
}

function parseLength(text: string, family: Family): Parsed<number> {
  const max = family === 4 ? 32 : 128;
  if (text === '' || ![...text].every((c) => c >= '0' && c <= '9') || (text.length > 1 && text.startsWith('0'))) {
    return fail(`has a prefix length that is not a number from 0 to ${max}`);
  }
  const length = Number(text);
  if (length > max) return fail(`has a prefix length over ${max}`);
  return { ok: true, value: length };
}

function splitPrefix(text: string): Parsed<{ address: Address; length: number | undefined }> {
  const slash = text.indexOf('/');
  const address = parseAddress(slash < 0 ? text : text.slice(0, slash));
  if (!address.ok) return address;
  if (slash < 0) return { ok: true, value: { address: address.value, length: undefined } };
  const length = parseLength(text.slice(slash + 1), address.value.family);
  if (!length.ok) return length;
  return { ok: true, value: { address: address.value, length: length.value } };
}

function networkOf(address: Address, length: number): string {
  const bytes = address.bytes.map((byte, index) => {
    const bits = Math.min(8, Math.max(0, length - index * 8));
    return byte & (0xff << (8 - bits)) & 0xff;
  });
  return canonicalText(ipaddr.fromByteArray(bytes));
}

/**
 * A network: "10.0.0.0/24", "fd00::/64", or an address alone (its full-length prefix).
 * Host bits are refused: `ip` and `wg` would store the network and print it differently
 * (a perpetual change), and "10.9.9.1/24" usually means an interface address, not a route.
 */
export function parsePrefix(text: string, family?: Family): Parsed<Prefix> {
  const split = splitPrefix(text);
  if (!split.ok) return split;
  const { address, length: written } = split.value;
  if (family !== undefined && address.family !== family) return fail(`is not an IPv${family} prefix`);
  const length = written ?? (address.family === 4 ? 32 : 128);
  const network = networkOf(address, length);
  if (network !== address.text) {
    return fail(`has host bits set: the network of ${address.text}/${length} is ${network}/${length}`);
  }
  return { ok: true, value: { family: address.family, address: network, length, text: `${network}/${length}` } };
}

/** An interface address: "10.0.0.2/24" (host bits expected), or "10.0.0.2" meaning /32. */
export function parseInterfaceAddress(text: string): Parsed<Prefix> {
  const split = splitPrefix(text);
  if (!split.ok) return split;
  const { address, length: written } = split.value;
  const problem = notAHost(address);
  if (problem) return fail(`${problem}, not one an interface can have`);
  const length = written ?? (address.family === 4 ? 32 : 128);
  return { ok: true, value: { family: address.family, address: address.text, length, text: `${address.text}/${length}` } };
}

/**
 * The key a prefix is compared by, the way `ip` prints routes and rules: a full-length
 * prefix without its length ("10.0.0.1"), others as "network/length". For text from a
 * host's facts and from validated arguments alike; unparsable text compares as itself.
 */
export const prefixKey = memoized(prefixKeyOf);

function prefixKeyOf(text: string): string {
  const split = splitPrefix(text);
  if (!split.ok) return text;
  const { address, length } = split.value;
  const full = address.family === 4 ? 32 : 128;
  if (length === undefined || length === full) return address.text;
  return `${networkOf(address, length)}/${length}`;
}

/** "10.0.0.1" -> "10.0.0.1/32": the form WireGuard prints allowed IPs in. */
export function withLength(text: string): string {
  const split = splitPrefix(text);
  if (!split.ok) return text;
  const { address, length } = split.value;
  return `${address.text}/${length ?? (address.family === 4 ? 32 : 128)}`;
}

/** The address family of a (valid) address or prefix, as `ip` names it. */
export function familyOf(text: string): 'inet' | 'inet6' {
  return text.includes(':') ? 'inet6' : 'inet';
}

/** The inclusive range of IPv4 addresses a prefix or address covers, as numbers. */
export function ipv4Range(text: string): { first: number; last: number } {
  const split = splitPrefix(text);
  if (!split.ok || split.value.address.family !== 4) throw new Error(`not an IPv4 prefix: ${text}`);
  const { address, length = 32 } = split.value;
  const size = 2 ** (32 - length);
  const first = Math.floor(ipv4ToNumber(address.text) / size) * size;
  return { first, last: first + size - 1 };
}

export function ipv4ToNumber(address: string): number {
  return address.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0);
}

export function numberToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** Do two prefixes share an address? (Canonical or not: they are parsed.) */
export function prefixesOverlap(a: string, b: string): boolean {
  const left = splitPrefix(a);
  const right = splitPrefix(b);
  if (!left.ok || !right.ok || left.value.address.family !== right.value.address.family) return false;
  const full = left.value.address.family === 4 ? 32 : 128;
  const length = Math.min(left.value.length ?? full, right.value.length ?? full);
  return networkOf(left.value.address, length) === networkOf(right.value.address, length);
}

/** "all"/"default"/omitted: every address (of the address's family). */
const EVERYTHING = new Set(['all', 'default']);

/**
 * Does the prefix contain the address? "10.0.0.0/8", "10.0.0.1" (a host), or
 * "all"/"default"/undefined (everything). Different families never do.
 */
export function prefixCovers(prefix: string | undefined, address: string): boolean {
  return prefixLengthOf(prefix, address) >= 0;
}

/** The length of the prefix when it contains the address (0 for "all"/"default"), else -1. */
export function prefixLengthOf(prefix: string | undefined, address: string): number {
  const inside = parseAddress(address);
  if (!inside.ok) return -1;
  const host = inside.value.range === 'ipv4Mapped' ? parseAddress(inside.value.text.slice('::ffff:'.length)) : inside;
  if (!host.ok) return -1;
  if (prefix === undefined || EVERYTHING.has(prefix)) return 0;
  const split = splitPrefix(prefix);
  if (!split.ok || split.value.address.family !== host.value.family) return -1;
  const length = split.value.length ?? (host.value.family === 4 ? 32 : 128);
  return networkOf(split.value.address, length) === networkOf(host.value, length) ? length : -1;
}

/** Is the text an IPv4 address or an IPv4 prefix (host bits allowed)? */
export function isIpv4AddressOrPrefix(text: string): boolean {
  const split = splitPrefix(text);
  return split.ok && split.value.address.family === 4;
}
