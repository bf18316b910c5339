// SshTransport against a real OpenSSH server: Debian's sshd on 127.0.0.1, a random
// high port, its own host key and authorized_keys in a root-only temp directory.
// Nothing outside loopback is contacted; ~/.ssh is not touched (known_hosts files are
// temp files named by wgplay_known_hosts_file).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseInventory, type InventoryHost } from '../../src/inventory/index.js';
import { openTransport, TransportError, type Transport } from '../../src/transport/index.js';

const SSHD = '/usr/sbin/sshd';

let dir = '';
let port = 0;
let sshd: ChildProcess | undefined;
let agent: ChildProcess | undefined;
let sshdLog = '';
let hostFingerprint = '';
let silent: Server | undefined;
let inventoryCount = 0;

/** sshd's privilege separation directory (checked for every connection). */
function ensurePrivsepDir(): void {
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755 });
}

function keygen(file: string, passphrase = ''): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'wgplay-test', '-f', file]);
}

/** Every directory from `path` up to / is root-owned and not group/world-writable. */
function strictModesSafe(path: string): boolean {
  for (let p = path; ; p = dirname(p)) {
    const st = statSync(p);
    if (st.uid !== 0 || (st.mode & 0o022) !== 0) return false;
    if (p === '/') return true;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port: p } = s.address() as { port: number };
      s.close(() => resolve(p));
    });
  });
}

async function waitForListening(child: ChildProcess, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited (${child.exitCode}):\n${sshdLog}`);
    if (/Server listening on 127\.0\.0\.1 port/.test(sshdLog)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not start listening:\n${sshdLog}`);
}

async function startSshd(strictModes: boolean): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    port = await freePort();
    if (port < 1024) continue;
    const config = join(dir, 'sshd_config');
    writeFileSync(
      config,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${join(dir, 'host_ed25519')}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'PermitRootLogin prohibit-password',
        `StrictModes ${strictModes ? 'yes' : 'no'}`,
        'MaxSessions 10',
        'MaxStartups 100',
        'LogLevel INFO',
        // Sessions start root's login shell, and Debian's bash sources ~/.bashrc under
        // sshd: keep the test independent of root's dotfiles (a slow one serialises
        // sessions on a lock).
        `SetEnv HOME=${dir}`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    sshdLog = '';
    const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => {
      sshdLog += d.toString();
    });
    try {
      await waitForListening(child, 10_000);
      sshd = child;
      return;
    } catch (e) {
      if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGTERM');
      if (!/Address already in use|Bind to port/.test(sshdLog) || attempt === 4) throw e;
    }
  }
}

/** An inventory host for the test sshd; `vars` override the defaults. */
function host(vars: Record<string, unknown> = {}): InventoryHost {
  const all = {
    ansible_host: '127.0.0.1',
    ansible_port: port,
    ansible_user: 'root',
    ansible_ssh_private_key_file: join(dir, 'client_ed25519'),
    wgplay_known_hosts_file: join(dir, 'known_hosts'),
    ...vars,
  };
  const lines = Object.entries(all)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `      ${k}: ${JSON.stringify(v)}`);
  const path = join(dir, `inventory-${++inventoryCount}.yaml`);
  const text = ['all:', '  hosts:', '    target:', ...lines, ''].join('\n');
  writeFileSync(path, text);
  return parseInventory(text, path).hosts.get('target')!;
}

async function connectError(promise: Promise<Transport>): Promise<TransportError> {
  try {
    const t = await promise;
    await t.close();
  } catch (e) {
    expect(e).toBeInstanceOf(TransportError);
    return e as TransportError;
  }
  throw new Error('expected the connection to fail');
}

describe('SshTransport against a real sshd', () => {
  beforeAll(async () => {
    ensurePrivsepDir();
    dir = mkdtempSync('/run/wgplay-sshd-'); // mode 700, root-owned
    keygen(join(dir, 'host_ed25519'));
    keygen(join(dir, 'client_ed25519'));
    keygen(join(dir, 'wrong_ed25519'));
    keygen(join(dir, 'encrypted_ed25519'), 'correct horse battery');
    keygen(join(dir, 'agent_ed25519'));
    keygen(join(dir, 'other_ed25519'));
    writeFileSync(
      join(dir, 'authorized_keys'),
      ['client_ed25519', 'encrypted_ed25519', 'agent_ed25519']
        .map((k) => readFileSync(join(dir, `${k}.pub`), 'utf8'))
        .join(''),
      { mode: 0o600 },
    );
    hostFingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'host_ed25519.pub')])
      .toString()
      .split(' ')[1]!;
    await startSshd(strictModesSafe(dir));
    const hostLine = `[127.0.0.1]:${port} ${readFileSync(join(dir, 'host_ed25519.pub'), 'utf8').split(' ').slice(0, 2).join(' ')}`;
    writeFileSync(join(dir, 'known_hosts'), `${hostLine}\n`);
  });

  // Another test on this machine may remove /run/sshd while this one runs.
  beforeEach(ensurePrivsepDir);

  afterAll(async () => {
    silent?.close();
    for (const child of [sshd, agent]) {
      if (child?.pid && child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        process.kill(child.pid, 'SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      }
    }
    if (dir.startsWith('/run/wgplay-sshd-')) rmSync(dir, { recursive: true, force: true });
  });

  it('runs a script in one round trip and reports stdout, stderr and exit code', async () => {
    const t = await openTransport(host());
    try {
      expect(t.roundTrips).toBe(0);
      const r = await t.run('echo "hello from $(id -un)"\necho oops >&2\nexit 3', { label: 'facts' });
      expect(r).toEqual({ stdout: 'hello from root\n', stderr: 'oops\n', code: 3 });
      expect(t.roundTrips).toBe(1);
      // A multi-line script with a heredoc is one command too.
      const r2 = await t.run('set -e\ncat <<EOF\na $((1 + 2))\nEOF\nfor i in 1 2; do echo "$i"; done\n');
      expect(r2.stdout).toBe('a 3\n1\n2\n');
      expect(r2.code).toBe(0);
      expect(t.roundTrips).toBe(2);
    } finally {
      await t.close();
    }
  });

  it('runs 20 scripts at once over one connection, at most 8 channels open', async () => {
    const t = await openTransport(host());
    const slots = join(dir, 'slots');
    mkdirSync(slots, { recursive: true });
    try {
      const script = (i: number) =>
        `touch ${slots}/$$; n=$(ls ${slots} | wc -l); sleep 0.3; rm ${slots}/$$; echo "${i} $n"`;
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => t.run(script(i))));
      expect(results.map((r) => r.code)).toEqual(Array(20).fill(0));
      expect(results.map((r) => Number(r.stdout.split(' ')[0]))).toEqual([...Array(20).keys()]);
      const peak = Math.max(...results.map((r) => Number(r.stdout.trim().split(' ')[1])));
      expect(peak).toBeLessThanOrEqual(8);
      expect(peak).toBeGreaterThan(1);
      expect(t.roundTrips).toBe(20);
      // sshd logs one "Accepted publickey" per connection.
      expect(sshdLog.match(/Accepted publickey/g)?.length ?? 0).toBeGreaterThan(0);
    } finally {
      await t.close();
    }
  });

  it('adapts when the server allows fewer sessions than maxChannels', async () => {
    // sshd allows 10 sessions per connection: with 20 channels allowed, the refused
    // ones wait for a free session instead of failing.
    const t = await openTransport(host(), { maxChannels: 20 });
    try {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => t.run(`sleep 0.3; echo ${i}`)));
      expect(results.map((r) => r.stdout)).toEqual([...Array(20).keys()].map((i) => `${i}\n`));
      expect(t.roundTrips).toBe(20);
    } finally {
      await t.close();
    }
  });

  it('refuses an unknown host key, naming the host and its SHA256 fingerprint', async () => {
    const file = join(dir, 'empty_known_hosts');
    writeFileSync(file, '# nothing known yet\n');
    const e = await connectError(openTransport(host({ wgplay_known_hosts_file: file })));
    expect(e.kind).toBe('hostkey');
    expect(e.host).toBe('target');
    expect(hostFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(e.message).toContain(hostFingerprint);
    expect(e.message).toContain(`[127.0.0.1]:${port}`);
    expect(e.message).toContain('accept-new');
    expect(e.message).toContain('ssh-keyscan');
    expect(readFileSync(file, 'utf8')).toBe('# nothing known yet\n');
  });

  it('accept-new records the key of a new host, then strict accepts it', async () => {
    const file = join(dir, 'new', 'known_hosts');
    const t = await openTransport(host({ wgplay_known_hosts_file: file, wgplay_host_key_policy: 'accept-new' }));
    expect((await t.run('echo ok')).stdout).toBe('ok\n');
    await t.close();
    const recorded = readFileSync(file, 'utf8');
    const pub = readFileSync(join(dir, 'host_ed25519.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    expect(recorded).toBe(`[127.0.0.1]:${port} ${pub}\n`);
    // OpenSSH's own parser agrees with the line.
    const found = execFileSync('ssh-keygen', ['-F', `[127.0.0.1]:${port}`, '-f', file]).toString();
    expect(found).toContain('ssh-ed25519');
    const t2 = await openTransport(host({ wgplay_known_hosts_file: file }));
    expect((await t2.run('echo again')).stdout).toBe('again\n');
    await t2.close();
    expect(readFileSync(file, 'utf8')).toBe(recorded);
  });

  it('refuses a changed host key, even with accept-new, naming the old entry', async () => {
    const file = join(dir, 'changed_known_hosts');
    const other = readFileSync(join(dir, 'other_ed25519.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(file, `# old keys\nexample.org ${other}\n[127.0.0.1]:${port} ${other}\n`);
    for (const policy of ['strict', 'accept-new']) {
      const e = await connectError(
        openTransport(host({ wgplay_known_hosts_file: file, wgplay_host_key_policy: policy })),
      );
      expect(e.kind).toBe('hostkey');
      expect(e.message).toContain('HOST KEY CHANGED');
      expect(e.message).toContain(`${file}:3`);
      expect(e.message).toContain(hostFingerprint);
    }
    expect(readFileSync(file, 'utf8').split('\n')).toHaveLength(4);
  });

  it('accepts a hashed known_hosts entry (ssh-keygen -H)', async () => {
    const file = join(dir, 'hashed_known_hosts');
    writeFileSync(file, readFileSync(join(dir, 'known_hosts')));
    execFileSync('ssh-keygen', ['-q', '-H', '-f', file], { stdio: 'ignore' });
    const text = readFileSync(file, 'utf8');
    expect(text.startsWith('|1|')).toBe(true);
    expect(text).not.toContain('127.0.0.1');
    const t = await openTransport(host({ wgplay_known_hosts_file: file }));
    expect((await t.run('echo hashed')).stdout).toBe('hashed\n');
    await t.close();
  });

  it('reports a key the server does not accept as an auth error', async () => {
    const key = join(dir, 'wrong_ed25519');
    const e = await connectError(openTransport(host({ ansible_ssh_private_key_file: key })));
    expect(e.kind).toBe('auth');
    expect(e.message).toContain('authentication as "root"');
    expect(e.message).toContain(key);
    expect(e.message).not.toContain('PRIVATE KEY');
  });

  it('uses an encrypted key with WGPLAY_SSH_KEY_PASSPHRASE, never showing it', async () => {
    const key = join(dir, 'encrypted_ed25519');
    const h = host({ ansible_ssh_private_key_file: key });
    const missing = await connectError(openTransport(h, { env: {} }));
    expect(missing.kind).toBe('auth');
    expect(missing.message).toContain('encrypted');
    expect(missing.message).toContain('WGPLAY_SSH_KEY_PASSPHRASE');
    const wrong = await connectError(openTransport(h, { env: { WGPLAY_SSH_KEY_PASSPHRASE: 'not it' } }));
    expect(wrong.kind).toBe('auth');
    expect(wrong.message).not.toContain('not it');
    const t = await openTransport(h, { env: { WGPLAY_SSH_KEY_PASSPHRASE: 'correct horse battery' } });
    expect((await t.run('echo unlocked')).stdout).toBe('unlocked\n');
    await t.close();
  });

  it('authenticates with ssh-agent when no key file is given', async () => {
    const sock = join(dir, 'agent.sock');
    agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
    execFileSync('ssh-add', ['-q', join(dir, 'agent_ed25519')], {
      env: { ...process.env, SSH_AUTH_SOCK: sock },
      stdio: 'ignore',
    });
    const t = await openTransport(host({ ansible_ssh_private_key_file: undefined }), {
      env: { SSH_AUTH_SOCK: sock },
    });
    expect((await t.run('echo agent')).stdout).toBe('agent\n');
    await t.close();
  });

  it('reports a closed port as unreachable', async () => {
    const closed = await freePort();
    const e = await connectError(openTransport(host({ ansible_port: closed })));
    expect(e.kind).toBe('unreachable');
    expect(e.message).toContain('connection refused');
    expect(e.message).toContain(`127.0.0.1:${closed}`);
  });

  it('reports a silent server as unreachable after the connect timeout', async () => {
    silent = createServer(() => {
      // accepts, never speaks SSH
    });
    await new Promise<void>((r) => silent!.listen(0, '127.0.0.1', () => r()));
    const silentPort = (silent.address() as { port: number }).port;
    const e = await connectError(openTransport(host({ ansible_port: silentPort }), { connectTimeoutMs: 500 }));
    expect(e.kind).toBe('unreachable');
    expect(e.message).toContain('0.5 s');
  });

  it('kills a command that outlives its timeout, and the connection still works', async () => {
    const t = await openTransport(host());
    try {
      const e = await t.run('sleep 31.25; echo done', { timeoutMs: 500, label: 'apply' }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(TransportError);
      expect(e).toMatchObject({ kind: 'timeout', host: 'target' });
      expect((e as Error).message).toContain('apply');
      expect((e as Error).message).toContain('host target');
      expect((await t.run('echo still here')).stdout).toBe('still here\n');
      // The script's children died with it.
      let left = '';
      for (let i = 0; i < 20; i++) {
        left = execFileSync('bash', ['-c', 'ps -eo args | grep "^[s]leep 31.25" || true']).toString();
        if (left === '') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(left).toBe('');
      expect(t.roundTrips).toBe(2);
    } finally {
      await t.close();
    }
  });

  it('fails runs after close with a clear error', async () => {
    const t = await openTransport(host());
    await t.close();
    await expect(t.run('true')).rejects.toMatchObject({ kind: 'command' });
  });

  it('appends to a known_hosts file that lacks a final newline', async () => {
    const file = join(dir, 'no_newline_known_hosts');
    const other = readFileSync(join(dir, 'other_ed25519.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(file, `example.org ${other}`);
    const t = await openTransport(host({ wgplay_known_hosts_file: file, wgplay_host_key_policy: 'accept-new' }));
    await t.close();
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines[0]).toBe(`example.org ${other}`);
    expect(lines[1]).toMatch(new RegExp(`^\\[127\\.0\\.0\\.1\\]:${port} ssh-ed25519 `));
  });
});
