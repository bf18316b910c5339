import { interfaceNameProblem, ipv4Range } from '../../net/index.js';
import type { ArgumentProblem } from '../../tasks/types.js';
import type { GatewayArgs } from './args.js';
import { allocateCustomers, interfaceNameOf, parseRange, PoolExhaustedError } from './allocate.js';

/** Linux's default ephemeral range (net.ipv4.ip_local_port_range). */
const EPHEMERAL = { first: 32768, last: 60999 };

const overlaps = (a: { first: number; last: number }, b: { first: number; last: number }) =>
  a.first <= b.last && b.first <= a.last;

/**
 * Every problem with the gateway's arguments, each naming the customer and field. The
 * schema has checked and canonicalised every address, name and key already (src/net):
 * uniqueness here compares canonical values.
 */
export function checkGateway(args: GatewayArgs): ArgumentProblem[] {
  const problems: ArgumentProblem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  const pools = args.pools;


  // Pools: well-formed, and the two address pools must not overlap.
  const ranges: Record<string, { first: number; last: number } | undefined> = {};
  for (const field of ['listen_ports', 'tables'] as const) {
    const range = parseRange(pools[field]);
    if (range.first > range.last || range.first < 1 || range.last > (field === 'listen_ports' ? 65535 : 4294967295)) {
      add(`/pools/${field}`, `"${pools[field]}" is not a valid range`);
    } else ranges[field] = range;
  }
  for (const field of ['our_addresses', 'customer_addresses'] as const) {
    ranges[field] = ipv4Range(pools[field]);
  }
  if (ranges.our_addresses && ranges.customer_addresses && overlaps(ranges.our_addresses, ranges.customer_addresses)) {
    add('/pools/customer_addresses', `pool ${pools.customer_addresses} overlaps pool our_addresses ${pools.our_addresses}`);
  }
  if (ranges.listen_ports && !args.reserve_listen_ports && overlaps(ranges.listen_ports, EPHEMERAL)) {
    add(
      '/pools/listen_ports',
      `listen ports ${pools.listen_ports} lie in Linux's ephemeral range ${EPHEMERAL.first}-${EPHEMERAL.last}: ` +
        'another program could take one; leave reserve_listen_ports on or pick a range outside it',
    );
  }

  // Customers: each value unique across customers, inside its pool.
  const seen: Record<string, Map<string, number>> = {};
  const unique = (field: string, value: string, index: number, label = field) => {
    const map = (seen[field] ??= new Map());
    const other = map.get(value);
    if (other !== undefined) {
      add(`/customers/${index}/${label}`, `${label} ${value} is also used by customer ${args.customers[other]!.name}`);
    } else map.set(value, index);
  };
  args.customers.forEach((customer, index) => {
    const at = (field: string) => `/customers/${index}/${field}`;
    unique('name', customer.name, index);
    const name = interfaceNameOf(args, customer);
    const nameProblem = interfaceNameProblem(name);
    // Only a name made from the prefix can be wrong here: the schema has checked a given interface.
    if (nameProblem) add(at('name'), `${nameProblem} (interface of customer ${customer.name})`);
    else unique('interface', name, index);
    if (name === args.public_interface || (Array.isArray(args.ssh.interfaces) && args.ssh.interfaces.includes(name))) {
      add(at(customer.interface ? 'interface' : 'name'), `interface ${name} is the gateway's own public or SSH interface`);
    }
    unique('public_key', customer.public_key, index);
    if (customer.address === customer.our_address) add(at('our_address'), 'their address and the address they chose for us are the same');
    if (customer.listen_port !== undefined) {
      if (ranges.listen_ports && (customer.listen_port < ranges.listen_ports.first || customer.listen_port > ranges.listen_ports.last)) {
        add(at('listen_port'), `listen port ${customer.listen_port} is outside pool ${pools.listen_ports} (the firewall opens and reserves only the pool)`);
      }
      unique('listen_port', String(customer.listen_port), index);
    }
    if (customer.table !== undefined) {
      if ([253, 254, 255].includes(customer.table)) add(at('table'), `table ${customer.table} is one of the kernel's own (default, main, local)`);
      unique('table', String(customer.table), index);
    }
    for (const [field, pool] of [
      ['our_translated_address', 'our_addresses'],
      ['translated_address', 'customer_addresses'],
    ] as const) {
      const value = customer[field];
      if (value === undefined) continue;
      const range = ranges[pool];
      const number = ipv4Range(value).first;
      if (range && (number < range.first || number > range.last)) {
        add(at(field), `${value} is outside pool ${pool} ${pools[pool]}`);
      }
      unique('translated', value, index, field);
    }
  });

  if (problems.length === 0) {
    try {
      allocateCustomers(args);
    } catch (error) {
      if (!(error instanceof PoolExhaustedError)) throw error;
      const index = args.customers.findIndex((customer) => customer.name === error.customer);
      add(`/customers/${index}`, error.message);
    }
  }
  return problems;
}
