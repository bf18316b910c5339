// INI inventories, group_vars/host_vars, -e, vaulted values and ssh arguments: the
// parts of reading an inventory that the Ansible oracle (test/e2e/inventoryOracle)
// cannot show, because Ansible refuses them or wgplay refuses what Ansible accepts.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
// What main() imports when a command runs, loaded here once, with the file: first loaded
// inside a test, its module-level values (the task schemas...) would count as covered by
// that test alone, and mutation testing would try to kill them there.
import '../../src/cli/inventory.js';
import '../../src/cli/run.js';
import { parseExtraVars } from '../../src/inventory/extraVars.js';
import {
  connectionOf,
  expandHostPattern,
  inventoryFromObject,
  loadInventories,
  parseInventory,
} from '../../src/inventory/index.js';
import { groupNamesOf } from '../../src/inventory/listJson.js';
import { pythonValue } from '../../src/inventory/pythonLiteral.js';
import { problemsOf } from './problems.js';


const dirs: string[] = [];
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'wgplay-inv-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const CIPHERTEXT = '$ANSIBLE_VAULT;1.1;AES256\n          62313365396662343061393464336163383764373764613633653634306231386433626436623361\n';

describe('INI inventories', () => {
  it('reads values as Python literals, the rest as text', () => {
    expect(pythonValue('3')).toBe(3);
    expect(pythonValue('-1_000')).toBe(-1000);
    expect(pythonValue('0x1f')).toBe(31);
    expect(pythonValue('True')).toBe(true);
    expect(pythonValue('None')).toBe(null);
    expect(pythonValue("'a b'")).toBe('a b');
    expect(pythonValue('"x" \'y\'')).toBe('xy');
    expect(pythonValue("[1, 'two', (3, 4)]")).toEqual([1, 'two', [3, 4]]);
    expect(pythonValue("{'a': 1, 2: [True]}")).toEqual({ a: 1, '2': [true] });
    expect(pythonValue('1420 # a comment')).toBe(1420);
    for (const text of ['yes', 'eth0', '0755', 'a b', '', ' 1', '10.0.0.1', '[1, 2', 'True False']) {
      expect(pythonValue(text)).toBe(text);
    }
  });

  it('reads sections, host lines, ports and children declared later', () => {
    const inv = parseInventory(
      [
        'lonely ansible_host=127.0.0.9',
        '[eu:children]',
        'paris',
        '[paris]',
        'gw[1:2]:2222 ansible_user="ad min" count=3 # comment',
        '[paris:vars]',
        'mtu = 1420',
        'label = "quoted"',
      ].join('\n'),
      { name: 'hosts' },
    );
    expect([...inv.hosts.keys()]).toEqual(['lonely', 'gw1', 'gw2']);
    expect(inv.hosts.get('gw1')!.vars).toEqual({ ansible_port: 2222, ansible_user: 'ad min', count: 3, mtu: 1420, label: 'quoted' });
    expect(inv.groups.get('eu')!.children).toEqual(['paris']);
    expect(groupNamesOf(inv.hosts.get('gw2')!)).toEqual(['eu', 'paris']);
    expect(groupNamesOf(inv.hosts.get('lonely')!)).toEqual(['ungrouped']);
    expect(inv.hosts.get('gw1')!.varOrigins!.get('mtu')!.where).toBe('hosts:7:7');
  });

  it('says where each mistake is', () => {
    expect(
      problemsOf(() =>
        parseInventory(
          ['[gateways]', 'gw1 ansible_port', '[bad:kind]', '[ spaced ]', '[gw:children]', 'missing', '[ghost:vars]', 'x=1', '[gateways:vars]', 'novalue'].join('\n'),
          { name: 'inv.ini' },
        ),
      ),
    ).toEqual([
      'inv.ini:2:5: expected key=value after the host name, got "ansible_port"',
      'inv.ini:3:1: section [bad:kind] has an unknown kind "kind" (expected [bad], [bad:vars] or [bad:children])',
      'inv.ini:4:1: invalid section "[ spaced ]": a section is [name], [name:vars] or [name:children], without spaces',
      'inv.ini:10:1: expected key=value in [gateways:vars], got "novalue"',
      'inv.ini:6:1: section [gw:children] names the group "missing", which this file never declares (add a [missing] section)',
      'inv.ini:7:1: section [ghost:vars] is for a group that this file never declares (add a [ghost] or [ghost:children] section)',
    ]);
  });

  it('expands ranges and ports as Ansible does', () => {
    expect(expandHostPattern('gw[01:03]')).toEqual({ names: ['gw01', 'gw02', 'gw03'] });
    expect(expandHostPattern('db-[a:c]:2200')).toEqual({ names: ['db-a', 'db-b', 'db-c'], port: 2200 });
    expect(expandHostPattern('e[1:7:3]')).toEqual({ names: ['e1', 'e4', 'e7'] });
    expect(expandHostPattern('w[8:10]')).toEqual({ names: ['w8', 'w9', 'w10'] });
    expect(expandHostPattern('fe80::1')).toEqual({ names: ['fe80::1'] });
    expect(expandHostPattern('[2001:db8::1]:22')).toEqual({ names: ['2001:db8::1'], port: 22 });
    expect(() => expandHostPattern('gw[01:100]')).toThrow(/same length/);
    expect(() => expandHostPattern('gw1:')).toThrow(/reserved for a port/);
  });
});

describe('ansible_group_priority', () => {
  it('orders groups of one depth and is not a host variable', () => {
    const inv = parseInventory(
      'all:\n  children:\n    zz: { vars: { ansible_group_priority: 10, c: zz }, hosts: { h: } }\n    aa: { vars: { c: aa }, hosts: { h: } }\n',
      'i.yaml',
    );
    expect(inv.hosts.get('h')!.vars).toEqual({ c: 'zz' });
  });
});

describe('vaulted values', () => {
  it('are refused naming the variable and the file, never the ciphertext', () => {
    const dir = tree({
      'inventory.yaml': `all:\n  hosts:\n    gw1:\n      db_password: !vault |\n          ${CIPHERTEXT.split('\n')[0]}\n          6231336539\n`,
      'group_vars/all.yml': 'nested:\n  - token: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n      3633\n',
      'host_vars/gw1.yml': CIPHERTEXT,
    });
    const problems = problemsOf(() => loadInventories([join(dir, 'inventory.yaml')]));
    expect(problems).toEqual([
      `${dir}/inventory.yaml:4:27: variable "db_password" of host "gw1": encrypted with ansible-vault: not supported; pass it with -e or an environment lookup`,
    ]);
    // Once the inventory file is fixed, the variables files are checked the same way.
    writeFileSync(join(dir, 'inventory.yaml'), 'all:\n  hosts:\n    gw1:\n');
    expect(problemsOf(() => loadInventories([join(dir, 'inventory.yaml')]))).toEqual([
      `${dir}/group_vars/all.yml:2:19: variable "nested.0.token" of group "all": encrypted with ansible-vault: not supported; pass it with -e or an environment lookup`,
      `${dir}/host_vars/gw1.yml: the whole file is encrypted with ansible-vault: not supported; pass it with -e or an environment lookup`,
    ]);
    expect(problems.join('\n')).not.toContain('6231336539');
  });
});

describe('connection variables', () => {
  it('refuses passwords and other become methods or users clearly', () => {
    const problems = problemsOf(() =>
      parseInventory(
        '[g]\ngw1 ansible_ssh_pass=hunter22 ansible_become_method=su ansible_become_user=admin\n',
        { name: 'hosts' },
      ),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^hosts:2:5: ansible_ssh_pass is not supported \(wgplay does not log in with passwords/),
      'hosts:2:31: ansible_become_method: only sudo is supported, not string "su"',
      expect.stringMatching(/^hosts:2:56: ansible_become_user: only root is supported/),
    ]);
    expect(problems.join('\n')).not.toContain('hunter22');
  });

  it('follows ProxyJump from ansible_ssh_common_args and ansible_ssh_extra_args', () => {
    const inv = parseInventory(
      [
        'all:',
        '  hosts:',
        "    a: { ansible_ssh_common_args: '-o ProxyJump=jump@127.0.0.5:2222' }",
        "    b: { ansible_ssh_common_args: '-C -J 127.0.0.5,hop@[::1]:22', ansible_ssh_extra_args: '-J ignored' }",
        "    c: { ansible_ssh_extra_args: '-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=/tmp/kh' }",
      ].join('\n'),
      'i.yaml',
    );
    expect(connectionOf(inv.hosts.get('a')!).jumpHosts).toMatchObject([{ spec: 'jump@127.0.0.5:2222', user: 'jump', address: '127.0.0.5', port: 2222 }]);
    expect(connectionOf(inv.hosts.get('b')!).jumpHosts).toMatchObject([
      { address: '127.0.0.5', port: 22 },
      { user: 'hop', address: '::1', port: 22 },
    ]);
    expect(connectionOf(inv.hosts.get('c')!)).toMatchObject({ hostKeyPolicy: 'accept-new', knownHostsFile: '/tmp/kh' });
    expect(connectionOf(inv.hosts.get('c')!).jumpHosts).toBeUndefined();
  });

  it('refuses ssh arguments that would run a program or skip host key checks', () => {
    expect(
      problemsOf(() =>
        parseInventory(
          "all:\n  vars:\n    ansible_ssh_common_args: '-o ProxyCommand=\"nc %h %p\"'\n    ansible_ssh_extra_args: '-o StrictHostKeyChecking=no'\n  hosts: { h: }\n",
          'i.yaml',
        ),
      ),
    ).toEqual([
      'i.yaml:3:30: ansible_ssh_common_args: ProxyCommand is not supported (it runs a program): use ProxyJump (-J host)',
      'i.yaml:4:29: ansible_ssh_extra_args: StrictHostKeyChecking=no is not supported: wgplay always checks host keys (use accept-new to trust a first key)',
    ]);
  });
});

describe('-e / --extra-vars', () => {
  it('takes key=value words, @files and JSON, the later over the earlier', () => {
    const dir = tree({ 'extra.yml': 'mtu: 1300\nnested: { a: 1 }\n' });
    const layer = parseExtraVars(['region=eu "note=a b" mtu=1', `@${dir}/extra.yml`, '{"flag": true, "mtu": 1200}']);
    expect(layer.vars).toEqual({ region: 'eu', note: 'a b', mtu: 1200, nested: { a: 1 }, flag: true });
    expect(layer.origins.get('nested')!.where).toBe(`${dir}/extra.yml:2:9`);
  });

  it('beats every inventory variable', () => {
    const dir = tree({ 'inv.yaml': 'all:\n  hosts:\n    gw1: { mtu: 1420, ansible_port: 2201 }\n', 'host_vars/gw1.yml': 'mtu: 1400\n' });
    const inv = loadInventories([join(dir, 'inv.yaml')], { extraVars: parseExtraVars(['mtu=1300']) });
    expect(inv.hosts.get('gw1')!.vars).toEqual({ mtu: '1300', ansible_port: 2201 });
  });

  it('says what is wrong with one', () => {
    expect(problemsOf(() => parseExtraVars(['novalue', '@/nonexistent/x.yml', '[1, 2]']))).toEqual([
      '-e #1: expected key=value, @FILE or JSON, got "novalue"',
      '-e @/nonexistent/x.yml: file not found',
      '-e #3:1:1: extra variables must be a mapping (name: value), not a list',
    ]);
  });
});

describe('in-memory inventories (for the library)', () => {
  it('parseInventory and inventoryFromObject name the inventory instead of a file', () => {
    const inv = inventoryFromObject({ all: { children: { gateways: { hosts: { gw1: { ansible_host: '127.0.0.1' } } } } } }, { name: 'exported' });
    expect(connectionOf(inv.hosts.get('gw1')!).address).toBe('127.0.0.1');
    expect(problemsOf(() => inventoryFromObject({ all: { hosts: { gw1: { ansible_port: 'x' } } } }, { name: 'exported' }))[0]).toMatch(
      /^exported:\d+:\d+: ansible_port must be a port number/,
    );
  });
});

describe('the command line', () => {
  it('names an unknown option and the --help to read', async () => {
    const chunks: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => (chunks.push(chunk), true)) as typeof process.stderr.write;
    try {
      expect(await main(['plan', 'p.yaml', '-i', 'x', '--frobnicate'])).toBe(1);
      expect(await main(['inventory', '--lsit'])).toBe(1);
    } finally {
      process.stderr.write = write;
    }
    expect(chunks).toEqual([
      'wgplay: unknown option --frobnicate: see "wgplay plan --help" for the options\n',
      'wgplay: unknown option --lsit: see "wgplay inventory --help" for the options\n',
    ]);
  });
});

describe('ssh_config (wgplay_ssh_config, -F, ~/.ssh/config), with `ssh -G` as the oracle', () => {
  const config = [
    'Host bastion',
    '  HostName 127.0.0.5',
    '  Port 2205',
    '  User jump',
    '  IdentityFile ~/.ssh/bastion_key',
    'Host gw* !gw9',
    '  HostName %h.gateways.test',
    '  Port 2200',
    '  User ops',
    '  IdentityFile ~/.ssh/gw_key',
    '  ProxyJump bastion,hop@127.0.0.6:2206',
    '  UserKnownHostsFile /etc/wgplay/known_hosts /etc/wgplay/other',
    '  StrictHostKeyChecking accept-new',
    'Host *',
    '  User fallback',
    '  IdentityFile ~/.ssh/other',
    '',
  ].join('\n');

  /** What ssh itself resolves for a destination, given the options Ansible would pass. */
  function sshG(file: string, destination: string, options: string[]): Record<string, string> {
    const out = execFileSync('ssh', ['-G', '-F', file, ...options, destination], { encoding: 'utf8', env: { ...process.env, HOME: homedir() } });
    const values: Record<string, string> = {};
    for (const line of out.split('\n')) {
      const [key, ...rest] = line.split(' ');
      if (key && !(key.toLowerCase() in values)) values[key.toLowerCase()] = rest.join(' ');
    }
    return values;
  }

  it('resolves hosts as ssh does, inventory variables winning as Ansible passes them', () => {
    const dir = tree({ ssh_config: config });
    const file = join(dir, 'ssh_config');
    const inv = parseInventory(
      [
        'all:',
        `  vars: { wgplay_ssh_config: ${file} }`,
        '  hosts:',
        '    gw1:',
        '    gw2: { ansible_port: 2299, ansible_user: admin, ansible_ssh_private_key_file: /k/gw2 }',
        '    gw9: { ansible_host: 127.0.0.9 }',
        "    gw3: { ansible_ssh_common_args: '-o ProxyJump=127.0.0.7' }",
      ].join('\n'),
      'i.yaml',
    );
    const ansibleOptions: Record<string, string[]> = {
      gw1: [],
      gw2: ['-o', 'Port=2299', '-o', 'User=admin', '-o', 'IdentityFile=/k/gw2'],
      gw9: [],
      gw3: ['-o', 'ProxyJump=127.0.0.7'],
    };
    for (const host of inv.hosts.values()) {
      const c = connectionOf(host);
      const destination = String(host.vars.ansible_host ?? host.name);
      const ssh = sshG(file, destination, ansibleOptions[host.name]!);
      const key = ssh.identityfile?.replace(/^~/, homedir());
      expect(
        { address: c.address, port: c.port, user: c.user, key: c.privateKeyFile, jump: c.jumpHosts?.map((j) => j.spec).join(',') ?? 'none' },
        host.name,
      ).toEqual({ address: ssh.hostname, port: Number(ssh.port), user: ssh.user, key, jump: (ssh.proxyjump ?? 'none').replace(/\[([0-9.]+)\]/g, '$1') });
      if (ssh.stricthostkeychecking === 'accept-new') expect(c.hostKeyPolicy).toBe('accept-new');
      if (ssh.userknownhostsfile?.startsWith('/etc/wgplay')) expect(c.knownHostsFile).toBe(ssh.userknownhostsfile.split(' ')[0]);
    }
    // Each hop is resolved through the same file.
    expect(connectionOf(inv.hosts.get('gw1')!).jumpHosts).toMatchObject([
      { spec: 'bastion', address: '127.0.0.5', port: 2205, user: 'jump', privateKeyFile: join(homedir(), '.ssh/bastion_key') },
      { spec: 'hop@127.0.0.6:2206', address: '127.0.0.6', port: 2206, user: 'hop' },
    ]);
  });

  it('refuses what it cannot do safely, naming the file', () => {
    const dir = tree({ ssh_config: 'Host a\n  ProxyCommand nc %h %p\nHost b\n  StrictHostKeyChecking no\n' });
    const file = join(dir, 'ssh_config');
    const inv = parseInventory(`all:\n  vars: { wgplay_ssh_config: ${file} }\n  hosts: { a:, b:, c: { wgplay_ssh_config: /nonexistent/config } }\n`, 'i.yaml');
    expect(problemsOf(() => connectionOf(inv.hosts.get('a')!))).toEqual([`${file}: host a: ProxyCommand is not supported (it runs a program): use ProxyJump`]);
    expect(problemsOf(() => connectionOf(inv.hosts.get('b')!))).toEqual([
      `${file}: StrictHostKeyChecking no is not supported: wgplay always checks host keys (use accept-new to trust a first key)`,
    ]);
    expect(problemsOf(() => connectionOf(inv.hosts.get('c')!))).toEqual(['/nonexistent/config: ssh_config file not found']);
  });
});
