import { describe, expect, it } from 'vitest';
import { findCollisions } from '../../src/engine/collisions.js';
import { expandInvocations } from '../../src/engine/expand.js';

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

  it('lets identical tasks agree', () => {
    const task = { name: 'rule', module: 'ip_rule', args: { from: '10.0.0.1', table: 41, priority: 100 } };
    expect(findCollisions('gw', expandInvocations([task, { ...task, name: 'same rule' }]))).toEqual([]);
  });
});
