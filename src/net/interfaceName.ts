// Linux network interface names, as every tool that takes one on its command line reads them.

/** Why `name` cannot be an interface name wgplay passes to ip/wg/wireguard-go, or undefined. */
export function interfaceNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'an interface name cannot be empty';
  if (Buffer.byteLength(name) > 15) return `interface name "${name}" is longer than 15 bytes (Linux's limit)`;
  if (name.startsWith('-')) return `interface name "${name}" starts with "-": wireguard-go and wg would read it as an option`;
  if (name === '.' || name === '..') return `interface name "${name}" is not a name`;
  const allowed = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c === '_' || c === '.' || c === '-';
  if (![...name].every(allowed)) {
    return `interface name "${name}" may only contain letters, digits, "_", "." and "-" (no "/", ":", whitespace or quotes)`;
  }
  return undefined;
}
