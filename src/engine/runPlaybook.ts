import { dirname } from 'node:path';
import { WgplayError, type Problem } from '../errors.js';
import { connectionOf } from '../inventory/connection.js';
import { parseExtraVars } from '../inventory/extraVars.js';
import { groupNamesOf, groupsVariable } from '../inventory/listJson.js';
import { loadInventories } from '../inventory/load.js';
import { selectHosts } from '../inventory/patterns.js';
import type { ConnectionSettings, Inventory, InventoryHost } from '../inventory/types.js';
import { loadPlaybook, resolvePlaybook, type Playbook } from '../playbook/index.js';
import type { ExtraVars } from '../playbook/resolve.js';
import type { TaskInvocation } from '../tasks/types.js';
import { openTransport, TransportError, type OpenTransportOptions, type Transport } from '../transport/index.js';
import { findCollisions } from './collisions.js';
import { expandInvocations } from './expand.js';
import type { ApplyOptions, Reconnect } from './apply.js';
import { DEFAULT_CONFIRM_TIMEOUT_S } from './commitConfirmed.js';
import { HostBusyError, lockOwner, takeHostLock, type HostLock } from './hostLock.js';
import type { ResolveOptions } from '../net/index.js';
import { checkedOnce, checkTasks, runHost, type CheckedTasks, type EngineEvents, type HostResult, type ScriptRunner } from './run.js';

export interface LoadedRun {
  inventory: Inventory;
  /** Each play with the hosts it runs on (after --limit), for --list-hosts. */
  plays: { name: string; pattern: string; hosts: string[] }[];
  /** The hosts to run on, in inventory order, each with its templated, validated tasks. */
  hosts: { host: InventoryHost; tasks: TaskInvocation[] }[];
}

/**
 * Everything that must hold before any host is contacted: inventory and playbook
 * parse, every task's arguments validate on every host, connection settings are sane,
 * no two tasks of a host fight over one resource.
 */
export function loadRun(
  playbookPath: string,
  inventoryPaths: string | readonly string[],
  limit?: string,
  options: { /** -e values, as written on the command line. */ extraVars?: readonly string[] } = {},
): LoadedRun {
  const extraVars = parseExtraVars(options.extraVars ?? []);
  const inventory = loadInventories(typeof inventoryPaths === 'string' ? [inventoryPaths] : inventoryPaths, {
    playbookDir: dirname(playbookPath),
    extraVars,
  });
  return prepareRun(inventory, loadPlaybook(playbookPath), limit, { extraVars });
}

/** loadRun for an inventory and a playbook already loaded (from text or objects, by a library user). */
export function prepareRun(
  inventory: Inventory,
  playbook: Playbook,
  limit?: string,
  options: { /** -e variables (already in the inventory's host vars): they also beat play vars. */ extraVars?: ExtraVars } = {},
): LoadedRun {
  const extraVars = options.extraVars;
  const hostVars = [...inventory.hosts.values()].map((host) => ({
    name: host.name,
    vars: host.vars,
    groups: host.groups,
    groupNames: groupNamesOf(host),
    varOrigins: host.varOrigins,
  }));
  const limited = limit ? new Set(selectHosts(inventory, limit).map((host) => host.name)) : undefined;
  const select = (pattern: string) => selectHosts(inventory, pattern).map((host) => host.name);
  const perHost = resolvePlaybook(playbook, hostVars, select, { limit: limited, extraVars, groups: groupsVariable(inventory) });
  const plays = playbook.plays.map((play) => ({
    name: play.name,
    pattern: play.hosts,
    hosts: [...new Set(select(play.hosts))].filter((name) => !limited || limited.has(name)),
  }));
  const hosts = [...perHost.entries()].map(([name, tasks]) => ({ host: inventory.hosts.get(name)!, tasks }));
  if (limit && hosts.length === 0) {
    throw new WgplayError([{ where: '--limit', message: `"${limit}" selects none of the hosts the playbook runs on` }]);
  }
  const problems = hosts.flatMap(({ host, tasks }) => {
    try {
      connectionOf(host);
      return findCollisions(host.name, expandInvocations(tasks));
    } catch (error) {
      return error instanceof WgplayError ? error.problems : [{ where: `host ${host.name}`, message: (error as Error).message }];
    }
  });
  if (problems.length > 0) throw new WgplayError(problems);
  return { inventory, plays, hosts };
}

export interface HostRunOptions {
  apply: boolean;
  /** How endpoint names are resolved on the controller (default: the system's resolver, 2 s timeout). */
  resolve?: ResolveOptions;
  transport?: OpenTransportOptions;
  /** How to reach a host; default: its inventory connection (SSH or local bash). Embedders and tests bring their own. */
  connect?: (host: string, settings: ConnectionSettings) => Promise<Transport>;
  events?: EngineEvents;
  /** Keep what each host's plan was made from, to save the plan (HostResult.basis). */
  keepBasis?: boolean;
  /** Modules read their records back from the host instead of their files (`--rebuild-record`). */
  rebuildRecord?: boolean;
  /** Stops hosts before they connect or before their apply script starts. */
  signal?: AbortSignal;
  /** apply: seconds to wait for another apply's host lock (default 0: fail at once). */
  lockTimeoutSeconds?: number;
  /**
   * apply: seconds the host waits for the confirmation from a new SSH connection
   * before it rolls back (default 60). 0 turns commit-confirmed off (benchmarks).
   */
  confirmTimeoutSeconds?: number;
}

/** Attempts to open the confirming connection give up after this long, and are retried. */
const RECONNECT_TIMEOUT_MS = 5_000;

export interface HostRun extends HostResult {
  /** Remote commands this host cost (connect excluded). */
  roundTrips: number;
  durationMs: number;
}

/**
 * When the scripts run as a user other than root (no become), why the host most likely
 * failed: the facts (nft needs CAP_NET_ADMIN) or the apply script were refused.
 */
function notRootHint(connection: ConnectionSettings): string | undefined {
  if (connection.become) return undefined;
  if (connection.kind === 'local') {
    const uid = process.getuid?.();
    if (uid === undefined || uid === 0) return undefined;
    return 'wgplay changes the host as root, but runs as a user other than root without ansible_become: set ansible_become: true (passwordless sudo) or run wgplay as root';
  }
  if (connection.user === 'root') return undefined;
  return (
    `wgplay changes the host as root, but logged in as "${connection.user}", not root, without ansible_become ` +
    '(permission denied): set ansible_become: true (the user needs passwordless sudo) or ansible_user: root'
  );
}

/**
 * Connect, run `body` on the host, close; every failure becomes a result, never a
 * throw. `connection` is called inside, so bad connection variables fail the host.
 * With `exclusive` (an apply), `body` runs under the host lock (hostLock.ts) and gets
 * the commit-confirmed options for applyAndVerify.
 */
export async function withHostConnection(
  name: string,
  connection: () => ConnectionSettings,
  options: Pick<HostRunOptions, 'transport' | 'connect' | 'events' | 'signal' | 'lockTimeoutSeconds' | 'confirmTimeoutSeconds'> & { exclusive?: boolean },
  body: (runner: ScriptRunner, overSsh: boolean, applyOptions?: ApplyOptions) => Promise<HostResult>,
): Promise<HostRun> {
  const started = Date.now();
  let transport: Transport | undefined;
  let hint: string | undefined;
  // The confirming connections' commands count too.
  const confirming: Transport[] = [];
  let lock: Promise<HostLock> | undefined;
  const finish = (result: HostResult): HostRun => ({
    ...result,
    ...(result.status === 'failed' && result.error !== undefined && hint ? { error: `${result.error}\n${hint}` } : {}),
    roundTrips: (transport?.roundTrips ?? 0) + confirming.reduce((sum, fresh) => sum + fresh.roundTrips, 0),
    durationMs: Date.now() - started,
  });
  if (options.signal?.aborted) {
    return finish({ host: name, status: 'cancelled', cancelled: 'before-apply', tasks: [], applied: false, error: 'cancelled before connecting: nothing was changed' });
  }
  try {
    const settings = connection();
    options.events?.phase?.(name, 'connect');
    const opened = await (options.connect ? options.connect(name, settings) : openTransport(settings, options.transport));
    transport = opened;
    hint = notRootHint(settings);
    if (!options.exclusive) return finish(await body(opened, settings.kind === 'ssh'));
    // Facts, allocation, changes and verification all under the host lock. The command
    // that takes it runs the first script (the facts): no round trip of its own.
    const owner = lockOwner();
    const underLock: ScriptRunner = {
      async run(script, runOptions) {
        if (lock) {
          await lock;
          return opened.run(script, runOptions);
        }
        lock = takeHostLock(opened, { waitSeconds: options.lockTimeoutSeconds ?? 0, owner, script });
        return (await lock).ran;
      },
    };
    const reconnectTimeoutMs = Math.min(options.transport?.connectTimeoutMs ?? RECONNECT_TIMEOUT_MS, RECONNECT_TIMEOUT_MS);
    const reconnect: Reconnect | undefined =
      settings.kind === 'ssh'
        ? async () => {
            const fresh = await (options.connect
              ? options.connect(name, settings)
              : openTransport(settings, { ...options.transport, connectTimeoutMs: reconnectTimeoutMs }));
            confirming.push(fresh);
            return fresh;
          }
        : undefined;
    const confirmTimeoutSeconds = options.confirmTimeoutSeconds ?? DEFAULT_CONFIRM_TIMEOUT_S;
    const result = await body(underLock, settings.kind === 'ssh', { confirmTimeoutSeconds, reconnect, owner });
    const previous = lock && (await lock).previous;
    return finish(previous ? { ...result, notes: [previous, ...(result.notes ?? [])] } : result);
  } catch (error) {
    if (error instanceof HostBusyError) return finish({ host: name, status: 'failed', tasks: [], applied: false, error: error.message });
    const unreachable = error instanceof TransportError && (error.kind === 'unreachable' || (error.kind === 'timeout' && !transport));
    // The connection or a command failed, not a script for want of root.
    if (error instanceof TransportError) hint = undefined;
    return finish({ host: name, status: unreachable ? 'unreachable' : 'failed', tasks: [], applied: false, error: (error as Error).message });
  } finally {
    await lock?.then((held) => held.release(), () => undefined);
    await transport?.close().catch(() => undefined);
  }
}

/** A run whose hosts' tasks were checked (CheckedTasks): what the hosts are run with. */
export interface ResolvedRun extends Omit<LoadedRun, 'hosts'> {
  hosts: { host: InventoryHost; tasks: CheckedTasks }[];
}

/**
 * Every host's tasks checked once (tasks built in code too) and endpoint names resolved,
 * each name once, before any host is contacted. Throws one WgplayError.
 */
export async function resolveRun(loaded: LoadedRun, resolve: ResolveOptions = {}): Promise<ResolvedRun> {
  const cache = new Map<string, Promise<string>>();
  const problems: Problem[] = [];
  const hosts = await Promise.all(
    loaded.hosts.map(async ({ host, tasks }) => {
      try {
        return { host, tasks: await checkTasks(tasks, { ...resolve, cache }) };
      } catch (error) {
        if (!(error instanceof WgplayError)) throw error;
        problems.push(...error.problems.map((p) => ({ ...p, where: p.where || `host ${host.name}`, message: `${p.message} (host ${host.name})` })));
        return undefined;
      }
    }),
  );
  if (problems.length > 0) {
    const unique = new Map(problems.map((p) => [`${p.where}\0${p.message}`, p]));
    throw new WgplayError([...unique.values()]);
  }
  return { ...loaded, hosts: hosts.filter((entry) => entry !== undefined) };
}

/** Connect, run the pipeline, close; every failure becomes a result, never a throw. */
export async function runOneHost(host: InventoryHost, given: TaskInvocation[] | CheckedTasks, options: HostRunOptions): Promise<HostRun> {
  // Nothing reaches a host before its tasks are valid (a task built in code included).
  let tasks: CheckedTasks;
  try {
    tasks = await checkedOnce(given, options.resolve);
  } catch (error) {
    return { host: host.name, status: 'failed', tasks: [], applied: false, error: (error as Error).message, roundTrips: 0, durationMs: 0 };
  }
  return withHostConnection(host.name, () => connectionOf(host), { ...options, exclusive: options.apply }, (transport, overSsh, applyOptions) =>
    runHost(host.name, transport, tasks, {
      apply: options.apply,
      events: options.events,
      overSsh,
      keepBasis: options.keepBasis,
      signal: options.signal,
      rebuildRecord: options.rebuildRecord,
      applyOptions,
      resolve: options.resolve,
    }),
  );
}

/** Runs `each` over items in parallel, at most `forks` at once, results in order. */
export async function inParallel<T, R>(items: T[], forks: number | undefined, each: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await each(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(forks ?? 5, items.length)) }, worker));
  return results;
}

/** Runs hosts in parallel, at most `forks` at once; a failed host does not stop the others. */
export async function runHosts(loaded: LoadedRun, options: HostRunOptions & { forks?: number }): Promise<HostRun[]> {
  const resolved = await resolveRun(loaded, options.resolve);
  return inParallel(resolved.hosts, options.forks, ({ host, tasks }) => runOneHost(host, tasks, options));
}
