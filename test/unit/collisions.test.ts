import { describe, expect, it } from 'vitest';
import { findCollisions } from '../../src/engine/collisions.js';
import { expandInvocations } from '../../src/engine/expand.js';
import { checkInvocation } from '../../src/playbook/validate.js';

describe('tasks that fight over one resource', () => {
  it('names both tasks and the resource', () => {
    const problems = findCollisions('gw', expandInvocations([
      { name: 'tunnel a', module: 'wireguard_interface', args: { name: 'wg-a', listen_port: 51821 }, origin: 'p.yaml:3:7' },
      { name: 'tunnel b', module: 'wireguard_interface', args: { name: 'wg-b', listen_port: 51821 }, origin: 'p.yaml:8:7' },
      { name: 'map a', module: 'nft_element', args: { table: 't', set: 'm', key: 'wg-a', value: '10.0.0.1' }, origin: 'p.yaml:12:7' },
      { name: 'map a again', module: 'nft_element', args: { table: 't', set: 'm', key: 'wg-a', value: '10.0.0.2' }, origin: 'p.yaml:15:7' },
    ]));
    expect(problems).toEqual([
      { where: 'p.yaml:8:7', message: 'task "tunnel b" and task "tunnel a" (p.yaml:3:7) both manage UDP listen port 51821 on host gw' },
      { where: 'p.yaml:15:7', message: 'task "map a again" and task "map a" (p.yaml:12:7) both manage nftables element wg-a of inet t m on host gw' },
    ]);
  });

  it('two WireGuard interfaces without a listen port (each a random one) never collide', () => {
    const problems = findCollisions('gw', expandInvocations([
      { name: 'tunnel a', module: 'wireguard_interface', args: { name: 'wg-a' }, origin: 'p.yaml:3:7' },
      { name: 'tunnel b', module: 'wireguard_interface', args: { name: 'wg-b' }, origin: 'p.yaml:6:7' },
    ]));
    expect(problems).toEqual([]);
  });

  it('refuses two nft_table tasks on one table, not on two families of one name', () => {
    const problems = findCollisions('gw', expandInvocations([
      { name: 'filter', module: 'nft_table', args: { family: 'inet', name: 't' }, origin: 'p.yaml:3:7' },
      { name: 'filter v4', module: 'nft_table', args: { family: 'ip', name: 't' }, origin: 'p.yaml:6:7' },
      { name: 'filter again', module: 'nft_table', args: { family: 'inet', name: 't', state: 'absent' }, origin: 'p.yaml:9:7' },
    ]));
    expect(problems).toEqual([{ where: 'p.yaml:9:7', message: 'task "filter again" and task "filter" (p.yaml:3:7) both manage nftables table inet t on host gw' }]);
  });

  it('refuses a file task on a WireGuard interface\'s key or wg-quick file', () => {
    const problems = findCollisions('gw', expandInvocations([
      { name: 'tunnel a', module: 'wireguard_interface', args: { name: 'wg-a' }, origin: 'p.yaml:3:7' },
      { name: 'key', module: 'file', args: { path: '/etc/wireguard/wg-a.key', content: 'x' }, origin: 'p.yaml:6:7' },
      { name: 'conf', module: 'file', args: { path: '/etc/wireguard/wg-a.conf', content: 'x' }, origin: 'p.yaml:9:7' },
    ]));
    expect(problems).toEqual([
      { where: 'p.yaml:6:7', message: 'task "key" and task "tunnel a" (p.yaml:3:7) both manage file /etc/wireguard/wg-a.key on host gw' },
      { where: 'p.yaml:9:7', message: 'task "conf" and task "tunnel a" (p.yaml:3:7) both manage file /etc/wireguard/wg-a.conf on host gw' },
    ]);
  });

  it('compares claims by canonical value: another spelling of a route is the same route', () => {
    const problems = findCollisions('gw', expandInvocations([
      { name: 'one', module: 'ip_route', args: { to: '10.100.100.1/32', dev: 'wg-a' }, origin: 'p.yaml:3:7' },
      { name: 'two', module: 'ip_route', args: { to: '10.100.100.1', dev: 'wg-b' }, origin: 'p.yaml:6:7' },
    ].map((task) => checkInvocation(task).invocation)));
    expect(problems).toEqual([{ where: 'p.yaml:6:7', message: 'task "two" and task "one" (p.yaml:3:7) both manage route to 10.100.100.1 in table main on host gw' }]);
  });

  it('names a policy rule by source, destination, table and priority: rules differing in one of them never collide', () => {
    const rule = (name: string, args: Record<string, unknown>, line: number) => ({ name, module: 'ip_rule', args, origin: `p.yaml:${line}:7` });
    const problems = findCollisions('gw', expandInvocations([
      rule('add', { from: '10.0.0.1', table: 41, priority: 100 }, 3),
      rule('other source', { from: '10.0.0.2', table: 41, priority: 100 }, 6),
      rule('other destination', { from: '10.0.0.1', to: '10.9.0.0/16', table: 41, priority: 100 }, 9),
      rule('any priority', { from: '10.0.0.1', table: 41 }, 12),
      rule('remove', { from: '10.0.0.1', table: 41, priority: 100, state: 'absent' }, 15),
    ]));
    expect(problems).toEqual([
      { where: 'p.yaml:15:7', message: 'task "remove" and task "add" (p.yaml:3:7) both manage policy rule from 10.0.0.1 to all table 41 priority 100 on host gw' },
    ]);
  });

  it('refuses two values for one kernel parameter', () => {
    const problems = findCollisions('gw', expandInvocations([
      { name: 'forward', module: 'sysctl', args: { key: 'net.ipv4.ip_forward', value: 1 }, origin: 'p.yaml:3:7' },
      { name: 'no forward', module: 'sysctl', args: { key: 'net.ipv4.ip_forward', value: 0 }, origin: 'p.yaml:6:7' },
      { name: 'other key', module: 'sysctl', args: { key: 'net.ipv4.conf.all.src_valid_mark', value: 1 }, origin: 'p.yaml:9:7' },
    ]));
    expect(problems).toEqual([
      { where: 'p.yaml:6:7', message: 'task "no forward" and task "forward" (p.yaml:3:7) both manage kernel parameter net.ipv4.ip_forward on host gw' },
    ]);
  });

  it('lets identical tasks agree', () => {
    const task = { name: 'rule', module: 'ip_rule', args: { from: '10.0.0.1', table: 41, priority: 100 } };
    expect(findCollisions('gw', expandInvocations([task, { ...task, name: 'same rule' }]))).toEqual([]);
  });
});

describe('one resource written two ways is one claim (canonical values, never spellings)', () => {
  const checked = (tasks: { name: string; module: string; args: Record<string, unknown> }[]) =>
    expandInvocations(
      tasks.map((task, i) => {
        const { invocation, problems } = checkInvocation({ ...task, origin: `p.yaml:${3 * i + 3}:7` });
        expect(problems).toEqual([]);
        return invocation;
      }),
    );
  const collide = (module: string, one: Record<string, unknown>, two: Record<string, unknown>) =>
    findCollisions('gw', checked([{ name: 'one', module, args: one }, { name: 'two', module, args: two }])).map((p) => p.message);

  it('a kernel parameter with slashes is the one with dots', () => {
    expect(collide('sysctl', { key: 'net/ipv4/ip_forward', value: 1 }, { key: 'net.ipv4.ip_forward', value: 0 })).toEqual([
      'task "two" and task "one" (p.yaml:3:7) both manage kernel parameter net.ipv4.ip_forward on host gw',
    ]);
    // A dot inside a part (a VLAN's name) is a slash when written with dots, as sysctl(8) reads it.
    expect(collide('sysctl', { key: 'net/ipv4/conf/eth0.100/forwarding', value: 1 }, { key: 'net.ipv4.conf.eth0/100.forwarding', value: 0 })).toEqual([
      'task "two" and task "one" (p.yaml:3:7) both manage kernel parameter net.ipv4.conf.eth0/100.forwarding on host gw',
    ]);
    // Two spellings of the same value agree.
    expect(collide('sysctl', { key: 'net/ipv4/ip_forward', value: 1 }, { key: 'net.ipv4.ip_forward', value: 1 })).toEqual([]);
  });

  it('a file path with // or /./ or /../ is the path without', () => {
    for (const spelling of ['/etc//x.conf', '/etc/./x.conf', '/etc/wgplay/../x.conf']) {
      expect(collide('file', { path: '/etc/x.conf', content: 'a' }, { path: spelling, content: 'b' })).toEqual([
        'task "two" and task "one" (p.yaml:3:7) both manage file /etc/x.conf on host gw',
      ]);
    }
    const [wgKey] = findCollisions('gw', checked([
      { name: 'tunnel', module: 'wireguard_interface', args: { name: 'wg-a' } },
      { name: 'key', module: 'file', args: { path: '/etc/wireguard//wg-a.key', content: 'x' } },
    ]));
    expect(wgKey?.message).toBe('task "key" and task "tunnel" (p.yaml:3:7) both manage file /etc/wireguard/wg-a.key on host gw');
  });

  it('a routing table by number is the table by name', () => {
    expect(collide('ip_route', { to: '10.9.0.0/16', dev: 'wg-a', table: 254 }, { to: '10.9.0.0/16', dev: 'wg-b' })).toEqual([
      'task "two" and task "one" (p.yaml:3:7) both manage route to 10.9.0.0/16 in table main on host gw',
    ]);
    expect(collide('ip_rule', { from: '10.0.0.1', table: 'main', priority: 100 }, { from: '10.0.0.1/32', table: '254', priority: 100, state: 'absent' })).toEqual([
      'task "two" and task "one" (p.yaml:3:7) both manage policy rule from 10.0.0.1 to all table main priority 100 on host gw',
    ]);
  });

  it('a default route is the route to 0.0.0.0/0 (or ::/0 with an IPv6 via)', () => {
    expect(collide('ip_route', { to: 'default', via: '10.0.0.1' }, { to: '0.0.0.0/0', via: '10.0.0.2' })).toEqual([
      'task "two" and task "one" (p.yaml:3:7) both manage route to 0.0.0.0/0 in table main on host gw',
    ]);
    expect(collide('ip_route', { to: 'default', via: 'fd00::1' }, { to: '::/0', via: 'fd00::2' })).toHaveLength(1);
    expect(collide('ip_route', { to: 'default', via: '10.0.0.1' }, { to: 'default', via: 'fd00::1' })).toEqual([]);
  });

  it('nft families and names, interface names: one spelling each (lower-case words, exact names), refused otherwise', () => {
    expect(checkInvocation({ name: 't', module: 'nft_table', args: { family: 'INET', name: 't' } }).problems).not.toEqual([]);
    expect(collide('nft_table', { name: 't' }, { family: 'inet', name: 't', state: 'absent' })).toHaveLength(1);
  });
});
