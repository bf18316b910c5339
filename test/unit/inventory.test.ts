import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  connectionOf,
  expandHostRange,
  loadInventory,
  parseInventory,
  selectHosts,
  splitPattern,
  type Inventory,
  type InventoryHost,
  type ValuePosition,
} from '../../src/inventory/index.js';
import { problemsOf } from './problems.js';

// Reads the positions the loader records (varOrigins), as the playbook's error messages do.
/** Where a part of a variable is written: its value and, for a mapping field, its key. */
interface VarLocation {
  /** "inventory.yaml:31:19". */
  where: string;
  /** Where the field's key is written, when the path ends at a mapping field. */
  keyWhere?: string;
}

/**
 * Where the part `path` (list indexes and field names: [1, "name"]) of the host's
 * variable `name` is written, following the definition that won the merge; undefined
 * when the host has no such variable, no positions (built by hand) or no such part.
 */
function locateVar(
  host: Pick<InventoryHost, 'varOrigins'>,
  name: string,
  path: readonly (string | number)[] = [],
): VarLocation | undefined {
  let position: ValuePosition | undefined = host.varOrigins?.get(name);
  let keyWhere: string | undefined;
  for (const segment of path) {
    if (!position) return undefined;
    if (position.items) {
      position = typeof segment === 'number' || /^\d+$/.test(segment) ? position.items[Number(segment)] : undefined;
      keyWhere = undefined;
    } else {
      const field = position.fields?.get(String(segment));
      position = field?.value;
      keyWhere = field?.keyWhere;
    }
  }
  if (!position) return undefined;
  return keyWhere === undefined ? { where: position.where } : { where: position.where, keyWhere };
}


const FIXTURE = 'fixtures/inventory/gateways.yaml';


function names(inventory: Inventory, pattern: string | string[]): string[] {
  return selectHosts(inventory, pattern).map((h) => h.name);
}

describe('loadInventory', () => {
  const inventory = loadInventory(FIXTURE);

  it('reads hosts, expanded ranges and nested groups', () => {
    expect([...inventory.hosts.keys()]).toEqual(['bastion', 'gw1', 'gw2', 'gw3', 'gw-paris', 'gw-nyc', 'mon1']);
    expect(inventory.groups.get('gateways')!.children).toEqual(['eu', 'us']);
    expect(inventory.groups.get('eu')!.depth).toBe(2);
    expect(inventory.groups.get('all')!.depth).toBe(0);
    expect(inventory.hosts.get('gw1')!.origin).toBe(`${FIXTURE}:18:9`);
  });

  it('puts hosts written only under all in ungrouped, as Ansible does', () => {
    expect(inventory.groups.get('ungrouped')!.hosts).toEqual(['bastion']);
    expect(inventory.hosts.get('bastion')!.groups).toEqual(['all', 'ungrouped']);
    expect(inventory.hosts.get('gw1')!.groups).toEqual(['all', 'gateways']);
  });

  it('merges vars: all < parent group < child group < host', () => {
    expect(inventory.hosts.get('bastion')!.vars).toMatchObject({ site: 'all', ansible_user: 'deploy' });
    expect(inventory.hosts.get('gw2')!.vars).toMatchObject({ site: 'gateways', tier: 'edge', ansible_become: true });
    // child group eu overrides its parent gateways
    expect(inventory.hosts.get('gw-nyc')!.vars.site).toBe('us');
    // host vars override every group
    expect(inventory.hosts.get('gw-paris')!.vars.site).toBe('paris');
    expect(inventory.hosts.get('gw1')!.vars).toMatchObject({ ansible_port: 2222, ansible_user: 'deploy' });
  });

  it('merges groups of the same depth in alphabetical order, deeper ones last', () => {
    const gw3 = inventory.hosts.get('gw3')!;
    expect(gw3.groups).toEqual(['all', 'gateways', 'monitoring', 'eu']);
    // gateways and monitoring are both depth 1: monitoring comes later alphabetically
    expect(gw3.vars.role).toBe('monitoring');
    // eu (depth 2) beats both, although monitoring is written after it
    expect(gw3.vars.site).toBe('eu');
    expect(gw3.vars.tier).toBe('edge');
  });

  it('orders groups by depth, not by where they are written', () => {
    const inv = parseInventory(
      [
        'all:',
        '  children:',
        '    zz:',
        '      vars: { x: zz }',
        '      children:',
        '        aa:',
        '          vars: { x: aa }',
        '          hosts: { h1: }',
        '    bb:',
        '      vars: { x: bb }',
        '      hosts: { h1: }',
        '',
      ].join('\n'),
      'inv.yaml',
    );
    // bb and zz depth 1 (zz after bb), aa depth 2
    expect(inv.hosts.get('h1')!.groups).toEqual(['all', 'bb', 'zz', 'aa']);
    expect(inv.hosts.get('h1')!.vars.x).toBe('aa');
  });

  it('takes the depth of a group from its deepest parent', () => {
    const inv = parseInventory(
      [
        'all:',
        '  children:',
        '    a:',
        '      children:',
        '        b:',
        '          children:',
        '            shared: { vars: { x: shared } }',
        '    c:',
        '      vars: { x: c }',
        '      children:',
        '        shared:',
        '          hosts: { h: }',
      ].join('\n'),
      'inv.yaml',
    );
    expect(inv.groups.get('shared')!.depth).toBe(3);
    expect(inv.hosts.get('h')!.groups).toEqual(['all', 'a', 'c', 'b', 'shared']);
    expect(inv.hosts.get('h')!.vars.x).toBe('shared');
  });

  it('honours ansible_group_priority between groups of the same depth', () => {
    const inv = parseInventory(
      [
        'all:',
        '  children:',
        '    alpha: { vars: { x: alpha, ansible_group_priority: 10 }, hosts: { h: } }',
        '    beta: { vars: { x: beta }, hosts: { h: } }',
      ].join('\n'),
      'inv.yaml',
    );
    expect(inv.hosts.get('h')!.vars.x).toBe('alpha');
  });

  it('accepts top-level groups besides all, and empty groups and hosts', () => {
    const inv = parseInventory(
      ['all:', '  vars: { a: 1 }', 'gateways:', '  hosts:', '    gw1:', 'empty:', 'other:', '  hosts:'].join('\n'),
      'inv.yaml',
    );
    expect(inv.hosts.get('gw1')!.groups).toEqual(['all', 'gateways']);
    // As Ansible: "ungrouped" first, then the top-level groups that have no other parent.
    expect(inv.groups.get('all')!.children).toEqual(['ungrouped', 'gateways', 'empty', 'other']);
    expect(inv.hosts.get('gw1')!.vars).toEqual({ a: 1 });
    expect(inv.groups.get('empty')!.hosts).toEqual([]);
  });

  it('merges a host written in several groups (later vars win), keeping its first position', () => {
    const inv = parseInventory(
      [
        'all:',
        '  children:',
        '    a: { hosts: { h: { x: 1, y: 1 } } }',
        '    b: { hosts: { h: { y: 2 } } }',
      ].join('\n'),
      'inv.yaml',
    );
    expect(inv.hosts.get('h')!.vars).toEqual({ x: 1, y: 2 });
    expect(inv.hosts.get('h')!.origin).toBe('inv.yaml:3:19');
  });

  it('reads YAML 1.1 booleans and anchors as Ansible does', () => {
    const inv = parseInventory(
      [
        'all:',
        '  vars: &common',
        '    ansible_become: yes',
        '  hosts:',
        '    h:',
        '      <<: *common',
        '      ansible_port: "2200"',
        '      y: n',
        '      flag: off',
      ].join('\n'),
      'inv.yaml',
    );
    expect(inv.hosts.get('h')!.vars).toMatchObject({ ansible_become: true, y: 'n', flag: false });
    expect(connectionOf(inv.hosts.get('h')!)).toMatchObject({ become: true, port: 2200 });
  });

  it('says which path is missing', () => {
    expect(problemsOf(() => loadInventory('fixtures/inventory/nope.yaml'))).toEqual([
      'fixtures/inventory/nope.yaml: inventory file not found',
    ]);
    expect(problemsOf(() => loadInventory('fixtures/inventory/ansible/nope/'))).toEqual([
      'fixtures/inventory/ansible/nope/: inventory file not found',
    ]);
  });

  it('reports malformed YAML with file:line:col', () => {
    const problems = problemsOf(() => loadInventory('fixtures/inventory/malformed.yaml'));
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]).toMatch(/^fixtures\/inventory\/malformed\.yaml:\d+:\d+: malformed YAML: /);
  });

  it('reports every problem of an inventory at once, each with file:line:col', () => {
    const problems = problemsOf(() => loadInventory('fixtures/inventory/bad.yaml'));
    const f = 'fixtures/inventory/bad.yaml';
    expect(problems).toEqual([
      `${f}:3:10: host "gw1" must be a mapping of variables or empty, not a string ("192.0.2.10") (to give its address, write "gw1: { ansible_host: 192.0.2.10 }")`,
      `${f}:5:21: ansible_port must be a port number from 1 to 65535, not string "http"`,
      expect.stringMatching(new RegExp(`^${f}:6:25: ansible_ssh_pass is not supported \\(wgplay does not log in with passwords`)),
      `${f}:9:7: unknown key "host" in group "gateways" (expected hosts, children or vars)`,
      expect.stringMatching(new RegExp(`^${f}:12:30: ansible_become_user: only root is supported`)),
      `${f}:13:33: wgplay_host_key_policy must be "strict" or "accept-new", not string "trust-all"`,
      `${f}:14:1: unknown top-level key "hosts": put hosts, children and vars under "all:"`,
    ]);
    // the password itself never appears
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('refuses wrong types of connection vars where they are written', () => {
    const text = [
      'all:',
      '  vars:',
      '    ansible_become: maybe',
      '    ansible_connection: winrm',
      '  hosts:',
      '    h:',
      '      ansible_host: [a, b]',
      '      ansible_port: 70000',
      '      ansible_user: ""',
      '      ansible_ssh_private_key_file: 42',
      '      wgplay_known_hosts_file: "{{ kh }}"',
      '      ansible_become_password: s3cret',
      '  children:',
      '    g:',
      '      vars: { ansible_group_priority: high }',
    ].join('\n');
    const problems = problemsOf(() => parseInventory(text, 'i.yaml'));
    expect(problems).toEqual([
      'i.yaml:3:21: ansible_become must be a boolean (true/false, yes/no), not string "maybe"',
      'i.yaml:4:25: ansible_connection must be "ssh" or "local", not string "winrm"',
      'i.yaml:7:21: ansible_host must be an address or DNS name (a non-empty string), not a list',
      'i.yaml:8:21: ansible_port must be a port number from 1 to 65535, not number 70000',
      'i.yaml:9:21: ansible_user must be a user name (a non-empty string), not string ""',
      'i.yaml:10:37: ansible_ssh_private_key_file must be the path of a private key file (a non-empty string), not number 42',
      'i.yaml:11:32: wgplay_known_hosts_file: templates are not supported in connection variables (got "{{ kh }}")',
      expect.stringMatching(/^i\.yaml:12:32: ansible_become_password is not supported \(wgplay runs `sudo -n`/),
      'i.yaml:15:39: ansible_group_priority must be an integer, not "high"',
    ]);
    expect(problems.join('\n')).not.toContain('s3cret');
  });

  it('refuses structural mistakes with positions', () => {
    expect(problemsOf(() => parseInventory('all:\n  hosts:\n    - gw1\n    - gw2\n', 'i.yaml'))).toEqual([
      'i.yaml:3:5: hosts of group "all" must be a mapping of host names (each followed by ":"), not a list',
    ]);
    expect(problemsOf(() => parseInventory('all:\n  children: [a, b]\n', 'i.yaml'))).toEqual([
      'i.yaml:2:13: children of group "all" must be a mapping of group names (each followed by ":"), not a list',
    ]);
    expect(problemsOf(() => parseInventory('- all\n', 'i.yaml'))).toEqual([
      'i.yaml:1:1: the inventory must be a mapping starting with "all:" (or an INI inventory), not a list',
    ]);
    expect(problemsOf(() => parseInventory('', 'i.yaml'))).toEqual([
      'i.yaml: the inventory is empty (it should start with "all:")',
    ]);
    expect(problemsOf(() => parseInventory('web: 3\n', 'i.yaml'))[0]).toMatch(
      /^i\.yaml:1:1: unknown top-level key "web"/,
    );
    expect(problemsOf(() => parseInventory('all:\n  hosts:\n    gw[1:x]:\n', 'i.yaml'))[0]).toMatch(
      /^i\.yaml:3:5: host name "gw\[1:x\]"/,
    );
    expect(problemsOf(() => parseInventory('all:\n  hosts: { a: }\n  hosts: { b: }\n', 'i.yaml'))[0]).toMatch(
      /^i\.yaml:3:3: malformed YAML: Map keys must be unique/,
    );
  });

  it('refuses a group that contains itself', () => {
    const text = ['all:', '  children:', '    a:', '      children:', '        b:', '          children:', '            a:'].join('\n');
    expect(problemsOf(() => parseInventory(text, 'i.yaml'))).toEqual([
      'i.yaml:7:13: group "a" under "b" makes a loop ("b" is already below "a")',
    ]);
  });
});

describe('expandHostRange', () => {
  it('expands numeric ranges keeping leading zeros, letters and strides', () => {
    expect(expandHostRange('web[01:03].example.com')).toEqual(['web01.example.com', 'web02.example.com', 'web03.example.com']);
    expect(expandHostRange('db-[a:c]')).toEqual(['db-a', 'db-b', 'db-c']);
    expect(expandHostRange('h[1:9:4]')).toEqual(['h1', 'h5', 'h9']);
    expect(expandHostRange('r[1:2]-[a:b]')).toEqual(['r1-a', 'r1-b', 'r2-a', 'r2-b']);
    expect(expandHostRange('plain')).toEqual(['plain']);
    expect(() => expandHostRange('h[3:1]')).toThrow(/start is after its end/);
  });
});

describe('selectHosts', () => {
  const inventory = loadInventory(FIXTURE);

  it('selects all hosts with all or *', () => {
    expect(names(inventory, 'all')).toEqual([...inventory.hosts.keys()]);
    expect(names(inventory, '*')).toEqual([...inventory.hosts.keys()]);
  });

  it('selects a group with its children, or one host', () => {
    expect(names(inventory, 'gateways')).toEqual(['gw1', 'gw2', 'gw3', 'gw-paris', 'gw-nyc']);
    expect(names(inventory, 'eu')).toEqual(['gw-paris', 'gw3']);
    expect(names(inventory, 'mon1')).toEqual(['mon1']);
    expect(names(inventory, 'ungrouped')).toEqual(['bastion']);
  });

  it('unites lists written with : or ,', () => {
    expect(names(inventory, 'mon1:bastion')).toEqual(['mon1', 'bastion']);
    expect(names(inventory, 'us,eu,mon1')).toEqual(['gw-nyc', 'gw-paris', 'gw3', 'mon1']);
    expect(names(inventory, ['us', 'mon1'])).toEqual(['gw-nyc', 'mon1']);
  });

  it('excludes with ! and intersects with &, whatever their position', () => {
    expect(names(inventory, 'gateways:!eu')).toEqual(['gw1', 'gw2', 'gw-nyc']);
    expect(names(inventory, '!eu:gateways')).toEqual(['gw1', 'gw2', 'gw-nyc']);
    expect(names(inventory, 'gateways:&monitoring')).toEqual(['gw3']);
    expect(names(inventory, 'all:!gateways:!bastion')).toEqual(['mon1']);
    expect(names(inventory, '!gateways')).toEqual(['bastion', 'mon1']);
    expect(names(inventory, '&monitoring')).toEqual(['gw3', 'mon1']);
    expect(names(inventory, 'gateways:!gateways')).toEqual([]);
  });

  it('matches globs, regular expressions and subscripts', () => {
    expect(names(inventory, 'gw-*')).toEqual(['gw-paris', 'gw-nyc']);
    expect(names(inventory, 'gw?')).toEqual(['gw1', 'gw2', 'gw3']);
    expect(names(inventory, '~^gw[0-9]$')).toEqual(['gw1', 'gw2', 'gw3']);
    expect(names(inventory, 'gateways[0]')).toEqual(['gw1']);
    expect(names(inventory, 'gateways[-1]')).toEqual(['gw-nyc']);
    expect(names(inventory, 'gateways[1:2]')).toEqual(['gw2', 'gw3']);
    expect(names(inventory, 'gateways[3:]')).toEqual(['gw-paris', 'gw-nyc']);
    expect(names(inventory, 'gateways[0:1]:!gw1')).toEqual(['gw2']);
  });

  it('names every unknown host or group, with a suggestion', () => {
    expect(problemsOf(() => selectHosts(inventory, 'gatways:!eu:nothere:web*'))).toEqual([
      `no host or group named "gatways" in ${FIXTURE} (did you mean "gateways"?)`,
      `no host or group named "nothere" in ${FIXTURE}`,
      `no host or group in ${FIXTURE} matches "web*"`,
    ]);
    expect(problemsOf(() => selectHosts(inventory, 'all:!typo'))[0]).toContain('"typo"');
    expect(problemsOf(() => selectHosts(inventory, ' '))[0]).toContain('empty host pattern');
  });

  it('splits patterns as Ansible does', () => {
    expect(splitPattern('a:b:!c:&d')).toEqual(['a', 'b', '!c', '&d']);
    expect(splitPattern('a, b ,!c')).toEqual(['a', 'b', '!c']);
    expect(splitPattern('g[1:2]:h')).toEqual(['g[1:2]', 'h']);
    expect(splitPattern('fe80::1')).toEqual(['fe80::1']);
  });

  it('prefers a host over a group of the same name, as Ansible does', () => {
    const inv = parseInventory('all:\n  hosts: { x: }\n  children: { x2: { hosts: { y: } } }\n', 'i.yaml');
    expect(names(inv, 'x')).toEqual(['x']);
  });
});

describe('connectionOf', () => {
  const inventory = loadInventory(FIXTURE);
  const dir = mkdtempSync(join(tmpdir(), 'wgplay-inv-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fills in Ansible defaults', () => {
    const inv = parseInventory('all:\n  hosts:\n    gw.example.net:\n', 'i.yaml');
    expect(connectionOf(inv.hosts.get('gw.example.net')!)).toEqual({
      host: 'gw.example.net',
      kind: 'ssh',
      address: 'gw.example.net',
      port: 22,
      user: userInfo().username,
      privateKeyFile: undefined,
      become: false,
      becomeUser: 'root',
      knownHostsFile: join(homedir(), '.ssh', 'known_hosts'),
      hostKeyPolicy: 'strict',
    });
  });

  it('reads the connection vars, expanding ~', () => {
    const path = join(dir, 'inv.yaml');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path,
      [
        'all:',
        '  hosts:',
        '    gw:',
        '      ansible_host: 192.0.2.7',
        '      ansible_port: 2201',
        '      ansible_user: admin',
        '      ansible_ssh_private_key_file: ~/.ssh/gw_ed25519',
        '      ansible_become: true',
        '      ansible_become_user: root',
        '      wgplay_known_hosts_file: /etc/wgplay/known_hosts',
        '      wgplay_host_key_policy: accept-new',
        '    box:',
        '      ansible_connection: local',
        '      ansible_ssh_host: 10.0.0.1',
        '      ansible_ssh_user: legacy',
        '      ansible_ssh_port: 23',
      ].join('\n'),
    );
    const inv = loadInventory(path);
    expect(connectionOf(inv.hosts.get('gw')!)).toEqual({
      host: 'gw',
      kind: 'ssh',
      address: '192.0.2.7',
      port: 2201,
      user: 'admin',
      privateKeyFile: join(homedir(), '.ssh', 'gw_ed25519'),
      become: true,
      becomeUser: 'root',
      knownHostsFile: '/etc/wgplay/known_hosts',
      hostKeyPolicy: 'accept-new',
    });
    expect(connectionOf(inv.hosts.get('box')!)).toMatchObject({
      kind: 'local',
      address: '10.0.0.1',
      user: 'legacy',
      port: 23,
    });
  });

  it('takes ansible_ssh_user/port/host over ansible_user/port/host wherever each is written, as Ansible does', () => {
    const inv = parseInventory(
      [
        'all:',
        '  vars: { ansible_ssh_port: 2203 }',
        '  children:',
        '    gateways:',
        '      vars: { ansible_user: deploy, ansible_port: 2201, ansible_host: 127.0.0.1, ansible_ssh_private_key_file: /k/group }',
        '      hosts:',
        '        gw1: { ansible_ssh_user: admin, ansible_ssh_host: 127.0.0.2, ansible_private_key_file: /k/host }',
        '        gw2: { ansible_user: operator, ansible_port: 2204 }',
      ].join('\n'),
      'inv.yaml',
    );
    expect(connectionOf(inv.hosts.get('gw1')!)).toMatchObject({
      user: 'admin',
      address: '127.0.0.2',
      port: 2203,
      privateKeyFile: '/k/group',
    });
    expect(connectionOf(inv.hosts.get('gw2')!)).toMatchObject({ user: 'operator', address: '127.0.0.1', port: 2203 });
  });

  it('uses group vars for the connection', () => {
    expect(connectionOf(inventory.hosts.get('gw2')!)).toMatchObject({ user: 'deploy', become: true, address: 'gw2' });
    expect(connectionOf(inventory.hosts.get('mon1')!).kind).toBe('local');
  });

  it('refuses bad vars in hosts built by hand', () => {
    const problems = problemsOf(() =>
      connectionOf({ name: 'h', vars: { ansible_ssh_pass: 'pw', ansible_port: 0 }, groups: ['all'], origin: '' }),
    );
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^host h: ansible_ssh_pass is not supported/);
    expect(problems.join()).not.toContain('pw,');
  });
});

describe('variable positions', () => {
  it('records where each variable is written, down to list items and fields: the definition that wins', () => {
    const CUSTOMERS = 'fixtures/inventory/customers.yaml';
    const inv = loadInventory(CUSTOMERS);
    const [gw1, gw2, gw3, gw4] = ['gw1', 'gw2', 'gw3', 'gw4'].map((h) => inv.hosts.get(h)!);
    // gw1 and gw4 take the group's list...
    expect(locateVar(gw1!, 'customers')).toEqual({ where: `${CUSTOMERS}:9:11` });
    expect(locateVar(gw1!, 'customers', [1, 'listen_port'])).toEqual({ where: `${CUSTOMERS}:12:26`, keyWhere: `${CUSTOMERS}:12:13` });
    expect(locateVar(gw4!, 'customers', ['1', 'listen_port'])).toEqual(locateVar(gw1!, 'customers', [1, 'listen_port']));
    // ...gw2 and gw3 their own, which replaces it.
    expect(locateVar(gw2!, 'customers', [2, 'listen_port'])).toEqual({ where: `${CUSTOMERS}:23:28`, keyWhere: `${CUSTOMERS}:23:15` });
    expect(locateVar(gw2!, 'customers', [2, 'listen_port', 0])).toEqual({ where: `${CUSTOMERS}:23:29` });
    expect(locateVar(gw3!, 'customers', [1, 'name'])).toEqual({ where: `${CUSTOMERS}:27:23`, keyWhere: `${CUSTOMERS}:27:17` });
    expect(inv.groups.get('gateways')!.varOrigins.get('customers')!.where).toBe(`${CUSTOMERS}:9:11`);
    // Nothing there: undefined, as for hosts built by hand.
    expect(locateVar(gw1!, 'customers', [2])).toBeUndefined();
    expect(locateVar(gw1!, 'customers', ['name'])).toBeUndefined();
    expect(locateVar(gw1!, 'nope')).toBeUndefined();
    expect(locateVar({ name: 'h', vars: { x: 1 }, groups: ['all'], origin: '' }, 'x')).toBeUndefined();
  });

  it('follows the precedence of the values: child group over parent, later group of a depth, host over groups', () => {
    const inventory = loadInventory(FIXTURE);
    const gw3 = inventory.hosts.get('gw3')!;
    expect(gw3.vars).toMatchObject({ site: 'eu', role: 'monitoring', tier: 'edge', ansible_user: 'deploy' });
    expect(locateVar(gw3, 'site')).toEqual({ where: `${FIXTURE}:25:19` });
    expect(locateVar(gw3, 'role')).toEqual({ where: `${FIXTURE}:37:15` });
    expect(locateVar(gw3, 'tier')).toEqual({ where: `${FIXTURE}:16:15` });
    expect(locateVar(gw3, 'ansible_user')).toEqual({ where: `${FIXTURE}:4:19` });
    expect(locateVar(inventory.hosts.get('gw-paris')!, 'site')).toEqual({ where: `${FIXTURE}:29:21` });
    expect([...gw3.varOrigins!.keys()].sort()).toEqual(Object.keys(gw3.vars).sort());

    // A host written twice: its later vars win, and so do their positions.
    const twice = parseInventory(
      ['all:', '  children:', '    a: { hosts: { h: { x: 1, y: 1 } } }', '    b: { hosts: { h: { y: 2 } } }'].join('\n'),
      'inv.yaml',
    );
    expect(locateVar(twice.hosts.get('h')!, 'x')).toEqual({ where: 'inv.yaml:3:27' });
    expect(locateVar(twice.hosts.get('h')!, 'y')).toEqual({ where: 'inv.yaml:4:27' });
  });

  it('points through aliases and merge keys at where the values are written', () => {
    const inv = parseInventory(
      [
        'all:',
        '  vars:',
        '    base: &base { port: 1, name: x }',
        '    list: &list',
        '      - <<: *base',
        '        port: 2',
        '      - *base',
        '  hosts:',
        '    h:',
        '      <<: { ansible_become: yes }',
        '      copy: *list',
      ].join('\n'),
      'inv.yaml',
    );
    const h = inv.hosts.get('h')!;
    expect(h.vars).toMatchObject({ list: [{ port: 2, name: 'x' }, { port: 1, name: 'x' }], ansible_become: true });
    // The mapping's own key beats the merged one; merged fields are where the anchor writes them.
    expect(locateVar(h, 'list', [0, 'port'])).toEqual({ where: 'inv.yaml:6:15', keyWhere: 'inv.yaml:6:9' });
    expect(locateVar(h, 'list', [0, 'name'])).toEqual({ where: 'inv.yaml:3:34', keyWhere: 'inv.yaml:3:28' });
    // An alias: the value itself is the alias, its parts are at the anchor.
    expect(locateVar(h, 'list', [1])).toEqual({ where: 'inv.yaml:7:9' });
    expect(locateVar(h, 'list', [1, 'port'])).toEqual({ where: 'inv.yaml:3:25', keyWhere: 'inv.yaml:3:19' });
    expect(locateVar(h, 'copy')).toEqual({ where: 'inv.yaml:11:13' });
    expect(locateVar(h, 'copy', [0, 'port'])).toEqual({ where: 'inv.yaml:6:15', keyWhere: 'inv.yaml:6:9' });
    expect(locateVar(h, 'ansible_become')).toEqual({ where: 'inv.yaml:10:29' });
  });
});
