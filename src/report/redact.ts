// Last line of defence: tasks never read private keys, and the fact script strips them
// on the host, but anything printed passes through here too.

const KEY = '[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=';
const PATTERNS: [RegExp, string][] = [
  [new RegExp(`((?:PrivateKey|PresharedKey)\\s*=\\s*)${KEY}`, 'g'), '$1(redacted)'],
  [new RegExp(`((?:private-key|preshared-key)\\s+)${KEY}`, 'g'), '$1(redacted)'],
  [/(-----BEGIN [A-Z ]*PRIVATE KEY-----)[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----)/g, '$1 (redacted) $2'],
];

const knownSecrets = new Set<string>();

/** Values that must never be printed (e.g. an SSH key passphrase taken from the environment). */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) knownSecrets.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  for (const secret of knownSecrets) out = out.split(secret).join('(redacted)');
  return out;
}

/** Redacts every string inside a JSON-able value. */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map(redactDeep) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, redactDeep(inner)])) as T;
  }
  return value;
}
