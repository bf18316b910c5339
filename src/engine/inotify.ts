// Each wireguard-go daemon holds one inotify instance (it watches its UAPI socket), and
// fs.inotify.max_user_instances caps the instances of one user on the whole machine
// (128 by default). Past it, a new daemon dies with "Failed to listen on uapi socket:
// too many open files", half-way through the links phase. So before the apply script
// starts any daemon, the plan counts the daemons it starts and, when the kernel has no
// WireGuard of its own (wireguard-go will be used), raises the limit in the prepare
// phase, live and persisted, with the sysctl task's own plan. When the playbook sets
// that key itself to too low a value, the host is refused before anything changes.

import type { FactRequest, HostFacts } from '../facts/types.js';
import type { TaskResult } from '../results.js';
import { linkNamed } from '../tasks/shared/factIndex.js';
import { sysctlPersistPath, sysctlTask, type SysctlArgs } from '../tasks/sysctl.js';
import type { TaskInvocation } from '../tasks/types.js';
import { isOurIdleTun, type WireguardInterfaceArgs } from '../tasks/wireguardInterface.js';

export const INOTIFY_LIMIT_KEY = 'fs.inotify.max_user_instances';
/** Raised to what is needed plus this much room (other programs, the next customers). */
const INOTIFY_HEADROOM = 128;

const presentInterfaces = (invocations: TaskInvocation[]) =>
  invocations
    .filter((invocation) => invocation.module === 'wireguard_interface')
    .map((invocation) => invocation.args as WireguardInterfaceArgs)
    .filter((args) => args.state !== 'absent');

/**
 * The facts the check reads, asked for only by plays that manage WireGuard interfaces;
 * the instances in use are counted only when one of the interfaces is missing (a daemon
 * may be started).
 */
export function inotifyFactRequest(invocations: TaskInvocation[]): FactRequest {
  const present = presentInterfaces(invocations);
  if (present.length === 0) return {};
  return { inotify: { ifMissing: present.map((args) => args.name) }, sysctls: [INOTIFY_LIMIT_KEY], files: [{ path: sysctlPersistPath(INOTIFY_LIMIT_KEY) }] };
}

/**
 * One more task result when the daemons this plan starts would pass the limit: the
 * sysctl changes that raise it, or an error saying what to set. Undefined when the
 * limit is not in the way (kernel WireGuard, enough room, or no facts about it).
 */
export function planInotifyLimit(invocations: TaskInvocation[], facts: HostFacts): TaskResult | undefined {
  const live = facts.sysctls[INOTIFY_LIMIT_KEY];
  if (!facts.inotify || facts.inotify.kernelWireguard || live === null || live === undefined) return undefined;
  // New interfaces, and TUNs of ours whose daemon is gone.
  const starting = presentInterfaces(invocations).filter((args) => {
    const link = linkNamed(facts, args.name);
    return !link || isOurIdleTun(link, facts.wg[args.name]);
  }).length;
  const limit = Number(live.trim());
  if (starting === 0 || !Number.isInteger(limit)) return undefined;
  const inUse = facts.inotify.instancesInUse;
  if (inUse === undefined) {
    // The host saw every interface with its daemon when it counted, not when it listed them: it changed meanwhile.
    return { name: 'room for wireguard-go daemons', module: 'sysctl', changes: [], error: `the host's interfaces changed while wgplay read them (the inotify instances in use were not counted): run again; nothing was changed` };
  }
  const needed = inUse + starting;
  if (needed <= limit) return undefined;

  const why = `${starting} new wireguard-go daemon(s) need ${starting} inotify instance(s); ${inUse} of ${INOTIFY_LIMIT_KEY} = ${limit} are in use`;
  const own = invocations.find((invocation) => invocation.module === 'sysctl' && (invocation.args as SysctlArgs).key === INOTIFY_LIMIT_KEY);
  if (own) {
    const value = Number(String((own.args as SysctlArgs).value).trim());
    if (Number.isInteger(value) && value >= needed) return undefined;
    return {
      name: `room for wireguard-go daemons`,
      module: 'sysctl',
      changes: [],
      error: `${why}, and task "${own.name}"${own.origin ? ` (${own.origin})` : ''} sets it to ${value}: set it to at least ${needed}; nothing was changed`,
    };
  }
  const args = { key: INOTIFY_LIMIT_KEY, value: String(needed + INOTIFY_HEADROOM), persist: true };
  return { name: `raise ${INOTIFY_LIMIT_KEY} (${why})`, module: 'sysctl', changes: sysctlTask.plan(args, facts) };
}
