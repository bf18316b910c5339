// `wgplay status`: how every customer's tunnel is doing, read in ONE round trip per
// host (the fact script), changing nothing and taking no lock. Which tunnels a host
// should have comes from the playbook: the gateway's customers (with the interfaces
// its record allocated) and plain wireguard_interface tasks.

import { connectionOf } from '../inventory/connection.js';
import type { InventoryHost } from '../inventory/types.js';
import { buildFactScript } from '../facts/factScript.js';
import { parseFacts } from '../facts/parse.js';
import type { HostFacts } from '../facts/types.js';
import { moduleFactRequests } from '../engine/expand.js';
import type { LoadedRun } from '../engine/runPlaybook.js';
import { allocateCustomers } from '../modules/gateway/allocate.js';
import type { GatewayArgs } from '../modules/gateway/args.js';
import { readRecord } from '../modules/gateway/expand.js';
import type { TaskInvocation } from '../tasks/types.js';
import type { WireguardInterfaceArgs } from '../tasks/wireguardInterface.js';
import { openTransport, TransportError, type OpenTransportOptions, type Transport } from '../transport/index.js';

/** 180 s: a live WireGuard session re-handshakes every 2 minutes while traffic flows or keepalives run. */
export const DEFAULT_STALE_AFTER_SECONDS = 180;

export type TunnelState = 'up' | 'stale' | 'down' | 'missing';

export interface TunnelStatus {
  customer: string;
  interface: string;
  /** up: link up and a handshake within staleAfter; stale: up, no recent handshake; down: link down; missing: no such interface. */
  state: TunnelState;
  /** The playbook asks for this tunnel (false: found on the host only). */
  inPlaybook: boolean;
  listenPort?: number;
  /** Seconds since the latest handshake (host clock); null = never. */
  handshakeAgeSeconds?: number | null;
  rxBytes?: number;
  txBytes?: number;
  /** Where the peer was last seen. */
  endpoint?: string;
}

export interface GatewayStatus {
  host: string;
  status: 'ok' | 'failed' | 'unreachable';
  error?: string;
  tunnels: TunnelStatus[];
  roundTrips: number;
}

interface ExpectedTunnel {
  customer: string;
  interface: string;
  peer?: string;
}

/** The tunnels a host's tasks ask for, and the names of customers the gateway's record knows. */
function expectedTunnels(invocations: TaskInvocation[], facts: HostFacts): { expected: ExpectedTunnel[]; recorded: Map<string, string> } {
  const expected: ExpectedTunnel[] = [];
  const recorded = new Map<string, string>();
  for (const invocation of invocations) {
    if (invocation.module === 'wireguard_gateway') {
      const args = invocation.args as GatewayArgs;
      const record = readRecord(args, facts);
      for (const [name, allocation] of Object.entries(record?.customers ?? {})) recorded.set(allocation.interface, name);
      const allocations = allocateCustomers(args, record);
      for (const customer of args.customers) {
        expected.push({ customer: customer.name, interface: allocations.get(customer.name)!.interface, peer: customer.public_key });
      }
    } else if (invocation.module === 'wireguard_interface') {
      const args = invocation.args as WireguardInterfaceArgs;
      if ((args.state ?? 'present') === 'present') expected.push({ customer: args.name, interface: args.name, peer: args.peers?.[0]?.public_key });
    }
  }
  return { expected, recorded };
}

function tunnelOf(tunnel: ExpectedTunnel, facts: HostFacts, inPlaybook: boolean, staleAfter: number): TunnelStatus {
  const link = facts.links.find((candidate) => candidate.name === tunnel.interface);
  const wg = facts.wg[tunnel.interface];
  const base = { customer: tunnel.customer, interface: tunnel.interface, inPlaybook };
  if (!link || !wg) return { ...base, state: 'missing' };
  const peer = wg.peers.find((candidate) => candidate.publicKey === tunnel.peer) ?? (tunnel.peer ? undefined : wg.peers[0]);
  const age = peer && peer.latestHandshake > 0 ? Math.max(0, facts.system.clock - peer.latestHandshake) : null;
  const state: TunnelState = !link.up ? 'down' : age === null || age > staleAfter ? 'stale' : 'up';
  return {
    ...base,
    state,
    listenPort: wg.listenPort,
    handshakeAgeSeconds: age,
    rxBytes: peer?.rxBytes ?? 0,
    txBytes: peer?.txBytes ?? 0,
    ...(peer?.endpoint ? { endpoint: peer.endpoint } : {}),
  };
}

/** Pure: every tunnel of a host, those the playbook asks for first, then those only the host has. */
export function tunnelStatuses(invocations: TaskInvocation[], facts: HostFacts, staleAfter = DEFAULT_STALE_AFTER_SECONDS): TunnelStatus[] {
  const { expected, recorded } = expectedTunnels(invocations, facts);
  const known = new Set(expected.map((tunnel) => tunnel.interface));
  const extra = Object.keys(facts.wg)
    .filter((name) => !known.has(name))
    .sort()
    .map((name) => ({ customer: recorded.get(name) ?? name, interface: name }));
  return [...expected.map((tunnel) => tunnelOf(tunnel, facts, true, staleAfter)), ...extra.map((tunnel) => tunnelOf(tunnel, facts, false, staleAfter))];
}

async function statusOfHost(host: InventoryHost, invocations: TaskInvocation[], staleAfter: number, transportOptions?: OpenTransportOptions): Promise<GatewayStatus> {
  let transport: Transport | undefined;
  const finish = (result: Omit<GatewayStatus, 'roundTrips'>): GatewayStatus => ({ ...result, roundTrips: transport?.roundTrips ?? 0 });
  try {
    transport = await openTransport(connectionOf(host), transportOptions);
    // Only what the modules read themselves (the gateway's record): nothing per task.
    const request = { files: moduleFactRequests(invocations).flatMap((request) => request.files ?? []) };
    const result = await transport.run(buildFactScript(request), { label: 'gather facts' });
    if (result.code !== 0) throw new Error(`gathering facts failed (exit ${result.code}): ${result.stderr.trim().slice(0, 2000)}`);
    const facts = parseFacts(result.stdout);
    const wgProblem = facts.warnings?.find((warning) => warning.startsWith('wg '));
    if (wgProblem) throw new Error(`could not read the WireGuard interfaces: ${wgProblem}`);
    return finish({ host: host.name, status: 'ok', tunnels: tunnelStatuses(invocations, facts, staleAfter) });
  } catch (error) {
    const unreachable = error instanceof TransportError && (error.kind === 'unreachable' || (error.kind === 'timeout' && !transport));
    return finish({ host: host.name, status: unreachable ? 'unreachable' : 'failed', error: (error as Error).message, tunnels: [] });
  } finally {
    await transport?.close().catch(() => undefined);
  }
}

interface StatusOptions {
  staleAfterSeconds?: number;
  forks?: number;
  transport?: OpenTransportOptions;
}

/** Every selected host, in parallel (at most `forks` at once), in inventory order. */
export async function collectStatus(loaded: LoadedRun, options: StatusOptions = {}): Promise<GatewayStatus[]> {
  const staleAfter = options.staleAfterSeconds ?? DEFAULT_STALE_AFTER_SECONDS;
  const results: GatewayStatus[] = new Array(loaded.hosts.length);
  let next = 0;
  const worker = async () => {
    while (next < loaded.hosts.length) {
      const index = next++;
      const { host, tasks } = loaded.hosts[index]!;
      results[index] = await statusOfHost(host, tasks, staleAfter, options.transport);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.forks ?? 5, loaded.hosts.length)) }, worker));
  return results;
}

/** 1 a host failed, 4 a host unreachable, 2 a tunnel the playbook asks for is not up, 0 all up. */
export function statusExitCode(gateways: GatewayStatus[]): number {
  if (gateways.some((gateway) => gateway.status === 'failed')) return 1;
  if (gateways.some((gateway) => gateway.status === 'unreachable')) return 4;
  if (gateways.some((gateway) => gateway.tunnels.some((tunnel) => tunnel.inPlaybook && tunnel.state !== 'up'))) return 2;
  return 0;
}
