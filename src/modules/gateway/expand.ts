import type { HostFacts } from '../../facts/types.js';
import type { IpRouteArgs } from '../../tasks/ipRoute.js';
import type { IpRuleArgs } from '../../tasks/ipRule.js';
import { findNftSet, type NftElementArgs } from '../../tasks/nftElement.js';
import type { NftTableArgs } from '../../tasks/nftTable.js';
import type { ExpandContext, TaskInvocation } from '../../tasks/types.js';
import type { WireguardInterfaceArgs } from '../../tasks/wireguardInterface.js';
import type { GatewayArgs, GatewayCustomer } from './args.js';
import { lockoutProblems } from './lockout.js';
import { allocateCustomers, renderRecord, type CustomerAllocation } from './allocate.js';
import { gatewayInterfacesOnHost, readRecord } from './record.js';

export { readRecord } from './record.js';

function tableNames(args: GatewayArgs) {
  const prefix = args.nft_table_prefix;
  return { filter: `${prefix}_filter`, nat: `${prefix}_nat` };
}

/** The four NAT maps of the seed's "Inbound and Outbound" ruleset, keyed by interface name. */
const NAT_MAPS = {
  inbound_dnat: { chain: 'prerouting', hook: 'prerouting', priority: -100, rule: 'dnat ip to iifname map @inbound_dnat' },
  inbound_snat: { chain: 'input', hook: 'input', priority: 100, rule: 'snat ip to iifname map @inbound_snat' },
  outbound_dnat: { chain: 'output', hook: 'output', priority: -100, rule: 'dnat ip to oifname map @outbound_dnat' },
  outbound_snat: { chain: 'postrouting', hook: 'postrouting', priority: 100, rule: 'snat ip to oifname map @outbound_snat' },
} as const;
type NatMap = keyof typeof NAT_MAPS;

/** The seed's filter table: input policy drop, SSH where configured, WireGuard ports, services on tunnels. */
function filterTable(args: GatewayArgs): NftTableArgs {
  const ssh = args.ssh.port;
  const sshRules =
    args.ssh.interfaces === 'any'
      ? [`tcp dport ${ssh} accept`]
      : args.ssh.interfaces.map((name) => `iifname "${name}" tcp dport ${ssh} accept`);
  return {
    family: 'inet',
    name: tableNames(args).filter,
    // Back at boot, before the interfaces: the filter must not be missing for a moment.
    persist: true,
    sets: [
      { name: 'wg_ifaces', type: 'ifname' },
      { name: 'wg_ports', type: 'inet_service' },
    ],
    chains: [
      {
        name: 'input',
        type: 'filter',
        hook: 'input',
        priority: 0,
        policy: 'drop',
        rules: [
          'iif "lo" accept',
          'meta l4proto { icmp, ipv6-icmp } accept',
          'ct state vmap { invalid : drop, established : accept, related : accept }',
          ...sshRules,
          `iifname "${args.public_interface}" udp dport @wg_ports accept`,
          ...args.services.map((service) => `iifname @wg_ifaces ${service.protocol} dport ${service.port} accept`),
          'reject',
        ],
      },
      { name: 'forward', type: 'filter', hook: 'forward', priority: 0, policy: 'drop', rules: ['reject with icmpx host-unreachable'] },
    ],
  };
}

function natTable(args: GatewayArgs): NftTableArgs {
  return {
    family: 'inet',
    name: tableNames(args).nat,
    persist: true,
    maps: (Object.keys(NAT_MAPS) as NatMap[]).map((name) => ({ name, type: 'ifname', value_type: 'ipv4_addr' })),
    chains: Object.values(NAT_MAPS).map((map) => ({
      name: map.chain,
      type: 'nat' as const,
      hook: map.hook,
      priority: map.priority,
      policy: 'accept' as const,
      rules: [map.rule],
    })),
  };
}

/** What each map holds for a customer; undefined = no element there. */
function natElements(customer: GatewayCustomer, allocation: CustomerAllocation): Record<NatMap, string | undefined> {
  const mode = customer.mode;
  const inbound = mode !== 'outbound';
  const outbound = mode !== 'inbound';
  return {
    inbound_dnat: inbound ? allocation.our_translated_address : undefined,
    inbound_snat: inbound ? allocation.translated_address : undefined,
    outbound_dnat: outbound ? customer.address : undefined,
    outbound_snat: outbound ? customer.our_address : undefined,
  };
}

function element(table: string, set: string, key: string | number, present: boolean, value?: string): NftElementArgs {
  return { family: 'inet', table, set, key, ...(present && value !== undefined && { value }), state: present ? 'present' : 'absent' };
}

/** The primitive tasks that make one customer, as the seed lays it out. */
function customerTasks(args: GatewayArgs, customer: GatewayCustomer, allocation: CustomerAllocation): TaskInvocation[] {
  const tables = tableNames(args);
  const priority = args.rule_priority;
  const iface = allocation.interface;
  const label = (what: string) => `customer ${customer.name}: ${what}`;
  const wireguard: WireguardInterfaceArgs = {
    name: iface,
    addresses: [`${allocation.our_translated_address}/32`],
    listen_port: allocation.listen_port,
    table: allocation.table,
    peers: [
      {
        public_key: customer.public_key,
        allowed_ips: [`${customer.address}/32`],
        endpoint: customer.endpoint,
        persistent_keepalive: customer.persistent_keepalive,
      },
    ],
    // For the next boot, exactly as the seed writes them; live state is converged by the tasks below.
    pre_up: [`ip rule add from ${allocation.our_translated_address} table ${allocation.table} priority ${priority}`],
    post_down: [`ip rule del from ${allocation.our_translated_address} table ${allocation.table} priority ${priority}`],
    post_up: [`ip route add ${allocation.translated_address} dev %i`],
  };
  const rule: IpRuleArgs = { from: allocation.our_translated_address, table: allocation.table, priority };
  // Outbound traffic to their translated address leaves through their tunnel; inbound
  // replies are routed to it too before connection tracking reverses the NAT.
  const route: IpRouteArgs = { to: allocation.translated_address, dev: iface };
  const nat = natElements(customer, allocation);
  const inbound = customer.mode !== 'outbound';
  return [
    { name: label(`interface ${iface}`), module: 'wireguard_interface', args: wireguard },
    { name: label('policy rule'), module: 'ip_rule', args: rule },
    { name: label('route to their translated address'), module: 'ip_route', args: route },
    { name: label('listen port open'), module: 'nft_element', args: element(tables.filter, 'wg_ports', allocation.listen_port, true) },
    { name: label('services reachable'), module: 'nft_element', args: element(tables.filter, 'wg_ifaces', iface, inbound) },
    ...(Object.keys(NAT_MAPS) as NatMap[]).map((map) => ({
      name: label(map.replace('_', ' ')),
      module: 'nft_element',
      args: element(tables.nat, map, iface, nat[map] !== undefined, nat[map]),
    })),
  ];
}

/** What the current customers use, to look up (every recorded customer is checked against all of them). */
interface InUse {
  interfaces: Set<string>;
  rules: Set<string>;
  translatedAddresses: Set<string>;
  listenPorts: Set<number>;
}

const ruleOf = (allocation: CustomerAllocation) => `${allocation.our_translated_address} ${allocation.table}`;

function inUseBy(current: CustomerAllocation[]): InUse {
  return {
    interfaces: new Set(current.map((a) => a.interface)),
    rules: new Set(current.map(ruleOf)),
    translatedAddresses: new Set(current.map((a) => a.translated_address)),
    listenPorts: new Set(current.map((a) => a.listen_port)),
  };
}

/**
 * Removes what wgplay made for a customer's old values (`old`), except what any
 * current customer uses: a freed port, table or address may already be another's.
 */
function removalTasks(args: GatewayArgs, name: string, old: CustomerAllocation, current: InUse): TaskInvocation[] {
  const tables = tableNames(args);
  const priority = args.rule_priority;
  const label = (what: string) => `customer ${name}: remove ${what}`;
  const tasks: TaskInvocation[] = [];
  if (!current.interfaces.has(old.interface)) {
    tasks.push({ name: label(`interface ${old.interface}`), module: 'wireguard_interface', args: { name: old.interface, state: 'absent' } });
    tasks.push({ name: label('services reachable'), module: 'nft_element', args: element(tables.filter, 'wg_ifaces', old.interface, false) });
    for (const map of Object.keys(NAT_MAPS) as NatMap[]) {
      tasks.push({ name: label(map.replace('_', ' ')), module: 'nft_element', args: element(tables.nat, map, old.interface, false) });
    }
  }
  // A record rebuilt from the host may lack values it could not read back: nothing to remove for those.
  if (old.table !== undefined && old.our_translated_address !== undefined && !current.rules.has(ruleOf(old))) {
    const rule: IpRuleArgs = { from: old.our_translated_address, table: old.table, priority, state: 'absent' };
    tasks.push({ name: label('policy rule'), module: 'ip_rule', args: rule });
  }
  if (old.translated_address !== undefined && !current.translatedAddresses.has(old.translated_address)) {
    tasks.push({ name: label('route'), module: 'ip_route', args: { to: old.translated_address, state: 'absent' } satisfies IpRouteArgs });
  }
  if (old.listen_port !== undefined && !current.listenPorts.has(old.listen_port)) {
    tasks.push({ name: label('listen port'), module: 'nft_element', args: element(tables.filter, 'wg_ports', old.listen_port, false) });
  }
  return tasks;
}

/**
 * A gateway interface on the host that neither the record nor the arguments name (a run
 * that stopped before writing its record, a record rebuilt or lost): removed with its
 * files and the rules and routes that lead to it. Its elements go as foreign ones.
 */
function orphanTasks(args: GatewayArgs, iface: string, facts: HostFacts): TaskInvocation[] {
  const priority = args.rule_priority;
  const label = (what: string) => `orphan ${iface} (in neither the record nor the playbook): remove ${what}`;
  const addresses = new Set(facts.addresses.filter((a) => a.dev === iface && a.family === 'inet').map((a) => a.local));
  return [
    { name: label('interface'), module: 'wireguard_interface', args: { name: iface, state: 'absent' } },
    ...facts.rules
      .filter((rule) => rule.family === 'inet' && rule.from !== undefined && addresses.has(rule.from) && rule.priority === priority && !rule.to && rule.table !== '')
      .map((rule) => ({ name: label('policy rule'), module: 'ip_rule', args: { from: rule.from, table: rule.table, priority, state: 'absent' } satisfies IpRuleArgs })),
    ...facts.routes
      .filter((route) => route.family === 'inet' && route.table === 'main' && route.dev === iface)
      .map((route) => ({ name: label('route'), module: 'ip_route', args: { to: route.dst, state: 'absent' } satisfies IpRouteArgs })),
  ];
}

/** The sets and maps of wgplay's two tables: wholly wgplay's. */
function ownedSets(args: GatewayArgs): { table: string; set: string }[] {
  const tables = tableNames(args);
  return [
    { table: tables.filter, set: 'wg_ifaces' },
    { table: tables.filter, set: 'wg_ports' },
    ...(Object.keys(NAT_MAPS) as NatMap[]).map((set) => ({ table: tables.nat, set })),
  ];
}

/**
 * Every element of wgplay's sets and maps that no task accounts for (added by hand, left
 * by a lost record) is drift: removed, whether or not the table itself is replaced.
 */
function foreignElementTasks(args: GatewayArgs, facts: HostFacts, tasks: TaskInvocation[]): TaskInvocation[] {
  const accounted = new Set(
    tasks.filter((task) => task.module === 'nft_element').map((task) => {
      const element = task.args as NftElementArgs;
      return `${element.table} ${element.set} ${element.key}`;
    }),
  );
  return ownedSets(args).flatMap(({ table, set }) =>
    (findNftSet(facts, 'inet', table, set)?.elements ?? [])
      .filter((element) => !accounted.has(`${table} ${set} ${element.key}`))
      .map((element) => ({
        name: `foreign element ${element.key} in ${table} ${set} (no customer's): remove`,
        module: 'nft_element',
        args: { family: 'inet', table, set, key: element.key, state: 'absent' } satisfies NftElementArgs,
      })),
  );
}

export function expandGateway(args: GatewayArgs, context: ExpandContext): TaskInvocation[] {
  const record = readRecord(args, context.facts, context.rebuildRecord);
  const allocations = allocateCustomers(args, record);
  const known = new Set([...allocations.values(), ...Object.values(record?.customers ?? {})].map((allocation) => allocation.interface));
  const orphans = context.facts ? gatewayInterfacesOnHost(args, context.facts).filter((iface) => !known.has(iface)) : [];
  if (context.connection && context.facts) {
    const own = new Set([...known, ...orphans]);
    const problems = lockoutProblems(args, context.connection, context.facts, allocations, own);
    if (problems.length > 0) {
      const task = `task "${context.taskName}"${context.origin ? ` (${context.origin})` : ''}`;
      throw new Error(`${task} refused, nothing changed:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    }
  }
  const tasks: TaskInvocation[] = [];
  const origin = context.origin;

  const pools = args.pools;
  if (args.reserve_listen_ports) {
    tasks.push({
      name: 'reserve the listen-port pool',
      module: 'sysctl',
      args: { key: 'net.ipv4.ip_local_reserved_ports', value: pools.listen_ports.replace(/\s/g, ''), persist: true },
    });
  }
  // Before anything is made, the record names everything that may exist during the run
  // (the customers to make and the ones to remove); at the end, what does. A run that
  // stops halfway leaves a record naming all it may have made.
  const interim = new Map([...Object.entries(record?.customers ?? {}), ...allocations]);
  tasks.push({
    name: 'record of managed customers',
    module: 'file',
    args: { path: args.state_file, content: renderRecord(allocations), interim_content: renderRecord(interim), mode: '0600', phase: 'teardown' },
  });
  tasks.push({ name: 'nftables filter table', module: 'nft_table', args: filterTable(args) });
  tasks.push({ name: 'nftables NAT table', module: 'nft_table', args: natTable(args) });

  for (const customer of args.customers) {
    tasks.push(...customerTasks(args, customer, allocations.get(customer.name)!));
  }
  // What wgplay made earlier and the arguments no longer ask for (customers removed,
  // values changed): remove exactly that, nothing wgplay did not create.
  const current = inUseBy([...allocations.values()]);
  for (const [name, old] of Object.entries(record?.customers ?? {})) {
    tasks.push(...removalTasks(args, name, old, current));
  }
  if (context.facts) {
    for (const iface of orphans) tasks.push(...orphanTasks(args, iface, context.facts));
    tasks.push(...foreignElementTasks(args, context.facts, tasks));
  }
  return tasks.map((task) => ({ ...task, name: `${context.taskName} / ${task.name}`, origin }));
}
