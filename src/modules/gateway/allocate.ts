import { ipv4Range, numberToIpv4, ipv4ToNumber } from '../../net/index.js';
import type { GatewayArgs, GatewayCustomer } from './args.js';

/** The values we choose for one customer. */
export interface CustomerAllocation {
  interface: string;
  listen_port: number;
  table: number;
  our_translated_address: string;
  translated_address: string;
}

/** What wgplay keeps on the gateway: the customers it manages and their values. */
export interface GatewayRecord {
  version: 1;
  customers: Record<string, CustomerAllocation>;
}

type Field = 'listen_port' | 'table' | 'our_translated_address' | 'translated_address';
const FIELDS: Field[] = ['listen_port', 'table', 'our_translated_address', 'translated_address'];

export class PoolExhaustedError extends Error {
  constructor(readonly field: Field, readonly customer: string, pool: string, note: string) {
    super(`no free ${field.replace(/_/g, ' ')} left in pool ${pool} for customer ${customer}${note}`);
  }
}

export class PortStillHeldError extends Error {
  constructor(readonly customer: string, readonly leaving: string, port: number) {
    super(
      `customer ${customer}'s listen_port ${port} is held by customer ${leaving}, whom this apply removes: ` +
        `${leaving}'s daemon keeps it until the apply ends, and ${customer}'s must bind it before that. ` +
        `Remove ${leaving} in one apply and add ${customer} in the next (or give ${customer} another port)`,
    );
  }
}

export function parseRange(text: string): { first: number; last: number } {
  const [first, last] = text.split('-').map(Number);
  return { first: first!, last: last! };
}

/** Usable host addresses of a pool (network and broadcast excluded when there are any). */
function poolAddresses(cidr: string): { first: number; last: number } {
  const range = ipv4Range(cidr);
  return range.last - range.first >= 3 ? { first: range.first + 1, last: range.last - 1 } : range;
}

export const interfaceNameOf = (args: GatewayArgs, customer: GatewayCustomer) =>
  customer.interface ?? `${args.interface_prefix}${customer.name}`;

/**
 * Values for every customer: explicit ones first, then what the record says the
 * customer already has, then the lowest free value of the pool. So adding or
 * removing one customer never renumbers another.
 */
export function allocateCustomers(args: GatewayArgs, record?: GatewayRecord): Map<string, CustomerAllocation> {
  const pools = args.pools;
  const candidates: Record<Field, { pool: string; first: number; last: number; toValue: (n: number) => number | string; toNumber: (v: number | string) => number }> = {
    listen_port: { pool: pools.listen_ports, ...parseRange(pools.listen_ports), toValue: (n) => n, toNumber: Number },
    table: { pool: pools.tables, ...parseRange(pools.tables), toValue: (n) => n, toNumber: Number },
    our_translated_address: { pool: pools.our_addresses, ...poolAddresses(pools.our_addresses), toValue: numberToIpv4, toNumber: (v) => ipv4ToNumber(String(v)) },
    translated_address: { pool: pools.customer_addresses, ...poolAddresses(pools.customer_addresses), toValue: numberToIpv4, toNumber: (v) => ipv4ToNumber(String(v)) },
  };
  const used = Object.fromEntries(FIELDS.map((field) => [field, new Set<string>()])) as Record<Field, Set<string>>;
  const chosen = new Map<string, Partial<Record<Field, number | string>>>();

  for (const customer of args.customers) {
    const values: Partial<Record<Field, number | string>> = {};
    for (const field of FIELDS) {
      const explicit = customer[field];
      if (explicit !== undefined) {
        values[field] = explicit;
        used[field].add(String(explicit));
      }
    }
    chosen.set(customer.name, values);
  }
  for (const customer of args.customers) {
    const recorded = record?.customers[customer.name];
    const values = chosen.get(customer.name)!;
    for (const field of FIELDS) {
      const value = recorded?.[field];
      if (values[field] !== undefined || value === undefined || used[field].has(String(value))) continue;
      const range = candidates[field];
      const number = range.toNumber(value);
      if (number < range.first || number > range.last) continue; // the pool moved: allocate anew
      values[field] = value;
      used[field].add(String(value));
    }
  }
  // A port a removed customer's daemon still holds is not handed to a newcomer in the
  // same apply: the newcomer's daemon binds it (wireguard phase) before the removed
  // one is torn down (teardown phase), and would fail with "Address already in use".
  // Nor may a newcomer ask for it: removing first would cut the leaving customer's
  // traffic before the apply has shown anything else works, so the operator splits it.
  const leavingCustomers = Object.entries(record?.customers ?? {}).filter(([name]) => !chosen.has(name));
  for (const [leaver, allocation] of leavingCustomers) {
    const taker = args.customers.find((customer) => customer.listen_port === allocation.listen_port);
    if (taker) throw new PortStillHeldError(taker.name, leaver, allocation.listen_port);
  }
  // (A leaving customer always has a port: a record read from the file has every value,
  // one rebuilt from the host lists only complete unlisted interfaces.)
  const leaving = leavingCustomers
    .map(([, allocation]) => String(allocation.listen_port))
    .filter((port) => !used.listen_port.has(port));
  for (const port of leaving) used.listen_port.add(port);
  const leavingNote = (field: Field) =>
    field === 'listen_port' && leaving.length > 0
      ? ` (${leaving.length} more become free once this apply has removed the customers holding them: apply the removal first)`
      : '';
  // Lowest free value first. Values only ever get taken, so everything below a
  // field's cursor is taken: each pool is walked once, not once per customer.
  const cursor = Object.fromEntries(FIELDS.map((field) => [field, candidates[field].first])) as Record<Field, number>;
  for (const customer of args.customers) {
    const values = chosen.get(customer.name)!;
    for (const field of FIELDS) {
      if (values[field] !== undefined) continue;
      const range = candidates[field];
      while (cursor[field] <= range.last && used[field].has(String(range.toValue(cursor[field])))) cursor[field]++;
      if (cursor[field] > range.last) throw new PoolExhaustedError(field, customer.name, range.pool, leavingNote(field));
      const found = range.toValue(cursor[field]);
      values[field] = found;
      used[field].add(String(found));
    }
  }

  const result = new Map<string, CustomerAllocation>();
  for (const customer of args.customers) {
    const values = chosen.get(customer.name)!;
    result.set(customer.name, {
      interface: interfaceNameOf(args, customer),
      listen_port: Number(values.listen_port),
      table: Number(values.table),
      our_translated_address: String(values.our_translated_address),
      translated_address: String(values.translated_address),
    });
  }
  return result;
}

// localeCompare's order, without building a collator at each of its calls (a thousand customers: ~10 000 compares).
const byName = new Intl.Collator().compare;

export function renderRecord(allocations: Map<string, CustomerAllocation>): string {
  const customers = Object.fromEntries([...allocations.entries()].sort(([a], [b]) => byName(a, b)));
  return `${JSON.stringify({ version: 1, customers }, null, 2)}\n`;
}
