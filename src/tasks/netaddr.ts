// Small address helpers shared by the tasks: normalizing what the operator wrote so
// it compares equal to what `ip -j` prints.

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

export function isIpv4(value: string): boolean {
  return IPV4.test(value);
}

export function isIpv6(value: string): boolean {
  return value.includes(':') && /^[0-9a-fA-F:.]+$/.test(value);
}

/** "10.0.0.1" | "10.0.0.0/24" | "fd00::/64" with a valid prefix length. */
export function isCidrOrAddress(value: string): boolean {
  const [address, length, ...rest] = value.split('/');
  if (rest.length > 0 || address === undefined) return false;
  const max = isIpv4(address) ? 32 : isIpv6(address) ? 128 : -1;
  if (max < 0) return false;
  if (length === undefined) return true;
  return /^\d{1,3}$/.test(length) && Number(length) <= max;
}

export function familyOf(value: string): 'inet' | 'inet6' {
  return value.includes(':') ? 'inet6' : 'inet';
}

/** Drops a host prefix ("/32", "/128") the way `ip` prints host routes and rules. */
export function normalizePrefix(value: string): string {
  const [address, length] = value.split('/');
  if (length === undefined) return value.toLowerCase();
  const host = familyOf(address!) === 'inet' ? '32' : '128';
  return length === host ? address!.toLowerCase() : `${address!.toLowerCase()}/${length}`;
}

/** "10.0.0.1" -> "10.0.0.1/32": the form WireGuard prints allowed IPs in. */
export function withPrefix(value: string): string {
  if (value.includes('/')) return value.toLowerCase();
  return `${value.toLowerCase()}/${familyOf(value) === 'inet' ? 32 : 128}`;
}

export function ipv4ToNumber(address: string): number {
  return address.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0);
}

export function numberToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** The inclusive numeric range an IPv4 CIDR covers. */
export function ipv4Range(cidr: string): { first: number; last: number } {
  const [address, lengthText] = cidr.split('/');
  const length = lengthText === undefined ? 32 : Number(lengthText);
  const size = 2 ** (32 - length);
  const first = Math.floor(ipv4ToNumber(address!) / size) * size;
  return { first, last: first + size - 1 };
}

/** Linux interface names: at most 15 bytes, no '/', ':', whitespace or quotes. */
export function interfaceNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'an interface name cannot be empty';
  if (Buffer.byteLength(name) > 15) return `interface name "${name}" is longer than 15 characters (Linux's limit)`;
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name === '.' || name === '..') {
    return `interface name "${name}" may only contain letters, digits, "_", "." and "-"`;
  }
  return undefined;
}

/** A WireGuard key: 32 bytes in base64 (44 characters ending in "="). */
export function isWireguardKey(value: string): boolean {
  return /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(value);
}
