// The gateway's record (/var/lib/wgplay/gateway.json): which customers wgplay made on
// the host and with which values. Removal is only as good as the record, so a record
// that cannot be read stops the run; `--rebuild-record` reads it back from the host.
import type { HostFacts } from '../../facts/types.js';
import { interfaceNameProblem, parseIpv4 } from '../../net/index.js';
import { isOurIdleTun } from '../../tasks/wireguardInterface.js';
import type { GatewayArgs } from './args.js';
import { interfaceNameOf, type CustomerAllocation, type GatewayRecord } from './allocate.js';

/** Up to ~80 000 customers' record is read whole. */
export const RECORD_CONTENT_LIMIT = 16 * 1024 * 1024;

const isInteger = (value: unknown, max: number) => Number.isInteger(value) && (value as number) >= 1 && (value as number) <= max;

/** Why the parsed content is not a record, or undefined when it is one. */
function recordProblem(parsed: unknown): string | undefined {
  const record = parsed as Partial<GatewayRecord> | null;
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return 'is not a JSON object';
  if (record.version !== 1) return `has version ${JSON.stringify(record.version)}, this wgplay reads version 1`;
  if (typeof record.customers !== 'object' || record.customers === null || Array.isArray(record.customers)) return 'has no "customers" object';
  for (const [name, entry] of Object.entries(record.customers)) {
    const value = entry as Partial<CustomerAllocation> | null;
    const bad = (field: string) => `has an invalid ${field} for customer ${JSON.stringify(name)}`;
    if (typeof value !== 'object' || value === null) return bad('entry');
    if (typeof value.interface !== 'string' || interfaceNameProblem(value.interface)) return bad('interface');
    if (!isInteger(value.listen_port, 65535)) return bad('listen_port');
    if (!isInteger(value.table, 4294967295)) return bad('table');
    for (const field of ['our_translated_address', 'translated_address'] as const) {
      if (typeof value[field] !== 'string' || !parseIpv4(value[field]).ok) return bad(field);
    }
  }
  return undefined;
}

/**
 * The record on the host. Undefined before the first apply (no file) and when there
 * are no facts yet. Throws, naming the file, when it exists but cannot be trusted.
 */
export function readRecord(args: GatewayArgs, facts: HostFacts | undefined, rebuild = false): GatewayRecord | undefined {
  if (!facts) return undefined;
  if (rebuild) return recordFromHost(args, facts);
  const path = args.state_file;
  const fact = facts.files[path];
  if (!fact?.exists) return undefined;
  const refuse = (why: string): never => {
    throw new Error(
      `the gateway's record ${path} ${why}: wgplay cannot tell which customers it made on this host, so it changes nothing. ` +
        `Restore the file, or run "wgplay apply --rebuild-record" to rebuild it from what is on the host ` +
        `(interfaces named ${args.interface_prefix}*, their files, the elements of wgplay's nftables sets and maps).`,
    );
  };
  if (fact.type !== undefined && fact.type !== 'file') refuse('is not a regular file');
  if (fact.content === undefined) refuse(fact.sha256 === undefined ? 'cannot be read' : 'is too large to read');
  let parsed: unknown;
  try {
    parsed = JSON.parse(fact.content!);
  } catch (error) {
    refuse(`is not valid JSON (${(error as Error).message})`);
  }
  const problem = recordProblem(parsed);
  if (problem) refuse(problem);
  return parsed as GatewayRecord;
}

/**
 * The gateway's WireGuard interfaces on the host: named with its prefix, or a customer's
 * explicit name; live ones and TUNs of ours whose daemon is gone.
 */
export function gatewayInterfacesOnHost(args: GatewayArgs, facts: HostFacts): string[] {
  const prefix = args.interface_prefix;
  const named = new Set(args.customers.map((customer) => interfaceNameOf(args, customer)));
  const idle = facts.links.filter((link) => isOurIdleTun(link, facts.wg[link.name])).map((link) => link.name);
  return [...Object.keys(facts.wg), ...idle].filter((name) => (prefix !== '' && name.startsWith(prefix)) || named.has(name));
}

/** What the host says a gateway interface's values are; fields it cannot tell are missing. */
function valuesOnHost(args: GatewayArgs, facts: HostFacts, iface: string): Partial<CustomerAllocation> & { interface: string } {
  const priority = args.rule_priority;
  const address = facts.addresses.find((a) => a.dev === iface && a.family === 'inet')?.local;
  const rule = address ? facts.rules.find((r) => r.family === 'inet' && r.from === address && r.priority === priority && /^\d+$/.test(r.table)) : undefined;
  const snat = facts.nftTables.flatMap((table) => table.sets).find((set) => set.name === 'inbound_snat')?.elements.find((e) => e.key === iface)?.value;
  const route = facts.routes.find((r) => r.family === 'inet' && r.table === 'main' && r.dev === iface && !r.dst.includes('/') && r.dst !== 'default');
  const listenPort = facts.wg[iface]?.listenPort;
  return {
    interface: iface,
    ...(listenPort && { listen_port: listenPort }),
    ...(rule && { table: Number(rule.table) }),
    ...(address && { our_translated_address: address }),
    ...((snat ?? route?.dst) && { translated_address: snat ?? route!.dst }),
  };
}

const complete = (values: Partial<CustomerAllocation>): values is CustomerAllocation =>
  values.interface !== undefined && values.listen_port !== undefined && values.table !== undefined &&
  values.our_translated_address !== undefined && values.translated_address !== undefined;

/**
 * The record as the host shows it, under each customer's name: for a customer the
 * arguments list, whatever values can be read back (port, address, rule's table,
 * translated address: they keep them; the rest is allocated); for any other gateway
 * interface, the values when all can be read back (it is removed as a customer).
 * Interfaces it cannot read back completely are orphans: removed, not recorded.
 */
function recordFromHost(args: GatewayArgs, facts: HostFacts): GatewayRecord {
  const prefix = args.interface_prefix;
  const nameOf = new Map(args.customers.map((customer) => [interfaceNameOf(args, customer), customer.name]));
  const customers: Record<string, CustomerAllocation> = {};
  for (const iface of gatewayInterfacesOnHost(args, facts)) {
    const values = valuesOnHost(args, facts, iface);
    const listed = nameOf.get(iface);
    // A listed customer's partial values only seed its allocation: the record written
    // (before and after the run) holds its complete allocation instead.
    if (listed !== undefined) customers[listed] = values as CustomerAllocation;
    else if (complete(values)) customers[iface.slice(prefix.length)] = values;
  }
  return { version: 1, customers };
}
