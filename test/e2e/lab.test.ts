// The lab layer itself: disposable namespace hosts (sshd, private /etc, isolation,
// cleanup) and the seed topology. Needs root; runs in seconds.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { runLabCommand } from '../../src/cli/lab.js';
import { pidAlive } from '../../src/lab/exec.js';
import { linkExists, listNetns } from '../../src/lab/namespaceHost.js';
import { LAB, SEED_CUSTOMER_KEYS, SeedLab } from '../../src/lab/seedLab.js';
import { startTestHost, startTestSeedLab, type TestHost, type TestSeedLab, type TestSsh } from './harness.js';

const run = promisify(execFile);

async function sshRun(ssh: TestSsh, command: string, knownHostsPath = ssh.knownHostsPath) {
  return run(
    'ssh',
    [
      '-F', '/dev/null',
      '-i', ssh.privateKeyPath,
      '-o', 'IdentitiesOnly=yes',
      '-o', `UserKnownHostsFile=${knownHostsPath}`,
      '-o', 'StrictHostKeyChecking=yes',
      '-o', 'BatchMode=yes',
      '-o', 'ConnectTimeout=5',
      '-p', String(ssh.port),
      `${ssh.user}@${ssh.host}`,
      command,
    ],
    { timeout: 15_000 },
  );
}

async function rootWg(args: string[]): Promise<string> {
  try {
    return (await run('wg', args)).stdout;
  } catch (e) {
    return String((e as { stdout?: string }).stdout ?? '');
  }
}


describe('namespace test hosts', () => {
  let h1: TestHost | undefined;
  let h2: TestHost | undefined;

  beforeAll(async () => {
    const [a, b] = await Promise.allSettled([startTestHost({ name: 'one' }), startTestHost({ name: 'two' })]);
    if (a.status === 'fulfilled') h1 = a.value;
    if (b.status === 'fulfilled') h2 = b.value;
    if (a.status === 'rejected') throw a.reason;
    if (b.status === 'rejected') throw b.reason;
  });
  afterAll(async () => {
    await Promise.allSettled([h1?.destroy(), h2?.destroy()]);
  });

  it('runs sshd that accepts the client key and is pinned by known_hosts', async () => {
    const { stdout } = await sshRun(h1!.ssh, 'hostname; id -u; echo $HOME');
    expect(stdout.split('\n').slice(0, 3)).toEqual(['one', '0', '/root']);
    expect(statSync(h1!.ssh.privateKeyPath).mode & 0o777).toBe(0o600);
    expect(readFileSync(h1!.ssh.knownHostsPath, 'utf8')).toMatch(new RegExp(`^${h1!.ssh.host.replace(/\./g, '\\.')} ssh-ed25519 AAAA`));
    // Another host's key in known_hosts: the client must refuse.
    await expect(sshRun(h1!.ssh, 'true', h2!.ssh.knownHostsPath)).rejects.toThrow(/Host key verification failed|REMOTE HOST IDENTIFICATION/);
  });

  it('writes an Ansible-style inventory', () => {
    const path = h1!.writeInventory();
    const inv = parse(readFileSync(path, 'utf8'));
    expect(inv).toEqual({
      all: {
        hosts: {
          one: {
            ansible_host: h1!.ssh.host,
            ansible_port: 22,
            ansible_user: 'root',
            ansible_ssh_private_key_file: h1!.ssh.privateKeyPath,
            wgplay_known_hosts_file: h1!.ssh.knownHostsPath,
          },
        },
      },
    });
  });

  it('keeps /etc, /var/lib, /root and /run writes inside the host', async () => {
    const realNft = existsSync('/etc/nftables.conf') ? sha(readFileSync('/etc/nftables.conf')) : undefined;
    await h1!.run(`
      mkdir -p /etc/wireguard /etc/sysctl.d
      echo secret > /etc/wireguard/wgt-proof.conf
      echo 'net.ipv4.ip_forward = 1' > /etc/sysctl.d/99-wgt-proof.conf
      echo 'flush ruleset # wgt-proof' > /etc/nftables.conf
      echo x > /var/lib/wgt-proof
      echo x > /root/wgt-proof
      echo x > /run/wgt-proof
    `);
    // Visible inside the host (also over SSH)...
    expect((await sshRun(h1!.ssh, 'cat /etc/wireguard/wgt-proof.conf')).stdout).toBe('secret\n');
    expect(await h1!.run('cat /etc/nftables.conf')).toContain('wgt-proof');
    // ...never on the machine nor in another host.
    for (const p of ['/etc/wireguard/wgt-proof.conf', '/etc/sysctl.d/99-wgt-proof.conf', '/var/lib/wgt-proof', '/root/wgt-proof', '/run/wgt-proof']) {
      expect(existsSync(p), p).toBe(false);
    }
    expect(existsSync('/etc/nftables.conf') ? sha(readFileSync('/etc/nftables.conf')) : undefined).toBe(realNft);
    expect((await h2!.exec('cat /etc/wireguard/wgt-proof.conf')).code).not.toBe(0);
    expect(await h2!.run('cat /etc/nftables.conf 2>/dev/null || true')).not.toContain('wgt-proof');
    expect(await h1!.run('stat -c %a /root; ls -A /root')).toMatch(/^700\n/);
  });

  it("starts every host with an empty /var/lib/wgplay, whatever the machine's holds", async () => {
    // A record only this test writes (and removes) in the machine's /var/lib/wgplay.
    const madeFolder = !existsSync('/var/lib/wgplay');
    const planted = `/var/lib/wgplay/wgt-leak-${process.pid}.json`;
    mkdirSync('/var/lib/wgplay', { recursive: true, mode: 0o700 });
    writeFileSync(planted, '{"customers":{"stale":{}}}\n');
    let fresh: TestHost | undefined;
    try {
      fresh = await startTestHost({ name: 'varlib' });
      expect(await fresh.run('ls -A /var/lib/wgplay')).toBe('');
      await fresh.run('echo x > /var/lib/wgplay/gateway-proof.json');
      expect(await fresh.run('ls -A /var/lib/wgplay')).toBe('gateway-proof.json\n');
      expect(existsSync('/var/lib/wgplay/gateway-proof.json')).toBe(false);
      // The rest of /var/lib is still the machine's (dpkg's status, for one).
      expect(await fresh.run('test -e /var/lib/dpkg/status && echo yes')).toBe('yes\n');
    } finally {
      await fresh?.destroy();
      rmSync(planted, { force: true });
      // (Another run's record may be there by now: then the folder stays.)
      if (madeFolder) {
        try {
          rmdirSync('/var/lib/wgplay');
        } catch {
          /* not empty */
        }
      }
    }
  });

  it('isolates WireGuard interfaces (wireguard-go) per host', async () => {
    await h1!.run('wireguard-go wgt0 2>/dev/null; wg set wgt0 listen-port 51999 private-key <(wg genkey); ip link set dev wgt0 up');
    expect((await h1!.run('wg show interfaces')).trim()).toBe('wgt0');
    expect(await h1!.run('wg show wgt0 listen-port')).toBe('51999\n');
    expect((await h2!.run('wg show interfaces')).trim()).toBe('');
    expect((await h2!.exec('ip link show dev wgt0')).code).not.toBe(0);
    expect((await rootWg(['show', 'interfaces'])).split(/\s+/)).not.toContain('wgt0');
    expect(await linkExists('wgt0')).toBe(false);
    expect(existsSync('/run/wireguard/wgt0.sock')).toBe(false);
  });

  it('destroy() leaves no namespace, veth, process or state behind (and is idempotent)', async () => {
    const h = await startTestHost({ name: 'gone' });
    let pids: number[];
    try {
      await h.run('wireguard-go wgt1 2>/dev/null; sleep 300 >/dev/null 2>&1 & disown');
      pids = await h.host.pids();
      expect(pids.length).toBeGreaterThanOrEqual(4); // holder, sshd, wireguard-go, sleep
      expect(await linkExists(h.host.mgmt!.rootIfname)).toBe(true);
    } finally {
      await h.destroy();
    }
    const rootIf = h.host.mgmt!.rootIfname;
    const stateDir = h.host.stateDir;
    expect(pids.filter(pidAlive)).toEqual([]);
    expect(await listNetns(h.netns)).toEqual([]);
    expect(await linkExists(rootIf)).toBe(false);
    expect(existsSync(stateDir)).toBe(false);
    expect(existsSync(h.ssh.privateKeyPath)).toBe(false);
    await h.destroy();
  });
});

describe('seed lab (private test instance)', () => {
  let t: TestSeedLab | undefined;

  beforeAll(async () => {
    t = await startTestSeedLab();
  });
  afterAll(async () => {
    await t?.destroy();
  });

  it('routes the underlay through the router', async () => {
    const lab = t!.lab;
    expect(await lab.host('c').run('busybox ping -c1 -W2 198.51.100.10 >/dev/null && busybox ping -c1 -W2 198.51.100.130 >/dev/null && echo ok')).toBe('ok\n');
    expect(await lab.host('a').run('busybox ping -c1 -W2 203.0.113.2 >/dev/null && echo ok')).toBe('ok\n');
    expect(await lab.host('c').run('ip route get 198.51.100.10')).toMatch(/via 203\.0\.113\.1 dev eth0/);
    // (`ping` is not installed on this machine; busybox has one.) One router hop: TTL 64 - 1.
    expect(await lab.host('a').run('busybox ping -c1 -W2 203.0.113.2')).toMatch(/ttl=63/);
    expect(await lab.host('c').run('busybox traceroute -n -q1 -w1 -m3 198.51.100.130 2>/dev/null')).toMatch(
      /^ 1 +203\.0\.113\.1 .*\n 2 +198\.51\.100\.130 /m,
    );
    expect(await lab.host('r').run('sysctl -n net.ipv4.ip_forward')).toBe('1\n');
    expect(await lab.host('c').run('hostname')).toBe('host-c\n');
  });

  it('serves HTTP on C:8080 and A/B:80', async () => {
    const lab = t!.lab;
    expect(await lab.host('c').run('curl -s --max-time 3 http://127.0.0.1:8080/')).toBe('host-c service; you are 127.0.0.1\n');
    expect(await lab.host('a').run('curl -s --max-time 3 http://203.0.113.2:8080/')).toBe('host-c service; you are 198.51.100.10\n');
    expect(await lab.host('c').run('curl -s --max-time 3 http://198.51.100.130/')).toBe('hello from host-b; you are 203.0.113.2\n');
  });

  it('reaches Host C over SSH from this machine', async () => {
    const { stdout } = await sshRun(t!.ssh, 'hostname; ip -br -4 addr show dev eth0');
    expect(stdout).toMatch(/^host-c\neth0(@\S+)?\s+UP\s+203\.0\.113\.2\/24/);
  });

  it('configures a customer with wg-quick and carries traffic over WireGuard', async () => {
    const lab = t!.lab;
    expect(lab.customerKeys('a')).toEqual(SEED_CUSTOMER_KEYS.a);
    expect(await lab.host('a').run(`echo ${SEED_CUSTOMER_KEYS.a.privateKey} | wg pubkey`)).toBe(`${SEED_CUSTOMER_KEYS.a.publicKey}\n`);
    expect(await lab.host('b').run(`echo ${SEED_CUSTOMER_KEYS.b.privateKey} | wg pubkey`)).toBe(`${SEED_CUSTOMER_KEYS.b.publicKey}\n`);
    // The article's base configuration, without the NAT (that is the playbook's job).
    await lab.host('c').writeFile(
      '/etc/wireguard/wg-a.conf',
      `[Interface]\nPrivateKey = CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCGA=\nAddress = 10.0.0.2\nListenPort = 51821\n\n` +
        `[Peer]\nPublicKey = ${SEED_CUSTOMER_KEYS.a.publicKey}\nAllowedIPs = 10.0.0.1\n`,
      0o600,
    );
    await lab.host('c').run('wg-quick up wg-a 2>&1');
    const customerConf = (port: number) =>
      `[Interface]\nPrivateKey = ${SEED_CUSTOMER_KEYS.a.privateKey}\nAddress = 10.0.0.1\n\n` +
      `[Peer]\nPublicKey = jUd41n3XYa3yXBzyBvWqlLhYgRef5RiBD7jwo70U+Rw=\nEndpoint = 203.0.113.2:${port}\nAllowedIPs = 10.0.0.2\nPersistentKeepalive = 25\n`;
    await lab.configureCustomer('a', customerConf(51999));
    await lab.configureCustomer('a', customerConf(51821)); // reconfigure: down + up
    expect(await lab.host('a').run('wg show wg0 endpoints')).toContain('203.0.113.2:51821');
    expect(await lab.host('a').run('curl -s --max-time 5 http://10.0.0.2:8080/')).toBe('host-c service; you are 10.0.0.1\n');
    expect(await lab.host('c').run('curl -s --max-time 5 http://10.0.0.1/')).toBe('hello from host-a; you are 10.0.0.2\n');
    expect(existsSync('/etc/wireguard/wg0.conf') && readFileSync('/etc/wireguard/wg0.conf', 'utf8').includes(SEED_CUSTOMER_KEYS.a.privateKey)).toBe(false);
    const status = await lab.status();
    expect(status.up).toBe(true);
    expect(status.hosts.find((h) => h.id === 'c')!.wgShow).toContain('interface: wg-a');
  });

  it('adds a customer host on demand', async () => {
    const lab = t!.lab;
    const d = await lab.addCustomerHost('d');
    expect(d.underlay!.address).toBe('198.18.3.10');
    expect(await lab.host('d').run(`echo ${d.wg!.privateKey} | wg pubkey`)).toBe(`${d.wg!.publicKey}\n`);
    expect(await lab.host('c').run('curl -s --max-time 3 http://198.18.3.10/')).toBe('hello from host-d; you are 203.0.113.2\n');
    expect(lab.customers()).toEqual(['a', 'b', 'd']);
  });

  it('down removes every namespace, veth, process and file', async () => {
    const lab = t!.lab;
    const pids = (await Promise.all(['a', 'b', 'c', 'r', 'd'].map((id) => lab.host(id).pids()))).flat();
    expect(pids.length).toBeGreaterThan(8);
    const rootIf = lab.toState().mgmt.rootIfname;
    await t!.destroy();
    expect(pids.filter(pidAlive)).toEqual([]);
    expect(await listNetns(t!.prefix)).toEqual([]);
    expect(await linkExists(rootIf)).toBe(false);
    expect(existsSync(lab.stateDir)).toBe(false);
  });
});

describe('wgplay lab CLI', () => {
  it('prints help and rejects unknown commands', async () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await runLabCommand(['--help'])).toBe(0);
      expect(String(out.mock.calls[0]?.[0])).toContain('wgplay lab <up|down|status>');
      expect(await runLabCommand(['sideways'])).toBe(1);
      expect(String(err.mock.calls[0]?.[0])).toContain('unknown command');
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  });

  // This brings the real `wgplay lab` up and down again, at its fixed addresses. It
  // never touches a lab it did not bring up: if any of one is on this machine (a
  // developer's, or what a crash left), it fails and says so, and takes nothing down.
  describe('up / status / down (the fixed lab)', () => {
    let broughtUp = false;
    afterAll(async () => {
      if (broughtUp) await runQuiet(['down']);
    });

    it('brings the lab up at the fixed addresses and paths, and down again', async () => {
      const present = [
        ...(existsSync(LAB.stateDir) ? [LAB.stateDir] : []),
        ...(await listNetns(LAB.prefix)).map((name) => `network namespace ${name}`),
        ...((await linkExists(LAB.mgmt.rootIfname)) ? [`link ${LAB.mgmt.rootIfname}`] : []),
      ];
      expect(
        present,
        'a `wgplay lab` (or what is left of one) is on this machine; this test brings up its own and never takes down one it did not create: run `wgplay lab down` first',
      ).toEqual([]);
      const up = await runQuiet(['up']);
      expect(up.code, up.err).toBe(0);
      broughtUp = true;
      expect(SeedLab.isUp(LAB.stateDir)).toBe(true);
      expect(statSync(LAB.ssh.privateKeyPath).mode & 0o777).toBe(0o600);
      expect(readFileSync(LAB.ssh.knownHostsPath, 'utf8')).toMatch(/^172\.31\.250\.2 ssh-ed25519 AAAA/);
      const { stdout } = await sshRun({ ...LAB.ssh }, 'hostname');
      expect(stdout).toBe('host-c\n');
      const again = await runQuiet(['up']);
      expect(again.code).toBe(1);
      expect(again.err).toContain('already up');
      const status = await runQuiet(['status']);
      expect(status.code).toBe(0);
      expect(status.out).toContain('lab is up');
      const down = await runQuiet(['down']);
      expect(down.code, down.err).toBe(0);
      broughtUp = false;
      expect(await listNetns(LAB.prefix)).toEqual([]);
      expect(await linkExists(LAB.mgmt.rootIfname)).toBe(false);
      expect(existsSync(LAB.stateDir)).toBe(false);
      expect((await runQuiet(['status'])).out).toContain('lab is down');
    });
  });
});

async function runQuiet(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    return { code: await runLabCommand(argv), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}
