// Connection features end to end: the built CLI against real hosts (network + mount
// namespaces with their own sshd, see harness.ts) — become through `sudo -n` for a
// non-root user, ssh-agent, an encrypted client key, `ansible_connection: local` run
// inside a host, and several hosts at once (one unreachable, --limit, --forks 1, a host
// failing mid-way), with the JSON report's round trips per host.
//
// Nothing of the machine is changed: users and sudoers are added inside a host (its
// /etc and /var/lib are private overlays); the CLI runs with HOME set to an empty
// root-only temp directory, so root's real ~/.ssh is neither read nor written (every
// inventory pins its known_hosts file); the ssh-agent is ours, on a socket in that
// directory, and is killed by pid.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHost, type TestHost } from './harness.js';
import { wgplay, writePlaybook, type CliResult } from './wgplayCli.js';
import { assertReportFollowsSchema } from '../reportSchema.js';

interface Report {
  mode: string;
  exitCode: number;
  summary: { hosts: number; create: number; change: number; delete: number; statuses: Record<string, number> };
  hosts: {
    host: string;
    status: string;
    applied: boolean;
    error?: string;
    roundTrips: number;
    tasks: { name: string; changes: { resource: string }[] }[];
  }[];
}

const KEY_A = '/TOE4TKtAqVsePRVR+5AA43HkAK5DSntkOCO7nYq5xU=';
const PASSPHRASE = 'wgplay-e2e-Passphrase-7f3a91';
const WRONG_PASSPHRASE = 'wgplay-e2e-NotIt-c2d84e';

let gw1: TestHost;
let gw2: TestHost;
/** Root-only temp directory: inventories, keys, the agent socket, the CLI's HOME. */
let scratch = '';
let home = '';
let agent: ChildProcess | undefined;

/**
 * The CLI with --json, as root with an empty HOME and no agent or passphrase unless
 * given: only what the inventory names is used.
 */
async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult & { report: Report }> {
  const result = await wgplay([...args, '--json'], { HOME: home, SSH_AUTH_SOCK: undefined, WGPLAY_SSH_KEY_PASSPHRASE: undefined, ...env });
  let report: Report;
  try {
    report = JSON.parse(result.stdout) as Report;
  } catch {
    throw new Error(`wgplay ${args.join(' ')} printed no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
  assertReportFollowsSchema(report, `wgplay ${args.join(' ')}`);
  expect(report.exitCode).toBe(result.code);
  return { ...result, report };
}

const byHost = (report: Report) => Object.fromEntries(report.hosts.map((h) => [h.host, h]));
const statuses = (report: Report) => Object.fromEntries(report.hosts.map((h) => [h.host, h.status]));
const roundTrips = (report: Report) => Object.fromEntries(report.hosts.map((h) => [h.host, h.roundTrips]));

/** How to reach a test host over SSH; `vars` override (undefined drops a variable). */
function sshVars(h: TestHost, vars: Record<string, unknown> = {}): Record<string, unknown> {
  const all: Record<string, unknown> = {
    ansible_host: h.ssh.host,
    ansible_port: h.ssh.port,
    ansible_user: 'root',
    ansible_ssh_private_key_file: h.ssh.privateKeyPath,
    wgplay_known_hosts_file: h.ssh.knownHostsPath,
    ...vars,
  };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined));
}

let inventories = 0;
function writeInventory(hosts: Record<string, Record<string, unknown>>): string {
  const path = join(scratch, `inventory-${++inventories}.yaml`);
  writeFileSync(path, stringify({ all: { hosts } }));
  return path;
}

/** Ends our ssh-agent (by its pid) and waits for it. */
async function stopAgent(): Promise<void> {
  const child = agent;
  agent = undefined;
  if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(child.pid, 'SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
}

const exists = async (h: TestHost, path: string) => (await h.exec(`test -e ${path}`)).code === 0;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'wgplay-connections-')); // mode 700
  home = join(scratch, 'home');
  mkdirSync(home, { mode: 0o700 });
  [gw1, gw2] = await Promise.all([startTestHost({ name: 'gw1' }), startTestHost({ name: 'gw2' })]);
}, 60_000);

afterAll(async () => {
  await stopAgent();
  await Promise.all([gw1?.destroy(), gw2?.destroy()]);
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('ansible_become: sudo -n for a non-root user', () => {
  const playbook = () =>
    writePlaybook([
      {
        name: 'as root through sudo',
        hosts: 'all',
        tasks: [
          { name: 'a config file', file: { path: '/etc/wgplay-become/hello.conf', content: 'hello\n', mode: '0640' } },
          { name: 'a policy rule', ip_rule: { from: '10.201.0.1', table: 42, priority: 142 } },
        ],
      },
    ]);
  let book = '';
  const as = (user: string, become: boolean) => writeInventory({ gw1: sshVars(gw1, { ansible_user: user, ansible_become: become }) });
  const unchanged = async () => {
    expect(await exists(gw1, '/etc/wgplay-become')).toBe(false);
    expect(await gw1.run('ip rule show priority 142')).toBe('');
  };

  beforeAll(async () => {
    book = playbook();
    const pub = execFileSync('cat', [`${gw1.ssh.privateKeyPath}.pub`], { encoding: 'utf8' });
    // Inside gw1 only. The overlays' roots come up mode 700 (their upper directories'
    // mode): open them as on a real host, so other users can reach their homes.
    // useradd -l: no lastlog/faillog entries (/var/log is the machine's).
    // "deploy": passwordless sudo; "asker": sudo with a password. Both log in with
    // the test client key (a "*" password: not locked, which sshd without PAM refuses).
    await gw1.host.run(
      [
        'chmod 755 /etc /var/lib',
        'install -d -m 755 /var/lib/wgplay-e2e-home',
        'pub=$(cat)',
        'for user in deploy asker; do',
        '  useradd -l -M -d /var/lib/wgplay-e2e-home/$user -s /bin/bash $user',
        '  install -d -m 700 -o $user -g $user /var/lib/wgplay-e2e-home/$user /var/lib/wgplay-e2e-home/$user/.ssh',
        '  printf "%s\\n" "$pub" > /var/lib/wgplay-e2e-home/$user/.ssh/authorized_keys',
        '  chown $user: /var/lib/wgplay-e2e-home/$user/.ssh/authorized_keys',
        'done',
        "usermod -p '*' deploy",
        "echo 'asker:not-the-point-9d1f' | chpasswd",
        "printf '%s\\n' 'deploy ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/wgplay-deploy",
        "printf '%s\\n' 'asker ALL=(ALL) ALL' > /etc/sudoers.d/wgplay-asker",
        'chmod 440 /etc/sudoers.d/wgplay-deploy /etc/sudoers.d/wgplay-asker',
        'visudo -c -q',
      ].join('\n'),
      { input: pub },
    );
  });

  it('without become, a non-root user gets a clear permission error and nothing changes', async () => {
    const result = await cli(['apply', book, '-i', as('deploy', false)]);
    expect(result.code).toBe(1);
    const host = byHost(result.report).gw1!;
    expect(host.status).toBe('failed');
    expect(host.applied).toBe(false);
    expect(host.error).toContain('logged in as "deploy", not root, without ansible_become (permission denied)');
    expect(host.error).toContain('set ansible_become: true');
    await unchanged();
  });

  it('when sudo wants a password: an auth error naming NOPASSWD, exit 1, nothing changed', async () => {
    const result = await cli(['apply', book, '-i', as('asker', true)]);
    expect(result.code).toBe(1);
    const host = byHost(result.report).gw1!;
    expect(host.status).toBe('failed');
    expect(host.error).toContain('sudo asked for a password for user "asker"');
    expect(host.error).toContain('NOPASSWD');
    expect(host.error).not.toContain('not-the-point');
    await unchanged();
  });

  it('with passwordless sudo, apply runs as root: the file is root\'s, the rule is there', async () => {
    const inventory = as('deploy', true);
    const result = await cli(['apply', book, '-i', inventory]);
    expect(byHost(result.report).gw1!.error).toBeUndefined();
    expect(result.code).toBe(0);
    expect(statuses(result.report)).toEqual({ gw1: 'changed' });
    // The lock with the facts under it, the apply; then through a new connection the
    // confirmation (commit-confirmed) with the verify's facts.
    expect(roundTrips(result.report)).toEqual({ gw1: 3 });
    // deploy could not have made a root-owned file under /etc: sudo ran the scripts.
    expect(await gw1.run('stat -c "%U:%G %a" /etc/wgplay-become/hello.conf; cat /etc/wgplay-become/hello.conf')).toBe('root:root 640\nhello\n');
    expect(await gw1.run('ip rule show priority 142')).toBe('142:\tfrom 10.201.0.1 lookup 42\n');

    const again = await cli(['apply', book, '-i', inventory]);
    expect(again.code).toBe(0);
    expect(statuses(again.report)).toEqual({ gw1: 'ok' });
    // The host lock, with the facts read under it in the same command.
    expect(roundTrips(again.report)).toEqual({ gw1: 1 });
  });
});

describe('credentials', () => {
  // gw1's state from the become tests: planning this playbook changes one file.
  const plan = (inventory: string, env: NodeJS.ProcessEnv = {}) =>
    cli(['plan', writePlaybook([{ name: 'p', hosts: 'all', tasks: [{ name: 'f', file: { path: '/etc/wgplay-cred/x', content: 'x\n' } }] }]), '-i', inventory], env);

  it('ssh-agent: no key file in the inventory, the key in the agent named by SSH_AUTH_SOCK', async () => {
    const sock = join(scratch, 'agent.sock');
    agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      execFileSync('ssh-add', ['-q', gw1.ssh.privateKeyPath], { env: { PATH: process.env.PATH, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
      const inventory = writeInventory({ gw1: sshVars(gw1, { ansible_ssh_private_key_file: undefined }) });

      const withAgent = await plan(inventory, { SSH_AUTH_SOCK: sock });
      expect(byHost(withAgent.report).gw1!.error).toBeUndefined();
      expect(withAgent.code).toBe(2);
      expect(statuses(withAgent.report)).toEqual({ gw1: 'changed' });
      expect(roundTrips(withAgent.report)).toEqual({ gw1: 1 });
      expect(await exists(gw1, '/etc/wgplay-cred')).toBe(false);

      // Without the agent (and an empty HOME: no ~/.ssh/id_*), nothing to log in with.
      const without = await plan(inventory);
      expect(without.code).toBe(1);
      expect(byHost(without.report).gw1!.error).toMatch(/no SSH credentials.*SSH_AUTH_SOCK/);
      // The CLI used our HOME and wrote nothing there (known_hosts is pinned elsewhere).
      expect(readdirSync(home)).toEqual([]);
    } finally {
      await stopAgent();
    }
  });

  it('an encrypted key: its passphrase from WGPLAY_SSH_KEY_PASSPHRASE; wrong or missing is a clear error, never printed', async () => {
    const key = join(scratch, 'encrypted_ed25519');
    copyFileSync(gw1.ssh.privateKeyPath, key);
    execFileSync('ssh-keygen', ['-q', '-p', '-P', '', '-N', PASSPHRASE, '-f', key], { stdio: 'ignore' });
    const inventory = writeInventory({ gw1: sshVars(gw1, { ansible_ssh_private_key_file: key }) });

    const right = await plan(inventory, { WGPLAY_SSH_KEY_PASSPHRASE: PASSPHRASE });
    expect(byHost(right.report).gw1!.error).toBeUndefined();
    expect(right.code).toBe(2);

    const missing = await plan(inventory);
    expect(missing.code).toBe(1);
    expect(statuses(missing.report)).toEqual({ gw1: 'failed' });
    expect(byHost(missing.report).gw1!.error).toMatch(/encrypted.*WGPLAY_SSH_KEY_PASSPHRASE/);

    const wrong = await plan(inventory, { WGPLAY_SSH_KEY_PASSPHRASE: WRONG_PASSPHRASE });
    expect(wrong.code).toBe(1);
    expect(statuses(wrong.report)).toEqual({ gw1: 'failed' });
    expect(byHost(wrong.report).gw1!.error).toMatch(/cannot decrypt private key .*WGPLAY_SSH_KEY_PASSPHRASE \(wrong passphrase\?\)/);

    // The text report (stdout and stderr) says it too.
    const textWrong = await wgplay(['plan', writePlaybook([{ name: 'p', hosts: 'all', tasks: [] }]), '-i', inventory], {
      HOME: home,
      SSH_AUTH_SOCK: undefined,
      WGPLAY_SSH_KEY_PASSPHRASE: WRONG_PASSPHRASE,
    });
    expect(textWrong.code).toBe(1);
    expect(textWrong.stdout).toContain('wrong passphrase');
    for (const out of [right, missing, wrong, textWrong].flatMap((r) => [r.stdout, r.stderr])) {
      expect(out).not.toContain(PASSPHRASE);
      expect(out).not.toContain(WRONG_PASSPHRASE);
    }
  });
});

describe('ansible_connection: local, run inside a host', () => {
  /** The root namespace, read only: rules, links (without the test hosts' management veths). */
  const rootNamespace = () => ({
    rules: execFileSync('ip', ['rule', 'show'], { encoding: 'utf8' }),
    links: execFileSync('ip', ['-br', 'link', 'show'], { encoding: 'utf8' })
      .split('\n')
      .map((line) => line.split(/\s+/)[0]!.replace(/@.*/, ''))
      .filter((name) => name !== '' && !/^(wgt-|wgl-)/.test(name))
      .sort(),
    wireguardConf: existsSync('/etc/wireguard/wg-loc.conf'),
    file: existsSync('/etc/wgplay-local'),
  });

  it('changes the kernel of the host it runs on, and nothing in the root namespace', async () => {
    const before = rootNamespace();
    expect(before.links).not.toContain('wg-loc');
    // /root inside gw2 is its own tmpfs: playbook and inventory are private to it.
    const dir = '/root/wgplay-local';
    await gw2.host.writeFile(`${dir}/inventory.yaml`, stringify({ all: { hosts: { 'gw2-local': { ansible_connection: 'local' } } } }));
    await gw2.host.writeFile(
      `${dir}/playbook.yaml`,
      stringify([
        {
          name: 'local',
          hosts: 'all',
          tasks: [
            { name: 'tunnel', wireguard_interface: { name: 'wg-loc', addresses: ['10.203.0.1'], listen_port: 51831, table: 43, peers: [{ public_key: KEY_A, allowed_ips: ['10.0.0.1'] }] } },
            { name: 'rule', ip_rule: { from: '10.203.0.1', table: 43, priority: 143 } },
            { name: 'file', file: { path: '/etc/wgplay-local/hello.conf', content: 'local\n' } },
          ],
        },
      ]),
    );
    const command = `cd ${new URL('../..', import.meta.url).pathname} && ${process.execPath} bin/wgplay.js apply ${dir}/playbook.yaml -i ${dir}/inventory.yaml --json`;
    const first = await gw2.exec(command);
    const report = JSON.parse(first.stdout) as Report;
    assertReportFollowsSchema(report, 'local apply');
    expect(report.hosts[0]!.error).toBeUndefined();
    expect(first.code).toBe(0);
    expect(statuses(report)).toEqual({ 'gw2-local': 'changed' });
    // Lock with facts, apply, verify: a local run has no SSH path to cut, so no confirmation.
    expect(roundTrips(report)).toEqual({ 'gw2-local': 3 });

    expect((await gw2.run('wg show wg-loc listen-port')).trim()).toBe('51831');
    expect(await gw2.run('ip rule show priority 143')).toBe('143:\tfrom 10.203.0.1 lookup 43\n');
    expect(await gw2.run('ip route show table 43')).toBe('10.0.0.1 dev wg-loc scope link \n');
    expect(await gw2.run('cat /etc/wgplay-local/hello.conf')).toBe('local\n');

    const second = await gw2.exec(command);
    expect(second.code).toBe(0);
    const again = JSON.parse(second.stdout) as Report;
    assertReportFollowsSchema(again, 'local apply again');
    expect(statuses(again)).toEqual({ 'gw2-local': 'ok' });
    expect(roundTrips(again)).toEqual({ 'gw2-local': 1 });

    expect(rootNamespace()).toEqual(before);
  });
});

describe('several hosts', () => {
  let inventory = '';

  beforeAll(() => {
    inventory = writeInventory({
      gw1: sshVars(gw1, { greeting: 'one', element_table: 'multi' }),
      gw2: sshVars(gw2, { greeting: 'two', element_table: 'absent_here' }),
      gone: sshVars(gw1, { ansible_host: '127.0.0.1', ansible_port: 1, greeting: 'none', element_table: 'multi' }),
    });
  });

  const book = writePlaybook([
    {
      name: 'every host',
      hosts: 'all',
      tasks: [
        { name: 'greeting', file: { path: '/etc/wgplay-multi/hello.conf', content: '{{ greeting }}\n' } },
        { name: 'rule', ip_rule: { from: '10.204.0.1', table: 44, priority: 144 } },
      ],
    },
  ]);

  it('plan: changes pending on two hosts while a third is unreachable exits 2 + 4 = 6, each host with its status', async () => {
    const result = await cli(['plan', book, '-i', inventory]);
    expect(statuses(result.report)).toEqual({ gw1: 'changed', gw2: 'changed', gone: 'unreachable' });
    expect(result.code).toBe(6);
    expect(result.report.summary).toMatchObject({ hosts: 3, create: 4, change: 0, delete: 0, statuses: { ok: 0, changed: 2, unreachable: 1, failed: 0 } });
  });

  it('apply changes both reachable hosts, reports each, and exits 4 for the unreachable one', async () => {
    const result = await cli(['apply', book, '-i', inventory]);
    expect(statuses(result.report)).toEqual({ gw1: 'changed', gw2: 'changed', gone: 'unreachable' });
    expect(result.code).toBe(4);
    expect(roundTrips(result.report)).toEqual({ gw1: 3, gw2: 3, gone: 0 });
    expect(byHost(result.report).gone!.error).toMatch(/connection refused by 127\.0\.0\.1:1/);
    expect(await gw1.run('cat /etc/wgplay-multi/hello.conf')).toBe('one\n');
    expect(await gw2.run('cat /etc/wgplay-multi/hello.conf')).toBe('two\n');
    for (const h of [gw1, gw2]) expect(await h.run('ip rule show priority 144')).toBe('144:\tfrom 10.204.0.1 lookup 44\n');

    const again = await cli(['apply', book, '-i', inventory]);
    expect(statuses(again.report)).toEqual({ gw1: 'ok', gw2: 'ok', gone: 'unreachable' });
    expect(again.code).toBe(4);
    expect(roundTrips(again.report)).toEqual({ gw1: 1, gw2: 1, gone: 0 });
  });

  it('--limit runs on the hosts it selects only; --forks 1 still runs every host', async () => {
    const limited = writePlaybook([
      { name: 'limited', hosts: 'all', tasks: [{ name: 'marker', file: { path: '/etc/wgplay-multi/limited.conf', content: '{{ greeting }}\n' } }] },
    ]);
    const one = await cli(['apply', limited, '-i', inventory, '--limit', 'gw1']);
    expect(one.code).toBe(0);
    expect(statuses(one.report)).toEqual({ gw1: 'changed' });
    expect(await gw1.run('cat /etc/wgplay-multi/limited.conf')).toBe('one\n');
    expect(await exists(gw2, '/etc/wgplay-multi/limited.conf')).toBe(false);

    const serial = await cli(['apply', limited, '-i', inventory, '--forks', '1']);
    expect(statuses(serial.report)).toEqual({ gw1: 'ok', gw2: 'changed', gone: 'unreachable' });
    expect(serial.code).toBe(4);
    expect(await gw2.run('cat /etc/wgplay-multi/limited.conf')).toBe('two\n');
  });

  it('a host failing mid-way does not stop the others; the error names the phase and the nft error', async () => {
    const failing = writePlaybook([
      {
        name: 'nft',
        hosts: 'all',
        tasks: [
          { name: 'before the firewall', file: { path: '/etc/wgplay-multi/nft.conf', content: '{{ greeting }}\n' } },
          { name: 'table', nft_table: { family: 'inet', name: 'multi', sets: [{ name: 'ports', type: 'inet_service' }] } },
          // gw2's element names a table that does not exist there.
          { name: 'element', nft_element: { table: '{{ element_table }}', set: 'ports', key: 51841 } },
        ],
      },
    ]);
    const result = await cli(['apply', failing, '-i', inventory, '--limit', 'gw1:gw2']);
    expect(result.code).toBe(1);
    expect(statuses(result.report)).toEqual({ gw1: 'changed', gw2: 'failed' });
    // gw2: lock with facts, the failing apply, and its confirmation (what it did change stays).
    expect(roundTrips(result.report)).toEqual({ gw1: 3, gw2: 3 });
    const error = byHost(result.report).gw2!.error!;
    expect(error).toContain('apply failed in phase "firewall"');
    expect(error).toMatch(/absent_here/);
    expect(error).toMatch(/No such file or directory/);
    expect(await gw1.run('nft list set inet multi ports')).toContain('51841');
    // Earlier phases ran on gw2; its firewall transaction did not (nft -f is atomic).
    expect(await gw2.run('cat /etc/wgplay-multi/nft.conf')).toBe('two\n');
    expect(await gw2.run('nft list tables')).toBe('');
  });
});
