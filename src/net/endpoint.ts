// WireGuard endpoints ("host:port", "[v6]:port") and ports.
import { parseHostAddress, type Parsed } from './address.js';

interface Endpoint {
  /** A canonical address, or a lower-case hostname still to be resolved on the controller. */
  host: string;
  port: number;
  /** True when `host` is a name, not an address. */
  isName: boolean;
  /** "192.0.2.1:51820", "[fd00::1]:51820" (the form `wg show dump` prints), "vpn.example.com:51820". */
  text: string;
}

const fail = (problem: string): { ok: false; problem: string } => ({ ok: false, problem });

const isDigits = (text: string) => text !== '' && [...text].every((c) => c >= '0' && c <= '9');

/** A UDP/TCP port written as text: 1-65535, decimal, no sign or leading zero. */
function parsePort(text: string): Parsed<number> {
  if (!isDigits(text) || (text.length > 1 && text.startsWith('0'))) return fail(`has a port "${text}" that is not a number from 1 to 65535`);
  const port = Number(text);
  if (port < 1 || port > 65535) return fail(`has port ${port}, outside 1-65535`);
  return { ok: true, value: port };
}

/** A DNS name: labels of letters, digits and inner '-', at most 253 characters. */
function isHostname(text: string): boolean {
  if (text.length === 0 || text.length > 253) return false;
  const labels = (text.endsWith('.') ? text.slice(0, -1) : text).split('.');
  const letterOrDigit = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  const labelsOk = labels.every(
    (label) => label.length >= 1 && label.length <= 63 && letterOrDigit(label[0]!) && letterOrDigit(label[label.length - 1]!) && [...label].every((c) => letterOrDigit(c) || c === '-'),
  );
  // An all-numeric last label would be a mistyped IPv4 address ("10.0.0.01", "10.1").
  return labelsOk && !isDigits(labels[labels.length - 1]!);
}

export function formatEndpoint(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** "host:port" or "[ipv6]:port"; the host an address a peer can have, or a DNS name. */
export function parseEndpoint(text: string): Parsed<Endpoint> {
  let hostText: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') return fail('is not "[address]:port"');
    hostText = text.slice(1, close);
    portText = text.slice(close + 2);
    if (!hostText.includes(':')) return fail('has brackets around something that is not an IPv6 address');
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return fail('has no port: write host:port');
    hostText = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (hostText.includes(':')) return fail('is an IPv6 address without brackets: write [address]:port');
  }
  const port = parsePort(portText);
  if (!port.ok) return port;
  const looksNumeric = [...hostText].every((c) => (c >= '0' && c <= '9') || c === '.');
  if (hostText.includes(':') || looksNumeric) {
    const address = parseHostAddress(hostText);
    if (!address.ok) return fail(`has a host that ${address.problem}`);
    return { ok: true, value: { host: address.value.text, port: port.value, isName: false, text: formatEndpoint(address.value.text, port.value) } };
  }
  if (!isHostname(hostText)) return fail(`has "${hostText}", which is neither an IP address nor a DNS name`);
  const host = hostText.toLowerCase().replace(/\.$/, '');
  return { ok: true, value: { host, port: port.value, isName: true, text: formatEndpoint(host, port.value) } };
}
