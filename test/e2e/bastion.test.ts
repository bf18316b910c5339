// ProxyJump end to end: a bastion (a namespace host with its own sshd) between the
// controller and a gateway that only the bastion reaches (a link between their two
// namespaces; the gateway's management link is down). The jump is written in an
// ssh_config (wgplay_ssh_config) or in ansible_ssh_common_args, as Ansible users do;
// the bastion's host key is checked against known_hosts like any host's.
//
// Nothing of the machine is changed: the link is created inside the two namespaces,
// the CLI runs with HOME set to an empty root-only temp directory.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHost, type TestHost } from './harness.js';
import { wgplay, writePlaybook } from './wgplayCli.js';


let bastion: TestHost;
let gw: TestHost;
let scratch = '';
let home = '';
let playbook = '';
/** known_hosts with both hosts' keys. */
let knownHosts = '';
const LINK_BASTION = '192.168.254.1';
const LINK_GW = '192.168.254.2';

let files = 0;
function write(name: string, text: string): string {
  const path = join(scratch, `${++files}-${name}`);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

function gatewayInventory(vars: Record<string, unknown>): string {
  return write(
    'inventory.yaml',
    stringify({
      all: {
        hosts: {
          gw: {
            ansible_host: gw.ssh.host,
            ansible_port: gw.ssh.port,
            ansible_user: 'root',
            ansible_ssh_private_key_file: gw.ssh.privateKeyPath,
            wgplay_known_hosts_file: knownHosts,
            ...vars,
          },
        },
      },
    }),
  );
}

function bastionSshConfig(knownHostsFile: string): string {
  return write(
    'ssh_config',
    [
      'Host bastion',
      `  HostName ${bastion.ssh.host}`,
      `  Port ${bastion.ssh.port}`,
      '  User root',
      `  IdentityFile ${bastion.ssh.privateKeyPath}`,
      `  UserKnownHostsFile ${knownHostsFile}`,
      `Host ${gw.ssh.host}`,
      '  ProxyJump bastion',
      '',
    ].join('\n'),
  );
}

/** The bastion as known_hosts names it ("[addr]:port", or the address for port 22). */
const bastionName = () => (bastion.ssh.port === 22 ? bastion.ssh.host : `[${bastion.ssh.host}]:${bastion.ssh.port}`);

const cli = (args: string[]) => wgplay(args, { HOME: home, SSH_AUTH_SOCK: undefined, WGPLAY_SSH_KEY_PASSPHRASE: undefined });
const marker = async () => (await gw.exec('cat /etc/wgplay-bastion/hello.conf')).stdout;

describe('a gateway reachable only through a bastion (ProxyJump)', () => {
  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'wgplay-bastion-')); // mode 700
    home = join(scratch, 'home');
    mkdirSync(home, { mode: 0o700 });
    [bastion, gw] = await Promise.all([startTestHost({ name: 'bastion' }), startTestHost({ name: 'gw-behind' })]);
    // A link between the two namespaces only; the gateway's management link goes down,
    // so the controller can no longer reach it, but the bastion can.
    // (ip -n enters the bastion's network namespace only: no link of this machine's.)
    execFileSync('ip', ['-n', bastion.netns, 'link', 'add', 'jb0', 'type', 'veth', 'peer', 'name', 'jg0', 'netns', gw.netns]);
    await bastion.host.run(
      [
        `ip addr add ${LINK_BASTION}/30 dev jb0`,
        'ip link set jb0 up',
        `ip route add ${gw.ssh.host}/32 via ${LINK_GW} dev jb0`,
      ].join('\n'),
    );
    await gw.host.run([`ip addr add ${LINK_GW}/30 dev jg0`, 'ip link set jg0 up', 'ip link set mgmt0 down'].join('\n'));
    // The bastion also lets in the gateway's client key (a jump written in ssh args
    // logs in to the bastion with the host's key, having no key of its own).
    const gwPub = readFileSync(`${gw.ssh.privateKeyPath}.pub`, 'utf8');
    await bastion.host.run('cat >> /root/.ssh/authorized_keys', { input: gwPub });
    knownHosts = write('known_hosts', readFileSync(bastion.ssh.knownHostsPath, 'utf8') + readFileSync(gw.ssh.knownHostsPath, 'utf8'));
    playbook = writePlaybook([
      {
        name: 'behind the bastion',
        hosts: 'all',
        tasks: [{ name: 'a file', file: { path: '/etc/wgplay-bastion/hello.conf', content: 'through the bastion\n' } }],
      },
    ]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([bastion?.destroy(), gw?.destroy()]);
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('cannot reach the gateway directly', async () => {
    const result = await cli(['plan', playbook, '-i', gatewayInventory({}), '--json']);
    expect(result.code & 4).toBe(4);
    expect(JSON.parse(result.stdout).hosts[0].status).toBe('unreachable');
  });

  it('goes through the ProxyJump of an ssh_config, and -v says so', async () => {
    const inventory = gatewayInventory({ wgplay_ssh_config: bastionSshConfig(knownHosts) });
    const result = await cli(['apply', playbook, '-i', inventory, '-v']);
    expect(result.stderr).toContain(`gw: ssh root@${gw.ssh.host}:${gw.ssh.port}, via root@${bastion.ssh.host}:${bastion.ssh.port}`);
    expect(result.code, result.stderr).toBe(0);
    expect(await marker()).toBe('through the bastion\n');
    await gw.run('rm -rf /etc/wgplay-bastion');
  });

  it('goes through -o ProxyJump= in ansible_ssh_common_args', async () => {
    const inventory = gatewayInventory({ ansible_ssh_common_args: `-o ProxyJump=root@${bastion.ssh.host}:${bastion.ssh.port}` });
    const result = await cli(['apply', playbook, '-i', inventory]);
    expect(result.code, result.stderr).toBe(0);
    expect(await marker()).toBe('through the bastion\n');
    await gw.run('rm -rf /etc/wgplay-bastion');
  });

  it('refuses a bastion whose host key is unknown, and changes nothing', async () => {
    const onlyGateway = write('known_hosts', readFileSync(gw.ssh.knownHostsPath, 'utf8'));
    const inventory = gatewayInventory({
      wgplay_known_hosts_file: onlyGateway,
      ansible_ssh_common_args: `-J root@${bastion.ssh.host}:${bastion.ssh.port}`,
    });
    const result = await cli(['apply', playbook, '-i', inventory, '--json']);
    const host = JSON.parse(result.stdout).hosts[0];
    // A refused host key fails the host (it is not merely unreachable), exit 1.
    expect(host.status).toBe('failed');
    expect(result.code & 1).toBe(1);
    expect(host.error).toContain(`jump host root@${bastion.ssh.host}:${bastion.ssh.port}: unknown host key: ${bastionName()} is not in ${onlyGateway}`);
    expect((await gw.exec('test -e /etc/wgplay-bastion')).code).not.toBe(0);
  });

  it('refuses a bastion whose host key changed, and changes nothing', async () => {
    // The gateway's own key recorded for the bastion's address: a changed key.
    const [, type, key] = readFileSync(gw.ssh.knownHostsPath, 'utf8').trim().split(/\s+/);
    const forged = write(
      'known_hosts',
      `${bastionName()} ${type} ${key}\n${readFileSync(gw.ssh.knownHostsPath, 'utf8')}`,
    );
    const inventory = gatewayInventory({ wgplay_ssh_config: bastionSshConfig(forged), wgplay_known_hosts_file: forged });
    const result = await cli(['apply', playbook, '-i', inventory, '--json']);
    const host = JSON.parse(result.stdout).hosts[0];
    expect(host.status).toBe('failed');
    expect(host.error).toContain(`jump host bastion: HOST KEY CHANGED for ${bastionName()}`);
    expect((await gw.exec('test -e /etc/wgplay-bastion')).code).not.toBe(0);
  });
});
