// The gateway must never cut the SSH connection wgplay (and the operator) came in by,
// nor take over an address or network the host already uses. Checked against what the
// host reported of the connection (SSH_CONNECTION, its addresses and routes), never the
// inventory's spelling of the address (a DNS name, a NAT or bastion address, 2887776770).
import type { HostFacts, SshConnectionFact } from '../../facts/types.js';
import { ipv4Range, isIpv4AddressOrPrefix } from '../../net/index.js';
import type { GatewayArgs } from './args.js';
import type { CustomerAllocation } from './allocate.js';

interface Range {
  first: number;
  last: number;
}

/** What must stay out of every pool and translated address, and why. */
interface Protected extends Range {
  what: string;
}

/** At most this many per-customer collisions are listed (a pool collision says the rest). */
const MAX_CUSTOMER_LINES = 10;

const overlaps = (a: Range, b: Range) => a.first <= b.last && b.first <= a.last;

/** The interface SSH arrives on: the way back to the controller, else the owner of the address. */
function arrivalInterface(connection: SshConnectionFact, facts: HostFacts): string | undefined {
  return connection.interface ?? facts.addresses.find((address) => address.local === connection.serverAddress)?.dev;
}

function protectedRanges(connection: SshConnectionFact, facts: HostFacts, ownInterfaces: Set<string>): Protected[] {
  const list: Protected[] = [];
  const add = (text: string, what: string) => {
    if (isIpv4AddressOrPrefix(text)) list.push({ ...ipv4Range(text), what });
  };
  add(connection.clientAddress, `the controller's address ${connection.clientAddress} (wgplay's SSH comes from it)`);
  add(connection.serverAddress, `${connection.serverAddress}, the address SSH arrived at`);
  for (const address of facts.addresses) {
    if (address.family !== 'inet' || ownInterfaces.has(address.dev) || address.local === connection.serverAddress) continue;
    add(address.local, `${address.local}, an address of this host (on ${address.dev})`);
  }
  for (const route of facts.routes) {
    if (route.family !== 'inet' || route.table !== 'main' || route.scope !== 'link' || !route.dst.includes('/')) continue;
    if (route.dev && ownInterfaces.has(route.dev)) continue;
    add(route.dst, `the network ${route.dst} connected on ${route.dev ?? '?'}`);
  }
  return list;
}

/**
 * Every way the gateway's arguments would cut wgplay's SSH path or take over an address
 * of the host, each naming the field or customer and what it collides with.
 * `ownInterfaces`: the gateway's interfaces (their addresses are its own, not the host's).
 */
export function lockoutProblems(
  args: GatewayArgs,
  connection: SshConnectionFact,
  facts: HostFacts,
  allocations: Map<string, CustomerAllocation>,
  ownInterfaces: Set<string>,
): string[] {
  const problems: string[] = [];
  const port = args.ssh.port;
  const arrival = arrivalInterface(connection, facts);
  // Over loopback (a tunnel or port forward ending on this host) the filter accepts everything.
  if (arrival !== 'lo') {
    if (port !== connection.serverPort) {
      problems.push(
        `ssh.port is ${port}, but wgplay's SSH connection arrived at ${connection.serverAddress} port ${connection.serverPort}: ` +
          `the firewall would refuse every new SSH connection (wgplay's next one, yours). Set ssh.port: ${connection.serverPort}.`,
      );
    }
    if (args.ssh.interfaces !== 'any' && arrival && !args.ssh.interfaces.includes(arrival)) {
      problems.push(
        `wgplay reaches this host over SSH at ${connection.serverAddress} on ${arrival}, but ssh.interfaces is ` +
          `[${args.ssh.interfaces.join(', ')}]: the firewall would lock wgplay (and you) out. Add ${arrival} to ssh.interfaces.`,
      );
    }
  }

  const guarded = protectedRanges(connection, facts, ownInterfaces);
  const pools = args.pools;
  for (const field of ['our_addresses', 'customer_addresses'] as const) {
    if (!isIpv4AddressOrPrefix(pools[field])) continue;
    const pool = ipv4Range(pools[field]);
    for (const item of guarded.filter((range) => overlaps(pool, range))) {
      problems.push(`pools.${field} ${pools[field]} covers ${item.what}: its routes, rules and NAT would take that traffic. Choose a pool outside it.`);
    }
  }
  const customerLines: string[] = [];
  for (const [name, allocation] of allocations) {
    for (const field of ['our_translated_address', 'translated_address'] as const) {
      const value = allocation[field];
      if (!isIpv4AddressOrPrefix(value)) continue;
      for (const item of guarded.filter((range) => overlaps(ipv4Range(value), range))) {
        customerLines.push(`customer ${name}: ${field} ${value} collides with ${item.what}`);
      }
    }
  }
  problems.push(...customerLines.slice(0, MAX_CUSTOMER_LINES));
  if (customerLines.length > MAX_CUSTOMER_LINES) problems.push(`... and ${customerLines.length - MAX_CUSTOMER_LINES} more customers' addresses like these`);
  return problems;
}
