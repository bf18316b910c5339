import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WgplayError } from '../../src/errors.js';
import { parseInventory } from '../../src/inventory/index.js';
import type { ConnectionSettings } from '../../src/inventory/index.js';
import { remoteTimedOut, sudoRefusal } from '../../src/transport/common.js';
import {
  appendKnownHost,
  checkHostKey,
  fingerprint,
  hostsFieldMatches,
  keyTypeOf,
  knownHostLine,
  knownHostName,
  LocalTransport,
  openTransport,
  parseKnownHosts,
  preferredHostKeyAlgorithms,
  readKnownHosts,
  remoteCommand,
  TransportError,
} from '../../src/transport/index.js';

let dir = '';

interface Key {
  type: string;
  base64: string;
  blob: Buffer;
  /** ssh-keygen's own SHA256 fingerprint. */
  fingerprint: string;
}

function makeKey(name: string, type: 'ed25519' | 'ecdsa' | 'rsa'): Key {
  const file = join(dir, name);
  const bits = type === 'rsa' ? ['-b', '2048'] : [];
  execFileSync('ssh-keygen', ['-q', '-t', type, ...bits, '-N', '', '-C', name, '-f', file]);
  const [keyType, base64] = readFileSync(`${file}.pub`, 'utf8').split(' ') as [string, string];
  const fp = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`]).toString().split(' ')[1]!;
  return { type: keyType, base64, blob: Buffer.from(base64, 'base64'), fingerprint: fp };
}

let ed: Key;
let ed2: Key;
let ecdsa: Key;
let rsa: Key;

describe('known_hosts', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wgplay-kh-'));
    ed = makeKey('ed', 'ed25519');
    ed2 = makeKey('ed2', 'ed25519');
    ecdsa = makeKey('ecdsa', 'ecdsa');
    rsa = makeKey('rsa', 'rsa');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('computes fingerprints as OpenSSH does', () => {
    for (const key of [ed, ecdsa, rsa]) {
      expect(fingerprint(key.blob)).toBe(key.fingerprint);
      expect(fingerprint(key.blob)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    }
    expect(keyTypeOf(ed.blob)).toBe('ssh-ed25519');
    expect(keyTypeOf(ecdsa.blob)).toBe('ecdsa-sha2-nistp256');
    expect(keyTypeOf(rsa.blob)).toBe('ssh-rsa');
    expect(keyTypeOf(Buffer.from('xx'))).toBeUndefined();
  });

  it('parses lines, markers and line numbers, skipping what it cannot read', () => {
    const text = [
      '# comment',
      '',
      `gw1,192.0.2.1 ${ed.type} ${ed.base64} a comment`,
      `@revoked * ${ed2.type} ${ed2.base64}`,
      `@cert-authority *.example.com ${ecdsa.type} ${ecdsa.base64}`,
      `@bogus gw ${ed.type} ${ed.base64}`,
      'gw2 ssh-ed25519 not-base64!',
      `gw3 ssh-rsa ${ed.base64}`,
      'gw4 1024 35 1234567', // SSH1 RSA
      `   [gw5]:2222\t${rsa.type}   ${rsa.base64}  `,
    ].join('\n');
    const entries = parseKnownHosts(text, 'kh');
    expect(entries.map((e) => [e.line, e.marker, e.hosts, e.keyType])).toEqual([
      [3, undefined, 'gw1,192.0.2.1', 'ssh-ed25519'],
      [4, 'revoked', '*', 'ssh-ed25519'],
      [5, 'cert-authority', '*.example.com', 'ecdsa-sha2-nistp256'],
      [10, undefined, '[gw5]:2222', 'ssh-rsa'],
    ]);
    expect(entries[0]!.key.equals(ed.blob)).toBe(true);
    expect(entries[0]!.file).toBe('kh');
  });

  it('matches plain names, comma lists and [host]:port', () => {
    expect(knownHostName('GW.example.com', 22)).toBe('gw.example.com');
    expect(knownHostName('192.0.2.1', 2222)).toBe('[192.0.2.1]:2222');
    expect(hostsFieldMatches('gw1,192.0.2.1', 'gw1')).toBe(true);
    expect(hostsFieldMatches('gw1,192.0.2.1', '192.0.2.1')).toBe(true);
    expect(hostsFieldMatches('gw1,192.0.2.1', 'gw2')).toBe(false);
    expect(hostsFieldMatches('GW1', 'gw1')).toBe(true);
    // a port-22 entry does not cover another port, and the reverse
    expect(hostsFieldMatches('192.0.2.1', '[192.0.2.1]:2222')).toBe(false);
    expect(hostsFieldMatches('[192.0.2.1]:2222', '[192.0.2.1]:2222')).toBe(true);
    expect(hostsFieldMatches('[192.0.2.1]:2222', '192.0.2.1')).toBe(false);
    expect(hostsFieldMatches('[192.0.2.1]:22', '192.0.2.1')).toBe(false);
  });

  it('matches wildcards and negations', () => {
    expect(hostsFieldMatches('*.example.com', 'gw.example.com')).toBe(true);
    expect(hostsFieldMatches('*.example.com', 'example.com')).toBe(false);
    expect(hostsFieldMatches('gw?', 'gw7')).toBe(true);
    expect(hostsFieldMatches('*.example.com,!bad.example.com', 'bad.example.com')).toBe(false);
    expect(hostsFieldMatches('!bad.example.com,*.example.com', 'ok.example.com')).toBe(true);
    expect(hostsFieldMatches('[*.example.com]:2222', '[gw.example.com]:2222')).toBe(true);
    expect(hostsFieldMatches('gw.example.com', 'gwxexample.com')).toBe(false);
  });

  it('matches hashed entries written by ssh-keygen -H', () => {
    const file = join(dir, 'hashed');
    writeFileSync(
      file,
      [`gw.example.com ${ed.type} ${ed.base64}`, `[192.0.2.9]:2222 ${ecdsa.type} ${ecdsa.base64}`, ''].join('\n'),
    );
    execFileSync('ssh-keygen', ['-q', '-H', '-f', file], { stdio: 'ignore' });
    const entries = readKnownHosts(file);
    expect(entries).toHaveLength(2);
    for (const e of entries) expect(e.hosts).toMatch(/^\|1\|[A-Za-z0-9+/=]+\|[A-Za-z0-9+/=]+$/);
    expect(checkHostKey(entries, 'gw.example.com', 22, ed.blob).status).toBe('known');
    expect(checkHostKey(entries, 'GW.EXAMPLE.COM', 22, ed.blob).status).toBe('known');
    expect(checkHostKey(entries, '192.0.2.9', 2222, ecdsa.blob).status).toBe('known');
    expect(checkHostKey(entries, '192.0.2.9', 22, ecdsa.blob).status).toBe('unknown');
    expect(checkHostKey(entries, 'other.example.com', 22, ed.blob).status).toBe('unknown');
    const changed = checkHostKey(entries, 'gw.example.com', 22, ed2.blob);
    expect(changed).toMatchObject({ status: 'changed', entry: { line: 1, file } });
  });

  it('matches a hashed entry made here the same way', () => {
    const salt = randomBytes(20);
    const hash = createHmac('sha1', salt).update('[gw]:2200').digest();
    const field = `|1|${salt.toString('base64')}|${hash.toString('base64')}`;
    expect(hostsFieldMatches(field, '[gw]:2200')).toBe(true);
    expect(hostsFieldMatches(field, 'gw')).toBe(false);
    expect(hostsFieldMatches('|2|abc|def', 'gw')).toBe(false);
  });

  it('tells known, changed, unknown and revoked keys apart', () => {
    const entries = parseKnownHosts(
      [
        `other ${ed2.type} ${ed2.base64}`,
        `gw1 ${ed2.type} ${ed2.base64}`,
        `gw1 ${ed.type} ${ed.base64}`,
        `gw2 ${ed2.type} ${ed2.base64}`,
        `gw3 ${ecdsa.type} ${ecdsa.base64}`,
        `@cert-authority *.ca.example ${rsa.type} ${rsa.base64}`,
        `@revoked nothing-matches ${rsa.type} ${rsa.base64}`,
      ].join('\n'),
      'kh',
    );
    // one matching line with the same key is enough, as in OpenSSH
    expect(checkHostKey(entries, 'gw1', 22, ed.blob)).toMatchObject({ status: 'known', entry: { line: 3 } });
    expect(checkHostKey(entries, 'gw2', 22, ed.blob)).toMatchObject({ status: 'changed', entry: { line: 4 } });
    const other = checkHostKey(entries, 'gw3', 22, ed.blob);
    expect(other).toMatchObject({ status: 'unknown', certAuthority: false });
    expect(other.status === 'unknown' && other.others.map((e) => e.line)).toEqual([5]);
    expect(checkHostKey(entries, 'gw4', 22, ed.blob)).toEqual({ status: 'unknown', others: [], certAuthority: false });
    expect(checkHostKey(entries, 'x.ca.example', 22, ed.blob)).toMatchObject({ status: 'unknown', certAuthority: true });
    // @revoked refuses the key whatever hosts the line names
    expect(checkHostKey(entries, 'gw9', 22, rsa.blob)).toMatchObject({ status: 'revoked', entry: { line: 7 } });
  });

  it('offers the host key algorithms of known keys first', () => {
    const entries = parseKnownHosts(
      [`gw1 ${ecdsa.type} ${ecdsa.base64}`, `gw2 ${rsa.type} ${rsa.base64}`, `gw2 ${ed.type} ${ed.base64}`].join('\n'),
      'kh',
    );
    expect(preferredHostKeyAlgorithms(entries, 'gw1', 22).slice(0, 2)).toEqual(['ecdsa-sha2-nistp256', 'ssh-ed25519']);
    expect(preferredHostKeyAlgorithms(entries, 'gw2', 22).slice(0, 4)).toEqual([
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
      'ssh-ed25519',
    ]);
    const none = preferredHostKeyAlgorithms(entries, 'gw3', 22);
    expect(none[0]).toBe('ssh-ed25519');
    expect(new Set(none).size).toBe(none.length);
  });

  it('appends lines OpenSSH reads, creating the file and fixing a missing newline', () => {
    const file = join(dir, 'sub', 'dir', 'known_hosts');
    appendKnownHost(file, '192.0.2.1', 2222, ed.blob);
    expect(statSync(join(dir, 'sub', 'dir')).mode & 0o777).toBe(0o700);
    expect(readFileSync(file, 'utf8')).toBe(`[192.0.2.1]:2222 ${ed.type} ${ed.base64}\n`);
    writeFileSync(file, `gw ${ecdsa.type} ${ecdsa.base64}`);
    appendKnownHost(file, 'GW.example.com', 22, ed.blob);
    expect(readFileSync(file, 'utf8')).toBe(
      `gw ${ecdsa.type} ${ecdsa.base64}\n${knownHostLine('gw.example.com', 22, ed.blob)}\n`,
    );
    const found = execFileSync('ssh-keygen', ['-F', 'gw.example.com', '-f', file]).toString();
    expect(found).toContain(ed.base64);
  });

  it('reads a missing known_hosts file as empty', () => {
    expect(readKnownHosts(join(dir, 'does-not-exist'))).toEqual([]);
  });
});

describe('remote command', () => {
  it('runs bash -s, through sudo -n only for become as another user than root', () => {
    expect(remoteCommand({ become: false, user: 'admin' })).toBe('bash -s');
    expect(remoteCommand({ become: true, user: 'root' })).toBe('bash -s');
    expect(remoteCommand({ become: true, user: 'admin' })).toBe('sudo -n -- env SSH_CONNECTION="$SSH_CONNECTION" bash -s');
  });

  it('puts the script under coreutils timeout when it has a deadline', () => {
    const cmd = remoteCommand({ become: false, user: 'root' }, 1500);
    expect(cmd).toBe(
      `sh -c 'if command -v timeout >/dev/null 2>&1; then exec timeout -k 3 "$0" bash -s; else exec bash -s; fi' 1.5`,
    );
    expect(remoteCommand({ become: true, user: 'ops' }, 600_000)).toMatch(/^sudo -n -- env SSH_CONNECTION="\$SSH_CONNECTION" sh -c '.*' 600$/);
  });

  it('the wrapped command really runs a script from stdin and keeps its exit code', () => {
    const cmd = remoteCommand({ become: false, user: 'root' }, 5000);
    const out = execFileSync('bash', ['-c', `${cmd}; echo "status $?"`], { input: 'echo hi; (exit 7)\n' }).toString();
    expect(out).toBe('hi\nstatus 7\n');
  });

  it('recognises the remote timeout only past the deadline', () => {
    const r = { stdout: '', stderr: '', code: 124 };
    expect(remoteTimedOut(r, 1000, 500)).toBe(true);
    expect(remoteTimedOut(r, 100, 500)).toBe(false);
    expect(remoteTimedOut({ ...r, code: 0 }, 1000, 500)).toBe(false);
    expect(remoteTimedOut({ ...r, code: -1, signal: 'KILL' }, 1000, 500)).toBe(true);
    expect(remoteTimedOut(r, 1000, 0)).toBe(false);
  });

  it('explains sudo asking for a password', () => {
    const r = { stdout: '', stderr: 'sudo: a password is required\n', code: 1 };
    expect(sudoRefusal(true, 'ops', r)).toContain('passwordless sudo (NOPASSWD)');
    expect(sudoRefusal(false, 'ops', r)).toBeUndefined();
    expect(sudoRefusal(true, 'root', r)).toBeUndefined();
    expect(sudoRefusal(true, 'ops', { ...r, code: 0 })).toBeUndefined();
  });
});

describe('TransportError', () => {
  it('is a WgplayError naming the host, with a kind', () => {
    const e = new TransportError('unreachable', 'gw1', 'connection refused by 192.0.2.1:22');
    expect(e).toBeInstanceOf(WgplayError);
    expect(e.kind).toBe('unreachable');
    expect(e.host).toBe('gw1');
    expect(e.problems).toEqual([{ where: 'host gw1', message: 'connection refused by 192.0.2.1:22' }]);
    expect(e.message).toBe('host gw1: connection refused by 192.0.2.1:22');
  });
});

describe('LocalTransport', () => {
  const settings = { host: 'here', become: false };

  it('runs a script with bash -s, one round trip each', async () => {
    const t = new LocalTransport(settings);
    const r = await t.run('echo "$0"; echo err >&2; read -r x || true; exit 5');
    expect(r).toEqual({ stdout: 'bash\n', stderr: 'err\n', code: 5 });
    expect((await t.run('printf %s "$((6 * 7))"')).stdout).toBe('42');
    expect(t.roundTrips).toBe(2);
    await t.close();
    await expect(t.run('true')).rejects.toMatchObject({ kind: 'command' });
  });

  it('runs scripts concurrently', async () => {
    const t = new LocalTransport(settings);
    // Each script waits until all ten have started: run one after another, none would see the rest.
    const barrier = mkdtempSync(join(tmpdir(), 'wgplay-barrier-'));
    const script = (i: number) =>
      `touch ${barrier}/${i}; for _ in $(seq 200); do [ "$(ls ${barrier} | wc -l)" -ge 10 ] && break; sleep 0.05; done; ` +
      `[ "$(ls ${barrier} | wc -l)" -ge 10 ] && echo ${i}`;
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => t.run(script(i))));
    rmSync(barrier, { recursive: true, force: true });
    expect(results.map((r) => r.stdout)).toEqual([...Array(10).keys()].map((i) => `${i}\n`));
    expect(t.roundTrips).toBe(10);
  });

  it('kills a script and its children at the timeout', async () => {
    const t = new LocalTransport(settings);
    const marker = `sleep 30.${process.pid}`;
    const e = await t.run(`${marker} & wait`, { timeoutMs: 300, label: 'facts' }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(TransportError);
    expect(e).toMatchObject({ kind: 'timeout', host: 'here' });
    expect((e as Error).message).toBe('host here: facts did not finish within 0.3 s; it was killed');
    await new Promise((r) => setTimeout(r, 200));
    const left = execFileSync('bash', ['-c', `ps -eo args | grep -c '^${marker}' || true`]).toString().trim();
    expect(left).toBe('0');
  });

  it('is what openTransport gives for ansible_connection: local', async () => {
    const inv = parseInventory('all:\n  hosts:\n    box:\n      ansible_connection: local\n', 'i.yaml');
    const t = await openTransport(inv.hosts.get('box')!);
    expect(t).toBeInstanceOf(LocalTransport);
    expect(t.host).toBe('box');
    expect((await t.run('echo ok')).stdout).toBe('ok\n');
    await t.close();
  });
});

describe('openTransport credentials', () => {
  const base: ConnectionSettings = {
    host: 'gw1',
    kind: 'ssh',
    address: '127.0.0.1',
    port: 9, // never contacted: credentials are checked first
    user: 'root',
    become: false,
    becomeUser: 'root',
    knownHostsFile: '/nonexistent/known_hosts',
    hostKeyPolicy: 'strict',
  };

  it('says which key file is missing', async () => {
    await expect(openTransport({ ...base, privateKeyFile: '/nonexistent/id_ed25519' })).rejects.toMatchObject({
      kind: 'auth',
      message: 'host gw1: cannot read private key file /nonexistent/id_ed25519 (ansible_ssh_private_key_file): no such file',
    });
  });

  it('asks for WGPLAY_SSH_KEY_PASSPHRASE for an encrypted key, never showing secrets', async () => {
    const keyDir = mkdtempSync(join(tmpdir(), 'wgplay-key-'));
    try {
      const key = join(keyDir, 'id');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'pass phrase 1', '-f', key]);
      const missing = await openTransport({ ...base, privateKeyFile: key }, { env: {} }).catch((e: unknown) => e);
      expect(missing).toMatchObject({ kind: 'auth' });
      expect((missing as Error).message).toContain('is encrypted: set WGPLAY_SSH_KEY_PASSPHRASE');
      const wrong = await openTransport(
        { ...base, privateKeyFile: key },
        { env: { WGPLAY_SSH_KEY_PASSPHRASE: 'nope nope' } },
      ).catch((e: unknown) => e);
      expect(wrong).toMatchObject({ kind: 'auth' });
      expect((wrong as Error).message).toContain('wrong passphrase?');
      expect((wrong as Error).message).not.toContain('nope nope');
      const pub = await openTransport({ ...base, privateKeyFile: `${key}.pub` }, { env: {} }).catch((e: unknown) => e);
      expect(pub).toMatchObject({ kind: 'auth' });
      expect((pub as Error).message).not.toContain(readFileSync(`${key}.pub`, 'utf8').split(' ')[1]!);
    } finally {
      rmSync(keyDir, { recursive: true, force: true });
    }
  });
});
