// The kinds of network values a task's JSON schema can declare with the `net` keyword:
//   { type: 'string', net: 'host-ipv4' }
// ajv (src/playbook/validate.ts) checks the value and replaces it, in place, with its
// canonical form, so tasks plan, and collision and uniqueness checks compare, canonical
// values only.
import { parseHostAddress, parseInterfaceAddress, parsePrefix, type Parsed } from './address.js';
import { parseEndpoint } from './endpoint.js';
import { interfaceNameProblem } from './interfaceName.js';
import { isWireguardKey } from './wireguardKey.js';
import { parseNftElement } from './nftElement.js';
import { posix } from 'node:path';

const prefix = (text: string): NetValue => map(parsePrefix(text), (p) => (p.length === (p.family === 4 ? 32 : 128) ? p.address : p.text));

export const NET_KINDS = {
  /** An IPv4 address a host can have (customer and gateway addresses): "10.0.0.1". */
  'host-ipv4': (text: string) => map(parseHostAddress(text, 4), (a) => a.text),
  /** An IPv4 or IPv6 address a host can have (a gateway "via"). */
  'host-address': (text: string) => map(parseHostAddress(text), (a) => a.text),
  /** An IPv4 network with its length, host bits not set: "10.200.200.0/24". */
  'ipv4-prefix': (text: string) => (text.includes('/') ? map(parsePrefix(text, 4), (p) => p.text) : fail('has no prefix length: write it as network/length')),
  /** A route or rule selector: a network, or an address alone; "10.0.0.1/32" is "10.0.0.1". */
  prefix,
  /** `ip rule` from/to: a prefix, or "all". */
  'rule-selector': (text: string) => (text === 'all' ? ok('all') : prefix(text)),
  /** `ip route` to: a prefix, or "default". */
  'route-destination': (text: string) => (text === 'default' ? ok('default') : prefix(text)),
  /** A WireGuard allowed IP: always "network/length" (wg's own form). */
  'allowed-ip': (text: string) => map(parsePrefix(text), (p) => p.text),
  /** An interface address: "10.0.0.2/24", or "10.0.0.2" meaning /32; always with its length. */
  'interface-address': (text: string) => map(parseInterfaceAddress(text), (p) => p.text),
  /** host:port, [ipv6]:port; a DNS name is resolved on the controller before the run. */
  endpoint: (text: string) => map(parseEndpoint(text), (e) => e.text),
  /** A Linux interface name wgplay can pass on a command line. */
  'interface-name': (text: string): NetValue => {
    const problem = interfaceNameProblem(text);
    return problem ? { ok: false, problem, whole: true } : ok(text);
  },
  /** An nftables set or map element (a number, range, address, prefix, MAC, name), as nft prints it: "FD00::1" is "fd00::1". */
  'nft-element': (text: string): NetValue => parseNftElement(text),
  /** A WireGuard (public) key. */
  'wireguard-key': (text: string): NetValue =>
    isWireguardKey(text) ? ok(text) : { ok: false, problem: 'not a WireGuard public key (44 characters of base64, ending in "=")', whole: true },
  /**
   * A kernel parameter as sysctl names it with dots: "net/ipv4/ip_forward" (the path
   * under /proc/sys) is "net.ipv4.ip_forward"; a dot inside a part, written with slashes
   * ("net/ipv4/conf/eth0.100/forwarding"), is a slash with dots ("net.ipv4.conf.eth0/100.forwarding"), as sysctl(8) reads it.
   */
  'kernel-parameter': (text: string): NetValue => ok(kernelParameter(text)),
  /** An absolute path, as the kernel resolves it without symlinks: "/etc//x", "/etc/./x" and "/etc/a/../x" are "/etc/x". */
  'absolute-path': (text: string): NetValue => (text.startsWith('/') ? ok(posix.normalize(text)) : fail('is not an absolute path (starting with /)')),
} satisfies Record<string, (text: string) => NetValue>;

export type NetKind = keyof typeof NET_KINDS;

/** A canonical value, or a problem: a sentence continuing `"<value>" ...`, or a whole one. */
type NetValue = Parsed<string> | { ok: false; problem: string; whole: true };

function ok(value: string): NetValue {
  return { ok: true, value };
}
function fail(problem: string): NetValue {
  return { ok: false, problem };
}
function map<T>(parsed: Parsed<T>, to: (value: T) => string): NetValue {
  return parsed.ok ? ok(to(parsed.value)) : parsed;
}

/** Checks `text` as a value of `kind`: its canonical form, or the message for the operator. */
export function canonicalValue(kind: NetKind, text: string): { ok: true; value: string } | { ok: false; message: string } {
  const result = NET_KINDS[kind](text);
  if (result.ok) return result;
  return { ok: false, message: 'whole' in result ? result.problem : `"${text}" ${result.problem}` };
}

export function isNetKind(kind: unknown): kind is NetKind {
  return typeof kind === 'string' && Object.hasOwn(NET_KINDS, kind);
}

/** sysctl(8)'s rule: a name whose first separator is "/" is a path; its "/" and "." swap. */
function kernelParameter(text: string): string {
  const first = /[./]/.exec(text)?.[0];
  return first === '/' ? text.replace(/[./]/g, (c) => (c === '/' ? '.' : '/')) : text;
}
