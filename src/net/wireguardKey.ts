// WireGuard keys: 32 bytes in base64, 44 characters ending in "=".

/** The last character before "=" carries only 4 bits: one of these 16. */
const LAST = 'AEIMQUYcgkosw048';
const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function isWireguardKey(value: string): boolean {
  return value.length === 44 && value.endsWith('=') && LAST.includes(value[42]!) && [...value.slice(0, 42)].every((c) => BASE64.includes(c));
}

/**
 * Anything shaped like a WireGuard key (or most of one: a tool's error may cut it),
 * for scrubbing tools' error output before it reaches a report: 32 or more base64
 * characters in a row, and whatever wg quotes as a key it could not read.
 */
const KEY_LIKE = /[A-Za-z0-9+/]{32,}={0,2}/g;
const WG_BAD_KEY = /(Key is not the correct length or format: `)[^'\n]*'/g;

/** Tool output with everything key-shaped replaced by "(redacted)". */
export function scrubKeys(text: string): string {
  return text.replace(WG_BAD_KEY, "$1(redacted)'").replace(KEY_LIKE, '(redacted)');
}

/**
 * Does this text hold a WireGuard private or preshared key? A wg-quick file's
 * PrivateKey/PresharedKey line, or a key file (a line that is a key and nothing else).
 * Public keys after "PublicKey =" are not secret. The fact script runs the same test on
 * the host (HOLDS_KEY_ERE) before it would send a file's content for a diff.
 */
export function holdsPrivateKey(text: string): boolean {
  return HOLDS_KEY.test(text);
}

const HOLDS_KEY = /^[ \t]*(?:PrivateKey|PresharedKey)[ \t]*=|^[ \t]*[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=[ \t]*$/im;

/** The same test for `grep -qiE` on the host. */
export const HOLDS_KEY_ERE = "^[[:blank:]]*(PrivateKey|PresharedKey)[[:blank:]]*=|^[[:blank:]]*[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=[[:blank:]]*$";
