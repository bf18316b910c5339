// What the gateway owns it owns entirely: its record, its interfaces, its sets and maps.
import { describe, expect, it } from 'vitest';
import { blankFacts } from '../../src/facts/blankFacts.js';
import type { HostFacts } from '../../src/facts/types.js';
import type { GatewayArgs } from '../../src/modules/gateway/args.js';
import { gatewayArgs } from './validatedTask.js';
import { allocateCustomers, renderRecord } from '../../src/modules/gateway/allocate.js';
import { expandGateway } from '../../src/modules/gateway/expand.js';
import { fileTask } from '../../src/tasks/file.js';
import type { NftTableArgs } from '../../src/tasks/nftTable.js';

const KEY_A = '/TOE4TKtAqVsePRVR+5AA43HkAK5DSntkOCO7nYq5xU=';
const KEY_B = 'fE/wdxzl0klVp/IR8UcaoGUMjqaWi3jAd7KzHKFS6Ds=';
const KEY_C = 'jUd41n3XYa3yXBzyBvWqlLhYgRef5RiBD7jwo70U+Rw=';
const RECORD = '/var/lib/wgplay/gateway.json';
const bare = (name: string, key: string) => ({ name, public_key: key, address: '10.0.0.1', our_address: '10.0.0.2' });
const args = (customers = [bare('a', KEY_A)]): GatewayArgs => gatewayArgs({ public_interface: 'eth0', public_address: '203.0.113.2', ssh: { interfaces: 'any' }, customers });
const withRecord = (content: string, more: Partial<HostFacts> = {}) =>
  blankFacts({ files: { [RECORD]: { path: RECORD, exists: true, type: 'file', mode: '0600', sha256: 'x', content } }, ...more });
const names = (tasks: ReturnType<typeof expandGateway>) => tasks.map((task) => task.name.replace(/^gw \/ /, ''));

describe("the gateway's record", () => {
  it('stops the run, naming the file, when the record is invalid or unreadable', () => {
    for (const [content, why] of [
      ['{\n', /is not valid JSON/],
      ['[]', /is not a JSON object/],
      ['{"version":2,"customers":{}}', /has version 2/],
      ['{"version":1,"customers":{"a":{"interface":"wg-a","listen_port":"x"}}}', /has an invalid listen_port for customer "a"/],
    ] as const) {
      expect(() => expandGateway(args(), { taskName: 'gw', facts: withRecord(content) })).toThrow(
        new RegExp(`the gateway's record /var/lib/wgplay/gateway\\.json ${why.source}.*changes nothing.*wgplay apply --rebuild-record`),
      );
    }
    const unreadable = blankFacts({ files: { [RECORD]: { path: RECORD, exists: true, type: 'file' } } });
    expect(() => expandGateway(args(), { taskName: 'gw', facts: unreadable })).toThrow(/gateway\.json cannot be read/);
  });

  it('names, before anything is made, every customer that may exist during the run', () => {
    const record = renderRecord(allocateCustomers(args([bare('a', KEY_A), bare('b', KEY_B)])));
    // b leaves, c arrives: while the run goes on, all three may exist.
    const tasks = expandGateway(args([bare('a', KEY_A), bare('c', KEY_B)]), { taskName: 'gw', facts: withRecord(record) });
    const recordTask = tasks.find((task) => task.module === 'file')!.args as { content: string; interim_content: string };
    expect(Object.keys(JSON.parse(recordTask.interim_content).customers)).toEqual(['a', 'b', 'c']);
    expect(Object.keys(JSON.parse(recordTask.content).customers)).toEqual(['a', 'c']);
    // The file task writes the interim content first (prepare), the final one in teardown.
    const changes = fileTask.plan({ ...recordTask, path: RECORD, state: 'present', mode: '0600', owner: 'root', secret: false, phase: 'teardown' }, withRecord(record));
    // (each written into its staging folder, then renamed into place at the end of its phase)
    expect(changes[0]!.steps.map((step) => step.phase)).toEqual(['prepare', 'prepare', 'teardown', 'teardown']);
    expect(changes[0]!.steps[0]!.kind === 'shell' && changes[0]!.steps[0]!.script).toContain('"c"');
    // Only customers added: the final record is written first.
    const added = expandGateway(args([bare('a', KEY_A), bare('b', KEY_B), bare('c', KEY_C)]), { taskName: 'gw', facts: withRecord(record) });
    const addedRecord = added.find((task) => task.module === 'file')!.args as { content: string; interim_content: string };
    const addedChanges = fileTask.plan({ ...addedRecord, path: RECORD, state: 'present', mode: '0600', owner: 'root', secret: false, phase: 'teardown' }, withRecord(record));
    expect(addedChanges[0]!.steps.map((step) => step.phase)).toEqual(['prepare', 'prepare']);
  });
});

describe('the whole expansion', () => {
  it("is, for a customer kept and one leaving, these tasks in this order: shared ones, the customer's, the leaving one's removals", () => {
    const record = renderRecord(allocateCustomers(args([bare('a', KEY_A), bare('b', KEY_B)])));
    const gateway = gatewayArgs({ public_interface: 'eth0', public_address: '203.0.113.2', ssh: { interfaces: ['eth0', 'mgmt0'] }, customers: [bare('a', KEY_A)] });
    const tasks = expandGateway(gateway, { taskName: 'gw', facts: withRecord(record) });
    const shown = (task: (typeof tasks)[number]) => [task.name, task.module, ...(task.module === 'nft_table' || task.module === 'file' ? [] : [task.args])];
    expect(tasks.map(shown)).toEqual([
      ['gw / reserve the listen-port pool', 'sysctl', { key: 'net.ipv4.ip_local_reserved_ports', value: '51820-55819', persist: true }],
      ['gw / record of managed customers', 'file'],
      ['gw / nftables filter table', 'nft_table'],
      ['gw / nftables NAT table', 'nft_table'],
      [
        'gw / customer a: interface wg-a',
        'wireguard_interface',
        {
          name: 'wg-a',
          addresses: ['10.200.200.1/32'],
          listen_port: 51820,
          table: 41,
          peers: [{ public_key: KEY_A, allowed_ips: ['10.0.0.1/32'] }],
          pre_up: ['ip rule add from 10.200.200.1 table 41 priority 100'],
          post_down: ['ip rule del from 10.200.200.1 table 41 priority 100'],
          post_up: ['ip route add 10.100.100.1 dev %i'],
        },
      ],
      ['gw / customer a: policy rule', 'ip_rule', { from: '10.200.200.1', table: 41, priority: 100 }],
      ['gw / customer a: route to their translated address', 'ip_route', { to: '10.100.100.1', dev: 'wg-a' }],
      ['gw / customer a: listen port open', 'nft_element', { family: 'inet', table: 'wgplay_filter', set: 'wg_ports', key: 51820, state: 'present' }],
      ['gw / customer a: services reachable', 'nft_element', { family: 'inet', table: 'wgplay_filter', set: 'wg_ifaces', key: 'wg-a', state: 'present' }],
      ['gw / customer a: inbound dnat', 'nft_element', { family: 'inet', table: 'wgplay_nat', set: 'inbound_dnat', key: 'wg-a', value: '10.200.200.1', state: 'present' }],
      ['gw / customer a: inbound snat', 'nft_element', { family: 'inet', table: 'wgplay_nat', set: 'inbound_snat', key: 'wg-a', value: '10.100.100.1', state: 'present' }],
      ['gw / customer a: outbound dnat', 'nft_element', { family: 'inet', table: 'wgplay_nat', set: 'outbound_dnat', key: 'wg-a', value: '10.0.0.1', state: 'present' }],
      ['gw / customer a: outbound snat', 'nft_element', { family: 'inet', table: 'wgplay_nat', set: 'outbound_snat', key: 'wg-a', value: '10.0.0.2', state: 'present' }],
      ['gw / customer b: remove interface wg-b', 'wireguard_interface', { name: 'wg-b', state: 'absent' }],
      ['gw / customer b: remove services reachable', 'nft_element', { family: 'inet', table: 'wgplay_filter', set: 'wg_ifaces', key: 'wg-b', state: 'absent' }],
      ['gw / customer b: remove inbound dnat', 'nft_element', { family: 'inet', table: 'wgplay_nat', set: 'inbound_dnat', key: 'wg-b', state: 'absent' }],
      ['gw / customer b: remove inbound snat', 'nft_element', { family: 'inet', table: 'wgplay_nat', set: 'inbound_snat', key: 'wg-b', state: 'absent' }],
      ['gw / customer b: remove outbound dnat', 'nft_element', { family: 'inet', table: 'wgplay_nat', set: 'outbound_dnat', key: 'wg-b', state: 'absent' }],
      ['gw / customer b: remove outbound snat', 'nft_element', { family: 'inet', table: 'wgplay_nat', set: 'outbound_snat', key: 'wg-b', state: 'absent' }],
      ['gw / customer b: remove policy rule', 'ip_rule', { from: '10.200.200.2', table: 42, priority: 100, state: 'absent' }],
      ['gw / customer b: remove route', 'ip_route', { to: '10.100.100.2', state: 'absent' }],
      ['gw / customer b: remove listen port', 'nft_element', { family: 'inet', table: 'wgplay_filter', set: 'wg_ports', key: 51821, state: 'absent' }],
    ]);
    // SSH only where listed, each interface by name; from anywhere with "any".
    const input = (expanded: typeof tasks) => (expanded.find((task) => task.name === 'gw / nftables filter table')!.args as NftTableArgs).chains![0]!.rules!;
    expect(input(tasks).filter((rule) => rule.includes('dport 22'))).toEqual(['iifname "eth0" tcp dport 22 accept', 'iifname "mgmt0" tcp dport 22 accept']);
    expect(input(expandGateway(args(), { taskName: 'gw' })).filter((rule) => rule.includes('dport 22'))).toEqual(['tcp dport 22 accept']);
  });
});

describe('orphans and foreign elements', () => {
  const nft = (elements: Record<string, { key: string; value?: string }[]>) =>
    [
      { family: 'inet', name: 'wgplay_filter', chains: [], sets: ['wg_ifaces', 'wg_ports'].map((name) => ({ kind: 'set' as const, name, keyType: 'x', flags: [], elements: elements[name] ?? [] })) },
      {
        family: 'inet',
        name: 'wgplay_nat',
        chains: [],
        sets: ['inbound_dnat', 'inbound_snat', 'outbound_dnat', 'outbound_snat'].map((name) => ({ kind: 'map' as const, name, keyType: 'ifname', valueType: 'ipv4_addr', flags: [], elements: elements[name] ?? [] })),
      },
    ];

  it('removes every element of its sets and maps that no customer accounts for', () => {
    const facts = blankFacts({
      nftTables: nft({
        wg_ifaces: [{ key: 'wg-a' }, { key: 'eth0' }],
        wg_ports: [{ key: '51820' }, { key: '22' }],
        inbound_dnat: [{ key: 'wg-a', value: '10.200.200.1' }, { key: 'eth0', value: '10.0.0.9' }],
        inbound_snat: [{ key: 'eth1', value: '10.0.0.9' }],
        outbound_dnat: [{ key: 'lo', value: '10.0.0.9' }],
        outbound_snat: [{ key: 'mgmt0', value: '10.0.0.9' }],
      }),
    });
    const foreign = names(expandGateway(args(), { taskName: 'gw', facts })).filter((name) => name.startsWith('foreign'));
    expect(foreign).toEqual([
      "foreign element eth0 in wgplay_filter wg_ifaces (no customer's): remove",
      "foreign element 22 in wgplay_filter wg_ports (no customer's): remove",
      "foreign element eth0 in wgplay_nat inbound_dnat (no customer's): remove",
      "foreign element eth1 in wgplay_nat inbound_snat (no customer's): remove",
      "foreign element lo in wgplay_nat outbound_dnat (no customer's): remove",
      "foreign element mgmt0 in wgplay_nat outbound_snat (no customer's): remove",
    ]);
  });

  it("removes a gateway interface in neither the record nor the playbook, with its rule and route", () => {
    const facts = blankFacts({
      wg: { 'wg-z': { name: 'wg-z', listenPort: 51830, peers: [] }, wgother: { name: 'wgother', listenPort: 1, peers: [] } },
      addresses: [{ dev: 'wg-z', family: 'inet', local: '10.200.200.9', prefixlen: 32 }],
      rules: [{ family: 'inet', priority: 100, from: '10.200.200.9', table: '50' }],
      routes: [{ family: 'inet', dst: '10.100.100.9', dev: 'wg-z', table: 'main' }],
    });
    const tasks = expandGateway(args(), { taskName: 'gw', facts }).filter((task) => task.name.includes('orphan'));
    expect(tasks.map((task) => `${task.module} ${JSON.stringify(task.args)}`)).toEqual([
      'wireguard_interface {"name":"wg-z","state":"absent"}',
      'ip_rule {"from":"10.200.200.9","table":"50","priority":100,"state":"absent"}',
      'ip_route {"to":"10.100.100.9","state":"absent"}',
    ]);
    // With --rebuild-record, what the host shows of a listed customer's interface is its record.
    const rebuilt = expandGateway(args([bare('z', KEY_A)]), { taskName: 'gw', facts, rebuildRecord: true });
    const wireguard = rebuilt.find((task) => task.module === 'wireguard_interface')!.args as { listen_port: number; table: number };
    expect([wireguard.listen_port, wireguard.table]).toEqual([51830, 50]);
    expect(rebuilt.filter((task) => task.name.includes('orphan'))).toEqual([]);
    // Its rule deleted by hand: z keeps the port the host shows and gets a table again, nothing invalid is removed.
    const partial = expandGateway(args([bare('z', KEY_A)]), { taskName: 'gw', facts: { ...facts, rules: [] }, rebuildRecord: true });
    const again = partial.find((task) => task.module === 'wireguard_interface')!.args as { listen_port: number; table: number };
    expect([again.listen_port, again.table]).toEqual([51830, 41]);
    expect(partial.filter((task) => task.name.includes('remove'))).toEqual([]);
  });
});
