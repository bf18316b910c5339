import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { gatewaySchema, type GatewayArgs, type GatewayInput } from '../../src/modules/gateway/args.js';
import { gatewayArgs } from './validatedTask.js';
import { validateArgs } from '../../src/playbook/validate.js';
import { allocateCustomers, renderRecord } from '../../src/modules/gateway/allocate.js';
import { checkGateway } from '../../src/modules/gateway/check.js';
import { expandGateway } from '../../src/modules/gateway/expand.js';
import { lockoutProblems } from '../../src/modules/gateway/lockout.js';
import { customerKeyFile, renderCustomerConfig } from '../../src/modules/gateway/customerConfig.js';
import { blankFacts as emptyFacts } from '../../src/facts/blankFacts.js';

const KEY_A = '/TOE4TKtAqVsePRVR+5AA43HkAK5DSntkOCO7nYq5xU=';
const KEY_B = 'fE/wdxzl0klVp/IR8UcaoGUMjqaWi3jAd7KzHKFS6Ds=';
const KEY_C = 'jUd41n3XYa3yXBzyBvWqlLhYgRef5RiBD7jwo70U+Rw=';

function seedArgs(overrides: Partial<GatewayInput> = {}): GatewayArgs {
  return gatewayArgs({
    public_interface: 'eth0',
    public_address: '203.0.113.2',
    ssh: { interfaces: ['eth0'] },
    services: [{ protocol: 'tcp', port: 8080 }],
    customers: [
      { name: 'a', public_key: KEY_A, address: '10.0.0.1', our_address: '10.0.0.2', listen_port: 51821, table: 41, our_translated_address: '10.200.200.1', translated_address: '10.100.100.1' },
      { name: 'b', public_key: KEY_B, address: '10.0.0.1', our_address: '10.0.0.2', listen_port: 51822, table: 42, our_translated_address: '10.200.200.2', translated_address: '10.100.100.2' },
    ],
    ...overrides,
  });
}

const argsOf = (tasks: ReturnType<typeof expandGateway>, module: string) =>
  tasks.filter((task) => task.module === module).map((task) => task.args as Record<string, unknown>);

describe('wireguard_gateway expansion', () => {
  it("produces the seed article's interfaces, rules, routes and NAT map elements", () => {
    const tasks = expandGateway(seedArgs(), { taskName: 'gw', facts: emptyFacts() });
    const interfaces = argsOf(tasks, 'wireguard_interface');
    expect(interfaces.map((i) => [i.name, i.addresses, i.listen_port, i.table])).toEqual([
      ['wg-a', ['10.200.200.1/32'], 51821, 41],
      ['wg-b', ['10.200.200.2/32'], 51822, 42],
    ]);
    expect((interfaces[0]!.peers as any[])[0]).toMatchObject({ public_key: KEY_A, allowed_ips: ['10.0.0.1/32'] });
    expect(interfaces[0]!.pre_up).toEqual(['ip rule add from 10.200.200.1 table 41 priority 100']);
    expect(argsOf(tasks, 'ip_rule')).toEqual([
      { from: '10.200.200.1', table: 41, priority: 100 },
      { from: '10.200.200.2', table: 42, priority: 100 },
    ]);
    expect(argsOf(tasks, 'ip_route')).toEqual([
      { to: '10.100.100.1', dev: 'wg-a' },
      { to: '10.100.100.2', dev: 'wg-b' },
    ]);
    const elements = argsOf(tasks, 'nft_element').filter((e) => e.key === 'wg-a' || e.key === 51821);
    expect(elements.map((e) => `${e.set} ${e.key}${e.value ? ` : ${e.value}` : ''} ${e.state}`)).toEqual([
      'wg_ports 51821 present',
      'wg_ifaces wg-a present',
      'inbound_dnat wg-a : 10.200.200.1 present',
      'inbound_snat wg-a : 10.100.100.1 present',
      'outbound_dnat wg-a : 10.0.0.1 present',
      'outbound_snat wg-a : 10.0.0.2 present',
    ]);
    expect(argsOf(tasks, 'sysctl')).toEqual([{ key: 'net.ipv4.ip_local_reserved_ports', value: '51820-55819', persist: true }]);
  });

  it('leaves out the NAT of the direction a customer does not use', () => {
    const args = seedArgs();
    args.customers[0]!.mode = 'inbound';
    args.customers[1]!.mode = 'outbound';
    const elements = argsOf(expandGateway(args, { taskName: 'gw' }), 'nft_element');
    const present = elements.filter((e) => e.state === 'present').map((e) => `${e.set} ${e.key}`);
    expect(present).toEqual(['wg_ports 51821', 'wg_ifaces wg-a', 'inbound_dnat wg-a', 'inbound_snat wg-a', 'wg_ports 51822', 'outbound_dnat wg-b', 'outbound_snat wg-b']);
  });

  it('removes exactly what the record says it made for a customer no longer listed', () => {
    const args = seedArgs();
    const record = renderRecord(allocateCustomers(args));
    const withoutB = seedArgs({ customers: [args.customers[0]!] });
    const facts = emptyFacts({ files: { '/var/lib/wgplay/gateway.json': { path: '/var/lib/wgplay/gateway.json', exists: true, content: record } } });
    const tasks = expandGateway(withoutB, { taskName: 'gw', facts });
    const absent = tasks.filter((task) => (task.args as any).state === 'absent' && task.name.includes('remove'));
    expect(absent.map((task) => `${task.module} ${JSON.stringify(task.args)}`)).toEqual([
      'wireguard_interface {"name":"wg-b","state":"absent"}',
      'nft_element {"family":"inet","table":"wgplay_filter","set":"wg_ifaces","key":"wg-b","state":"absent"}',
      'nft_element {"family":"inet","table":"wgplay_nat","set":"inbound_dnat","key":"wg-b","state":"absent"}',
      'nft_element {"family":"inet","table":"wgplay_nat","set":"inbound_snat","key":"wg-b","state":"absent"}',
      'nft_element {"family":"inet","table":"wgplay_nat","set":"outbound_dnat","key":"wg-b","state":"absent"}',
      'nft_element {"family":"inet","table":"wgplay_nat","set":"outbound_snat","key":"wg-b","state":"absent"}',
      'ip_rule {"from":"10.200.200.2","table":42,"priority":100,"state":"absent"}',
      'ip_route {"to":"10.100.100.2","state":"absent"}',
      'nft_element {"family":"inet","table":"wgplay_filter","set":"wg_ports","key":51822,"state":"absent"}',
    ]);
    expect(Object.keys(JSON.parse((tasks.find((t) => t.module === 'file')!.args as { content: string }).content).customers)).toEqual(['a']);
  });
});

describe('customers replaced by others', () => {
  it("never removes what a new customer took over from a removed one's freed values", () => {
    const bare = (name: string, key: string) => ({ name, public_key: key, address: '10.0.0.1', our_address: '10.0.0.2' });
    const first = seedArgs({ customers: [bare('x', KEY_A), bare('y', KEY_B)] });
    const record = renderRecord(allocateCustomers(first));
    const facts = emptyFacts({ files: { '/var/lib/wgplay/gateway.json': { path: '/var/lib/wgplay/gateway.json', exists: true, content: record } } });
    // x leaves, z arrives and gets x's freed table and addresses, but not its port (x's
    // daemon holds it until teardown, after z's daemon binds its own).
    const tasks = expandGateway(seedArgs({ customers: [bare('z', KEY_C), bare('y', KEY_B)] }), { taskName: 'gw', facts });
    const removals = tasks.filter((task) => task.name.includes('customer x: remove')).map((task) => `${task.module} ${JSON.stringify(task.args)}`);
    expect(removals).toEqual([
      'wireguard_interface {"name":"wg-x","state":"absent"}',
      'nft_element {"family":"inet","table":"wgplay_filter","set":"wg_ifaces","key":"wg-x","state":"absent"}',
      'nft_element {"family":"inet","table":"wgplay_nat","set":"inbound_dnat","key":"wg-x","state":"absent"}',
      'nft_element {"family":"inet","table":"wgplay_nat","set":"inbound_snat","key":"wg-x","state":"absent"}',
      'nft_element {"family":"inet","table":"wgplay_nat","set":"outbound_dnat","key":"wg-x","state":"absent"}',
      'nft_element {"family":"inet","table":"wgplay_nat","set":"outbound_snat","key":"wg-x","state":"absent"}',
      'nft_element {"family":"inet","table":"wgplay_filter","set":"wg_ports","key":51820,"state":"absent"}',
    ]);
    expect(tasks.find((task) => task.name.includes('customer z: interface'))?.args).toMatchObject({ listen_port: 51822 });
  });

  it("says when the pool is full only because a removed customer's port is not free yet", () => {
    const bare = (name: string, key: string) => ({ name, public_key: key, address: '10.0.0.1', our_address: '10.0.0.2' });
    const first = seedArgs({ pools: { listen_ports: '51820-51821' }, customers: [bare('x', KEY_A), bare('y', KEY_B)] });
    const record = JSON.parse(renderRecord(allocateCustomers(first)));
    const second = seedArgs({ pools: { listen_ports: '51820-51821' }, customers: [bare('z', KEY_C), bare('y', KEY_B)] });
    expect(() => allocateCustomers(second, record)).toThrow(
      /no free listen port left in pool 51820-51821 for customer z \(1 more become free once this apply has removed the customers holding them: apply the removal first\)/,
    );
  });

  it("says nothing of ports becoming free when none will, or when the pool that is full is not the ports'", () => {
    const bare = (name: string, key: string, extra: Record<string, unknown> = {}) => ({ name, public_key: key, address: '10.0.0.1', our_address: '10.0.0.2', ...extra });
    // No customer leaves: the port pool is simply full.
    expect(() => allocateCustomers(seedArgs({ pools: { listen_ports: '51820-51820' }, customers: [bare('x', KEY_A), bare('y', KEY_B)] }))).toThrow(
      /^no free listen port left in pool 51820-51820 for customer y$/,
    );
    // x leaves (its port is held until teardown), but the pool that is full is the tables'.
    const record = JSON.parse(renderRecord(allocateCustomers(seedArgs({ customers: [bare('x', KEY_A)] }))));
    const second = seedArgs({ pools: { tables: '41-41' }, customers: [bare('y', KEY_B, { table: 41 }), bare('z', KEY_C)] });
    expect(() => allocateCustomers(second, record)).toThrow(/^no free table left in pool 41-41 for customer z$/);
  });
});

describe('allocation from the pools', () => {
  const bare = (name: string, key: string) => ({ name, public_key: key, address: '10.0.0.1', our_address: '10.0.0.2' });

  it('is deterministic and takes the lowest free values', () => {
    const args = seedArgs({ customers: [bare('x', KEY_A), bare('y', KEY_B)] });
    const allocations = allocateCustomers(args);
    expect(allocations.get('x')).toEqual({ interface: 'wg-x', listen_port: 51820, table: 41, our_translated_address: '10.200.200.1', translated_address: '10.100.100.1' });
    expect(allocations.get('y')).toMatchObject({ listen_port: 51821, table: 42, our_translated_address: '10.200.200.2' });
  });

  it('takes the default pools for those a partial pools mapping leaves out', () => {
    const args = seedArgs({ pools: { tables: '100-110', our_addresses: '10.201.0.0/24' }, customers: [bare('x', KEY_A)] });
    expect(allocateCustomers(args).get('x')).toEqual({ interface: 'wg-x', listen_port: 51820, table: 100, our_translated_address: '10.201.0.1', translated_address: '10.100.100.1' });
  });

  it('never renumbers a customer when another is added before it or removed', () => {
    const first = seedArgs({ customers: [bare('x', KEY_A), bare('y', KEY_B)] });
    const record = JSON.parse(renderRecord(allocateCustomers(first)));
    // x removed, z added in front: y keeps its values, z takes x's freed ones but its port.
    const second = seedArgs({ customers: [bare('z', KEY_C), bare('y', KEY_B)] });
    const allocations = allocateCustomers(second, record);
    expect(allocations.get('y')).toEqual(allocateCustomers(first).get('y'));
    expect(allocations.get('z')).toMatchObject({ listen_port: 51822, table: 41 });
  });
});

describe('gateway validation', () => {
  // Schema (with its canonical network values) then checks, as a playbook's arguments go.
  const messages = (args: GatewayArgs) =>
    validateArgs('wireguard_gateway', gatewaySchema, checkGateway, args).map((p) => `${p.pointer}: ${p.message}`);

  it('accepts the seed', () => {
    expect(messages(seedArgs())).toEqual([]);
  });

  it('holds 1022 customers in the default pools, numbered from the /24s the defaults once were', () => {
    const key = (i: number) => createHash('sha256').update(`customer ${i}`).digest('base64');
    const many = (count: number) => seedArgs({ customers: Array.from({ length: count }, (_, i) => ({ name: `c${i}`, public_key: key(i), address: '10.0.0.1', our_address: '10.0.0.2' })) });
    const args = many(1022);
    expect(messages(args)).toEqual([]);
    const allocations = allocateCustomers(args);
    expect(allocations.get('c0')).toMatchObject({ our_translated_address: '10.200.200.1', translated_address: '10.100.100.1' });
    expect(allocations.get('c254')).toMatchObject({ our_translated_address: '10.200.200.255', translated_address: '10.100.100.255' });
    expect(allocations.get('c1021')).toMatchObject({ listen_port: 52841, table: 1062, our_translated_address: '10.200.203.254', translated_address: '10.100.103.254' });
    // A gateway made when the defaults were /24s keeps every value; newcomers take the lowest free.
    const record = JSON.parse(renderRecord(allocateCustomers(seedArgs({ pools: { our_addresses: '10.200.200.0/24', customer_addresses: '10.100.100.0/24' }, customers: many(254).customers }))));
    const grown = allocateCustomers(many(300), record);
    expect(Object.fromEntries([...grown].filter(([name]) => name in record.customers))).toEqual(record.customers);
    expect(grown.get('c254')).toMatchObject({ our_translated_address: '10.200.200.255', translated_address: '10.100.100.255' });
    expect(messages(many(1023))).toEqual(['/customers/1022: no free our translated address left in pool 10.200.200.0/22 for customer c1022']);
  });

  it('names the customer and field of every collision', () => {
    const args = seedArgs();
    Object.assign(args.customers[1]!, { listen_port: 51821, table: 41, our_translated_address: '10.200.200.1', public_key: KEY_A, name: 'a' });
    expect(messages(args)).toEqual([
      '/customers/1/name: name a is also used by customer a',
      '/customers/1/interface: interface wg-a is also used by customer a',
      '/customers/1/public_key: public_key /TOE4TKtAqVsePRVR+5AA43HkAK5DSntkOCO7nYq5xU= is also used by customer a',
      '/customers/1/listen_port: listen_port 51821 is also used by customer a',
      '/customers/1/table: table 41 is also used by customer a',
      '/customers/1/our_translated_address: our_translated_address 10.200.200.1 is also used by customer a',
    ]);
  });

  it('rejects long names, bad keys, addresses outside pools and overlapping pools', () => {
    const args = seedArgs({ pools: { customer_addresses: '10.200.0.0/16' } });
    args.customers[0]!.name = 'averyveryverylongcustomer';
    args.customers[1]!.translated_address = '192.168.1.1';
    expect(messages(args)).toEqual([
      '/pools/customer_addresses: pool 10.200.0.0/16 overlaps pool our_addresses 10.200.200.0/22',
      '/customers/0/name: interface name "wg-averyveryverylongcustomer" is longer than 15 bytes (Linux\'s limit) (interface of customer averyveryverylongcustomer)',
      '/customers/0/translated_address: 10.100.100.1 is outside pool customer_addresses 10.200.0.0/16',
      '/customers/1/translated_address: 192.168.1.1 is outside pool customer_addresses 10.200.0.0/16',
    ]);
    args.customers[1]!.public_key = 'not-a-key';
    expect(messages(args)).toEqual(['/customers/1/public_key: not a WireGuard public key (44 characters of base64, ending in "=")']);
  });

  it('compares addresses by their canonical form: another spelling of a customer\'s address is the same address', () => {
    const args = seedArgs();
    Object.assign(args.customers[0]!, { translated_address: '10.100.100.1' });
    Object.assign(args.customers[1]!, { translated_address: '10.100.100.01' });
    expect(messages(args)).toEqual([
      '/customers/1/translated_address: "10.100.100.01" has an octet with a leading zero, which tools read differently (octal or decimal): write 10.100.100.1',
    ]);
    Object.assign(args.customers[1]!, { translated_address: '::ffff:10.100.100.1', our_translated_address: '10.200.200.01' });
    expect(messages(args)).toEqual([
      '/customers/1/our_translated_address: "10.200.200.01" has an octet with a leading zero, which tools read differently (octal or decimal): write 10.200.200.1',
    ]);
    Object.assign(args.customers[1]!, { our_translated_address: '10.200.200.2' });
    expect(messages(args)).toEqual(['/customers/1/translated_address: translated_address 10.100.100.1 is also used by customer a']);
  });

  it('refuses customer addresses no host can have, and bad endpoints', () => {
    for (const address of ['0.0.0.0', '127.0.0.1', '255.255.255.255', '224.0.0.5']) {
      const args = seedArgs();
      args.customers[0]!.address = address;
      expect(messages(args), address).toEqual([expect.stringMatching(new RegExp(`^/customers/0/address: "${address.replace(/\./g, '\\.')}" is (the|a) `))]);
    }
    const args = seedArgs();
    args.customers[0]!.endpoint = '198.51.100.7:99999';
    expect(messages(args)).toEqual(['/customers/0/endpoint: "198.51.100.7:99999" has port 99999, outside 1-65535']);
  });

  it('refuses interface names read as options', () => {
    const args = seedArgs();
    args.customers[0]!.interface = '--version';
    args.public_interface = '-f';
    expect(messages(args)).toEqual([
      '/public_interface: interface name "-f" starts with "-": wireguard-go and wg would read it as an option',
      '/customers/0/interface: interface name "--version" starts with "-": wireguard-go and wg would read it as an option',
    ]);
  });

  it('reports an exhausted pool and an unreserved ephemeral port range', () => {
    const args = seedArgs({ pools: { listen_ports: '51821-51822', tables: '41-41' }, reserve_listen_ports: false });
    for (const c of args.customers) {
      delete c.table;
    }
    expect(messages(args)).toEqual([
      "/pools/listen_ports: listen ports 51821-51822 lie in Linux's ephemeral range 32768-60999: another program could take one; leave reserve_listen_ports on or pick a range outside it",
    ]);
    args.reserve_listen_ports = true;
    expect(messages(args)).toEqual(['/customers/1: no free table left in pool 41-41 for customer b']);
  });
});

describe('customer configuration', () => {
  it('hands the customer our public key, endpoint and their addresses, never a private key', () => {
    const facts = emptyFacts({
      files: { '/etc/wireguard/wg-a.key': { path: '/etc/wireguard/wg-a.key', exists: true, mode: '0600', wgPublicKey: KEY_C } },
    });
    const config = renderCustomerConfig(seedArgs(), 'a', facts);
    expect(config).toContain(`PublicKey = ${KEY_C}`);
    expect(config).toContain('Endpoint = 203.0.113.2:51821');
    expect(config).toContain('Address = 10.0.0.1');
    expect(config).toContain('AllowedIPs = 10.0.0.2');
    expect(config).toMatch(/PrivateKey = <your private key/);
    expect(() => renderCustomerConfig(seedArgs(), 'nobody', facts)).toThrow(/no customer named "nobody" \(customers: a, b\)/);
  });

  it('is the whole wg-quick file, with the keepalive of the customer, else of the gateway, and none at 0', () => {
    const facts = emptyFacts({
      files: { '/etc/wireguard/wg-b.key': { path: '/etc/wireguard/wg-b.key', exists: true, mode: '0600', wgPublicKey: KEY_C } },
    });
    const config = (keepalive: Partial<GatewayInput>, customer: object = {}) => {
      const args = seedArgs(keepalive);
      Object.assign(args.customers[1]!, customer);
      return renderCustomerConfig(args, 'b', facts);
    };
    const lines = (keepalive: string[]) => [
      '# WireGuard configuration for customer b, generated by wgplay.',
      '# Save as /etc/wireguard/wg0.conf on your host and run: wg-quick up wg0',
      '[Interface]',
      'PrivateKey = <your private key: `wg genkey`; it never leaves your host>',
      'Address = 10.0.0.1',
      '',
      '[Peer]',
      `PublicKey = ${KEY_C}`,
      'Endpoint = 203.0.113.2:51822',
      'AllowedIPs = 10.0.0.2',
      ...keepalive,
      '',
    ].join('\n');
    expect(config({ customer_keepalive: 25 })).toBe(lines(['PersistentKeepalive = 25']));
    expect(config({ customer_keepalive: 25 }, { persistent_keepalive: 5 })).toBe(lines(['PersistentKeepalive = 5']));
    expect(config({ customer_keepalive: 25 }, { persistent_keepalive: 0 })).toBe(lines([]));
    expect(config({ customer_keepalive: 0 })).toBe(lines([]));
  });

  it('refuses before the gateway has a key for the customer, and names no customers when there are none', () => {
    expect(() => renderCustomerConfig(seedArgs(), 'a', emptyFacts())).toThrow(new Error('the gateway has no key for wg-a yet: run wgplay apply first'));
    expect(() => renderCustomerConfig(seedArgs({ customers: [] }), 'a', emptyFacts())).toThrow(new Error('no customer named "a" (customers: none)'));
  });

  it("gives the key file of the gateway's interface for a customer, by its explicit interface too", () => {
    const args = seedArgs();
    args.customers[1]!.interface = 'tun-b';
    expect([customerKeyFile(args, 'a'), customerKeyFile(args, 'b'), customerKeyFile(args, 'wg-x')]).toEqual(['/etc/wireguard/wg-a.key', '/etc/wireguard/tun-b.key', '/etc/wireguard/wg-x.key']);
  });
});

describe('SSH lockout, from the connection the host reports', () => {
  // The lab's management link: the controller 172.31.250.1, the gateway 172.31.250.2 on mgmt0.
  const connection = { clientAddress: '172.31.250.1', clientPort: 40022, serverAddress: '172.31.250.2', serverPort: 22, interface: 'mgmt0' };
  const facts = emptyFacts({
    addresses: [
      { dev: 'mgmt0', family: 'inet', local: '172.31.250.2', prefixlen: 30 },
      { dev: 'eth0', family: 'inet', local: '203.0.113.2', prefixlen: 24 },
      { dev: 'eth1', family: 'inet', local: '10.100.100.77', prefixlen: 32 },
    ],
    routes: [
      { family: 'inet', dst: '172.31.250.0/30', dev: 'mgmt0', table: 'main', protocol: 'kernel', scope: 'link' },
      { family: 'inet', dst: '203.0.113.0/24', dev: 'eth0', table: 'main', protocol: 'kernel', scope: 'link' },
    ],
  });
  const context = { taskName: 'gw', origin: 'gateway.yaml:3:5', facts, connection };
  const safe = (overrides: Partial<GatewayInput> = {}) =>
    seedArgs({ ssh: { interfaces: ['mgmt0', 'eth0'] }, pools: { customer_addresses: '10.100.101.0/24' }, customers: [], ...overrides });

  it('accepts a gateway that keeps the connection open and stays off the host addresses', () => {
    expect(() => expandGateway(safe(), context)).not.toThrow();
    expect(() => expandGateway(safe({ ssh: { interfaces: 'any' } }), context)).not.toThrow();
  });

  it('refuses ssh.interfaces without the interface the connection arrived on, and another ssh.port', () => {
    expect(() => expandGateway(safe({ ssh: { interfaces: ['eth0'] } }), context)).toThrow(
      /task "gw" \(gateway\.yaml:3:5\) refused, nothing changed:\n {2}- wgplay reaches this host over SSH at 172\.31\.250\.2 on mgmt0, but ssh\.interfaces is \[eth0\]/,
    );
    expect(() => expandGateway(safe({ ssh: { interfaces: 'any', port: 2222 } }), context)).toThrow(
      /ssh\.port is 2222, but wgplay's SSH connection arrived at 172\.31\.250\.2 port 22/,
    );
    // Arriving over loopback (a forwarded port), the filter's "iif lo accept" keeps it open.
    const overLoopback = { ...context, connection: { ...connection, serverAddress: '127.0.0.1', interface: 'lo' } };
    expect(() => expandGateway(safe({ ssh: { interfaces: ['eth0'], port: 2222 } }), overLoopback)).not.toThrow();
  });

  it('refuses pools and translated addresses that cover the controller, the host or its networks', () => {
    expect(() => expandGateway(safe({ pools: { customer_addresses: '172.31.250.0/30' } }), context)).toThrow(
      /pools\.customer_addresses 172\.31\.250\.0\/30 covers the controller's address 172\.31\.250\.1[^]*covers 172\.31\.250\.2, the address SSH arrived at[^]*covers the network 172\.31\.250\.0\/30 connected on mgmt0/,
    );
    expect(() => expandGateway(safe({ pools: { our_addresses: '172.31.0.0/16' } }), context)).toThrow(/pools\.our_addresses 172\.31\.0\.0\/16 covers/);
    // The default customer pool holds eth1's address: both the pool and the customer are named.
    const hostAddress = seedArgs({ ssh: { interfaces: ['mgmt0'] }, customers: [{ ...seedArgs().customers[0]!, translated_address: '10.100.100.77' }] });
    expect(() => expandGateway(hostAddress, context)).toThrow(
      /pools\.customer_addresses 10\.100\.100\.0\/22 covers 10\.100\.100\.77, an address of this host \(on eth1\)[^]*customer a: translated_address 10\.100\.100\.77 collides with 10\.100\.100\.77, an address of this host \(on eth1\)/,
    );
  });

  it('guards only IPv4 addresses of the host and the networks its links connect, and lists ten customers at most', () => {
    const host = emptyFacts({
      addresses: [
        { dev: 'eth0', family: 'inet', local: '10.100.100.5', prefixlen: 24 },
        { dev: 'eth0', family: 'inet6', local: '::ffff:10.100.100.6', prefixlen: 128 },
        { dev: 'wg-a', family: 'inet', local: '10.100.100.7', prefixlen: 32 },
      ],
      routes: [
        { family: 'inet', dst: '10.100.101.0/24', dev: 'eth1', table: 'main', scope: 'link' },
        // Not a connected network: another table, a gateway route, a host route, our own interface.
        { family: 'inet', dst: '10.100.102.0/24', dev: 'eth1', table: '41', scope: 'link' },
        { family: 'inet', dst: '10.100.103.0/24', gateway: '10.100.101.1', dev: 'eth1', table: 'main' },
        { family: 'inet', dst: '10.100.104.1', dev: 'eth1', table: 'main', scope: 'link' },
        { family: 'inet', dst: '10.100.105.0/24', dev: 'wg-b', table: 'main', scope: 'link' },
      ],
    });
    // The connection reports no interface: the one holding the address SSH arrived at is it.
    const ssh = { clientAddress: '192.0.2.1', clientPort: 40022, serverAddress: '10.100.100.5', serverPort: 22 };
    const args = safe({ ssh: { interfaces: ['eth1'] }, pools: { customer_addresses: '10.100.96.0/20' } });
    const translated = (addresses: string[]) =>
      new Map(addresses.map((address, index) => [`c${index}`, { interface: `wg-c${index}`, listen_port: 51821 + index, table: 41 + index, our_translated_address: `10.200.200.${index + 1}`, translated_address: address }]));
    expect(lockoutProblems(args, ssh, host, translated(['10.100.104.1', '10.100.101.9']), new Set(['wg-a', 'wg-b']))).toEqual([
      'wgplay reaches this host over SSH at 10.100.100.5 on eth0, but ssh.interfaces is [eth1]: the firewall would lock wgplay (and you) out. Add eth0 to ssh.interfaces.',
      'pools.customer_addresses 10.100.96.0/20 covers 10.100.100.5, the address SSH arrived at: its routes, rules and NAT would take that traffic. Choose a pool outside it.',
      'pools.customer_addresses 10.100.96.0/20 covers the network 10.100.101.0/24 connected on eth1: its routes, rules and NAT would take that traffic. Choose a pool outside it.',
      'customer c1: translated_address 10.100.101.9 collides with the network 10.100.101.0/24 connected on eth1',
    ]);
    const many = lockoutProblems(safe(), ssh, host, translated(Array.from({ length: 12 }, () => '10.100.100.5')), new Set());
    expect(many.slice(-2)).toEqual(['customer c9: translated_address 10.100.100.5 collides with 10.100.100.5, the address SSH arrived at', "... and 2 more customers' addresses like these"]);
    expect(lockoutProblems(safe(), ssh, host, translated(Array.from({ length: 10 }, () => '10.100.100.5')), new Set()).at(-1)).toMatch(/^customer c9: /);
  });

  it("ignores the addresses of the gateway's own interfaces", () => {
    const withTunnel = { ...context, facts: { ...facts, addresses: [...facts.addresses, { dev: 'wg-a', family: 'inet' as const, local: '10.200.200.1', prefixlen: 32 }] } };
    const args = safe({ customers: [seedArgs().customers[0]!] });
    expect(() => expandGateway(args, withTunnel)).not.toThrow();
  });
});

describe("a newcomer's explicit listen_port", () => {
  const bare = (name: string, key: string, extra: Record<string, unknown> = {}) => ({ name, public_key: key, address: '10.0.0.1', our_address: '10.0.0.2', ...extra });

  it("is refused, naming both customers, when it is the port of a customer this apply removes", () => {
    const record = JSON.parse(renderRecord(allocateCustomers(seedArgs({ customers: [bare('x', KEY_A), bare('y', KEY_B)] }))));
    expect(record.customers.x.listen_port).toBe(51820);
    const second = seedArgs({ customers: [bare('z', KEY_C, { listen_port: 51820 }), bare('y', KEY_B)] });
    expect(() => allocateCustomers(second, record)).toThrow(
      "customer z's listen_port 51820 is held by customer x, whom this apply removes: x's daemon keeps it until the apply ends, and z's must bind it before that. " +
        'Remove x in one apply and add z in the next (or give z another port)',
    );
    const facts = emptyFacts({ files: { '/var/lib/wgplay/gateway.json': { path: '/var/lib/wgplay/gateway.json', exists: true, content: JSON.stringify(record) } } });
    expect(() => expandGateway(second, { taskName: 'gw', facts })).toThrow(/customer z's listen_port 51820 is held by customer x/);
  });

  it('is taken once the leaving customer is gone from the record (the next apply)', () => {
    const record = JSON.parse(renderRecord(allocateCustomers(seedArgs({ customers: [bare('x', KEY_A), bare('y', KEY_B)] }))));
    delete record.customers.x;
    const next = allocateCustomers(seedArgs({ customers: [bare('z', KEY_C, { listen_port: 51820 }), bare('y', KEY_B)] }), record);
    expect(next.get('z')?.listen_port).toBe(51820);
    expect(next.get('y')?.listen_port).toBe(51821);
  });
});
