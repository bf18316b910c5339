import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { appendFileSync, closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync } from 'node:fs';
import { dirname } from 'node:path';

// OpenSSH's known_hosts format (sshd(8), "SSH_KNOWN_HOSTS FILE FORMAT"):
//
//   [@marker] hostpatterns keytype base64-key [comment]
//
// hostpatterns: a comma list of names, "[name]:port" for ports other than 22,
// wildcards * and ?, negations !pattern; or ONE hashed name "|1|salt|hmac" where
// hmac = HMAC-SHA1(key = salt, data = "name" or "[name]:port"), both base64.
// Markers: @revoked (the key must never be accepted) and @cert-authority (a CA for
// host certificates: ssh2 does not check host certificates, so these lines never
// make a host known).

export interface KnownHostEntry {
  file: string;
  /** 1-based line number. */
  line: number;
  marker?: 'revoked' | 'cert-authority';
  /** The host patterns field as written. */
  hosts: string;
  keyType: string;
  /** The public key blob (SSH wire format). */
  key: Buffer;
}

/** Reads the type name at the start of an SSH public key blob, or undefined. */
export function keyTypeOf(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > blob.length) return undefined;
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** OpenSSH's fingerprint: "SHA256:" + base64 of the blob's SHA-256, without padding. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The name known_hosts records for a host: "name" on port 22, "[name]:port" otherwise. */
export function knownHostName(address: string, port: number): string {
  const name = address.toLowerCase();
  return port === 22 ? name : `[${name}]:${port}`;
}

/** Parses known_hosts text; lines it cannot read are skipped, as OpenSSH does. */
export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const fields = raw.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0]!.startsWith('@')) {
      const m = fields.shift()!;
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else continue;
    }
    if (fields.length < 3) continue;
    const [hosts, keyType, base64] = fields as [string, string, string];
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) continue;
    const key = Buffer.from(base64, 'base64');
    if (keyTypeOf(key) !== keyType) continue;
    entries.push({ file, line: i + 1, marker, hosts, keyType, key });
  }
  return entries;
}

/** The entries of a known_hosts file; none when it does not exist. */
export function readKnownHosts(file: string): KnownHostEntry[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return parseKnownHosts(text, file);
}

function wildcardMatch(pattern: string, text: string): boolean {
  // * and ? only; every other character (brackets included) is literal.
  let re = '^';
  for (const ch of pattern) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`${re}$`, 's').test(text);
}

function hashedMatch(field: string, name: string): boolean {
  const parts = field.split('|');
  // "", "1", salt, hash
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2]!, 'base64');
  const expected = Buffer.from(parts[3]!, 'base64');
  const actual = createHmac('sha1', salt).update(name).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Whether a host patterns field matches `name` ("host" or "[host]:port"). */
export function hostsFieldMatches(field: string, name: string): boolean {
  const host = name.toLowerCase();
  if (field.startsWith('|')) return hashedMatch(field, host);
  let matched = false;
  for (const raw of field.split(',')) {
    if (raw === '') continue;
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).toLowerCase();
    if (wildcardMatch(pattern, host)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

type HostKeyVerdict =
  /** A plain entry for the host has this very key. */
  | { status: 'known'; entry: KnownHostEntry }
  /** The key is marked @revoked. */
  | { status: 'revoked'; entry: KnownHostEntry }
  /** The host is known with a different key of the same type. */
  | { status: 'changed'; entry: KnownHostEntry }
  /**
   * No entry for the host has a key of this type. `others`: entries for the host with
   * keys of other types; `certAuthority`: an @cert-authority line names the host.
   */
  | { status: 'unknown'; others: KnownHostEntry[]; certAuthority: boolean };

/** Checks the key a host presented against known_hosts entries, as OpenSSH does. */
export function checkHostKey(
  entries: KnownHostEntry[],
  address: string,
  port: number,
  key: Buffer,
): HostKeyVerdict {
  const name = knownHostName(address, port);
  const type = keyTypeOf(key);
  // "@revoked: the key must not ever be accepted", whichever hosts the line names.
  const revoked = entries.find((e) => e.marker === 'revoked' && e.key.equals(key));
  if (revoked) return { status: 'revoked', entry: revoked };

  let changed: KnownHostEntry | undefined;
  const others: KnownHostEntry[] = [];
  let certAuthority = false;
  for (const entry of entries) {
    if (entry.marker === 'revoked') continue;
    if (!hostsFieldMatches(entry.hosts, name)) continue;
    if (entry.marker === 'cert-authority') {
      certAuthority = true;
      continue;
    }
    if (entry.key.equals(key)) return { status: 'known', entry };
    if (entry.keyType === type) changed ??= entry;
    else others.push(entry);
  }
  if (changed) return { status: 'changed', entry: changed };
  return { status: 'unknown', others, certAuthority };
}

/** Host key algorithms ssh2 offers, strongest first (ssh2's own default order). */
const HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

function algorithmsFor(keyType: string): string[] {
  return keyType === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [keyType];
}

/**
 * Host key algorithms to offer, those of keys already known for the host first (as
 * OpenSSH does), so a server with several host keys presents the one we know.
 */
export function preferredHostKeyAlgorithms(
  entries: KnownHostEntry[],
  address: string,
  port: number,
): string[] {
  const name = knownHostName(address, port);
  const first: string[] = [];
  for (const e of entries) {
    if (e.marker || !hostsFieldMatches(e.hosts, name)) continue;
    for (const a of algorithmsFor(e.keyType)) {
      if (HOST_KEY_ALGORITHMS.includes(a) && !first.includes(a)) first.push(a);
    }
  }
  return [...first, ...HOST_KEY_ALGORITHMS.filter((a) => !first.includes(a))];
}

/** The known_hosts line for a host's key (plain, not hashed). */
export function knownHostLine(address: string, port: number, key: Buffer): string {
  const type = keyTypeOf(key);
  if (!type) throw new Error('not an SSH public key blob');
  return `${knownHostName(address, port)} ${type} ${key.toString('base64')}`;
}

/**
 * Appends a host's key to a known_hosts file (creating it, and its directory with
 * mode 700, when missing). Synchronous, so two hosts accepted at once cannot
 * interleave their lines.
 */
export function appendKnownHost(file: string, address: string, port: number, key: Buffer): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  let prefix = '';
  try {
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size > 0) {
        const last = Buffer.alloc(1);
        readSync(fd, last, 0, 1, size - 1);
        if (last[0] !== 0x0a) prefix = '\n';
      }
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  appendFileSync(file, `${prefix}${knownHostLine(address, port, key)}\n`, { mode: 0o600 });
}
