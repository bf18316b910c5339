// wgplay for Node deploy tools: a run from files, text or objects; plan; apply a run or
// exactly a plan; events per host and task; cancellation with an AbortSignal.
import { createHash } from 'node:crypto';
import { inParallel, loadRun, prepareRun, resolveRun, runOneHost, withHostConnection, type HostRun, type LoadedRun } from '../engine/runPlaybook.js';
import { applySavedHost, buildSavedPlan, checkSavedPlan, readSavedPlan, writeSavedPlan, type SavedPlan } from '../engine/savedPlan.js';
import { loadInventory } from '../inventory/load.js';
import type { Inventory } from '../inventory/types.js';
import { loadPlaybook } from '../playbook/load.js';
import type { Playbook } from '../playbook/types.js';
import { buildRunReport, type RunReport } from '../report/json.js';
import { exitCodeFor, summarize, summarizeRun, type HostSummary, type RunSummary } from '../report/summary.js';
import type { ResolveOptions } from '../net/index.js';
import type { OpenTransportOptions } from '../transport/index.js';
import { engineEventsFor, type WgplayEvents } from './events.js';

export type Run = LoadedRun;

/**
 * Everything checked before any host is contacted (inventory, playbook, every task's
 * arguments on every host, collisions). `inventory` and `playbook` are paths, or what
 * parseInventory / inventoryFromObject / parsePlaybook / playbookFromObject returned.
 * Throws WgplayError listing every problem with its place.
 */
export function createRun(source: { playbook: string | Playbook; inventory: string | Inventory; limit?: string }): Run {
  if (typeof source.playbook === 'string' && typeof source.inventory === 'string') return loadRun(source.playbook, source.inventory, source.limit);
  const inventory = typeof source.inventory === 'string' ? loadInventory(source.inventory) : source.inventory;
  const playbook = typeof source.playbook === 'string' ? loadPlaybook(source.playbook) : source.playbook;
  return prepareRun(inventory, playbook, source.limit);
}

export interface RunOptions {
  /** Hosts in parallel (default 5). */
  forks?: number;
  /** Emits host:phase, task:start, task:changes, task:done, host:done. */
  events?: WgplayEvents;
  /**
   * Stops the run: hosts not yet connected are `cancelled`, a host whose apply script
   * has not started is `cancelled` with nothing changed; a script already running is
   * let finish and verified, and its host reports `cancelled: 'during-apply'`.
   */
  signal?: AbortSignal;
  transport?: OpenTransportOptions;
  /** apply: seconds to wait for another apply's host lock (default 0: fail at once, "host busy"). */
  lockTimeoutSeconds?: number;
  /** apply: seconds before a change that could cut SSH rolls itself back unless confirmed over a new connection (default 60). */
  confirmTimeoutSeconds?: number;
  /** How endpoint names are resolved on the controller (default: the system's resolver, 2 s timeout). */
  resolve?: ResolveOptions;
}

/** A host's result with its counts (summary.create, .change, .delete). */
export type HostRunResult = HostRun & { summary: HostSummary };

export interface RunResult {
  mode: 'plan' | 'apply';
  /** Per host: status, tasks with their changes and diffs, error, drift, round trips, counts. */
  hosts: HostRunResult[];
  /** Hosts per status; changes to create, change, delete. */
  summary: RunSummary;
  /** What the CLI would exit with: 1 failed or cancelled + 2 changes pending (plan) + 4 unreachable. */
  exitCode: number;
}

export interface PlanResult extends RunResult {
  mode: 'plan';
  /** The plan as `apply` applies it exactly (and `savePlan` writes it). */
  saved: SavedPlan;
}

function resultOf(mode: 'plan' | 'apply', hosts: HostRun[]): RunResult {
  return { mode, hosts: hosts.map((host) => ({ ...host, summary: summarize(host) })), summary: summarizeRun(hosts), exitCode: exitCodeFor(hosts, mode) };
}

const hashOf = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex');

async function runHostsWithEvents(run: Run, apply: boolean, keepBasis: boolean, options: RunOptions): Promise<HostRun[]> {
  const events = engineEventsFor(options.events);
  // Endpoint names resolved (each once) before any host is contacted.
  const resolved = await resolveRun(run, options.resolve);
  return inParallel(resolved.hosts, options.forks, async ({ host, tasks }) => {
    const result = await runOneHost(host, tasks, {
      apply,
      keepBasis,
      events,
      signal: options.signal,
      transport: options.transport,
      lockTimeoutSeconds: options.lockTimeoutSeconds,
      confirmTimeoutSeconds: options.confirmTimeoutSeconds,
      resolve: options.resolve,
    });
    options.events?.emit('host:done', { host: host.name, result });
    return result;
  });
}

/** Gathers facts and plans every host; changes nothing. */
export async function plan(run: Run, options: RunOptions = {}): Promise<PlanResult> {
  const hosts = await runHostsWithEvents(run, false, true, options);
  const inputs = {
    playbook: { name: 'tasks', sha256: hashOf(run.hosts.map(({ host, tasks }) => [host.name, tasks])) },
    inventory: { name: run.inventory.path, sha256: hashOf(run.hosts.map(({ host }) => [host.name, host.vars])) },
  };
  return { ...resultOf('plan', hosts), mode: 'plan', saved: buildSavedPlan(run, hosts, inputs) };
}

const isRun = (target: Run | PlanResult | SavedPlan): target is Run => 'inventory' in target && !('kind' in target);

/**
 * A run: plans and applies every host, then verifies. A plan (from `plan` or
 * `readPlan`): applies exactly its changes, after checking on each host that the facts
 * still match what the plan was made from (a host that changed is refused, nothing
 * changed on it, its `drift` says what differs).
 */
export async function apply(target: Run | PlanResult | SavedPlan, options: RunOptions = {}): Promise<RunResult> {
  if (isRun(target)) return resultOf('apply', await runHostsWithEvents(target, true, false, options));
  const saved = 'saved' in target ? target.saved : checkSavedPlan(target, 'the plan');
  const events = engineEventsFor(options.events);
  const hosts = await inParallel(saved.hosts, options.forks, async (host) => {
    // Under the host lock: the fingerprint is compared, and the changes applied, by this run alone.
    const connectionOptions = { events, signal: options.signal, transport: options.transport, exclusive: true, lockTimeoutSeconds: options.lockTimeoutSeconds, confirmTimeoutSeconds: options.confirmTimeoutSeconds };
    const result = await withHostConnection(host.host, () => host.connection, connectionOptions, (transport, overSsh, applyOptions) =>
      applySavedHost(host, transport, { events, signal: options.signal, overSsh, applyOptions }),
    );
    options.events?.emit('host:done', { host: host.host, result });
    return result;
  });
  return resultOf('apply', hosts);
}

/** Writes a plan for `readPlan` / `wgplay apply FILE`; refuses one that would hold a secret. */
export function savePlan(result: PlanResult | SavedPlan, path: string): void {
  writeSavedPlan(path, 'saved' in result ? result.saved : result);
}

/** Reads a plan written by savePlan or `wgplay plan --out`. */
export function readPlan(path: string): SavedPlan {
  return readSavedPlan(path);
}

/** The `--json` report of a result (format 1, docs/report.schema.json). */
export function jsonReport(result: RunResult): RunReport {
  return buildRunReport(result.hosts, result.mode, result.exitCode);
}
