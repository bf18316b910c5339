// Saved plans (`wgplay plan --out FILE`, `wgplay apply FILE`): what was reviewed is
// what runs. Per host the file holds the fingerprint of the facts the plan was made
// from, every change with its diff and steps, and the primitive tasks (to verify);
// applying gathers the same facts again and refuses, changing nothing, when they
// differ. Never a secret: keys are generated on the host, and a plan that would hold
// one (a secret file's content: the task's own secretInArgs says) is refused.
import { readFileSync, writeFileSync } from 'node:fs';
import { findTask } from '../catalog.js';
import { WgplayError, type Problem } from '../errors.js';
import { canonicalFacts, factsDrift, factsFingerprint } from '../facts/fingerprint.js';
import { connectionOf } from '../inventory/connection.js';
import type { ConnectionSettings } from '../inventory/types.js';
import { redact } from '../report/redact.js';
import type { TaskInvocation } from '../tasks/types.js';
import { WGPLAY_VERSION } from '../version.js';
import type { ApplyOptions } from './apply.js';
import { applyAndVerify, finishTasks, gatherFacts, type EngineEvents, type HostResult, type HostStatus, type PlanBasis, type TaskResult } from './run.js';
import { inParallel, withHostConnection, type HostRun, type HostRunOptions, type LoadedRun, type ResolvedRun } from './runPlaybook.js';

export const SAVED_PLAN_KIND = 'wgplay-plan';

export interface SavedPlanInput {
  /** The file (or the name given to text or objects). */
  name: string;
  sha256: string;
}

export interface SavedHostPlan {
  host: string;
  /** How to reach the host (no secret: a key file's path, never a key). */
  connection: ConnectionSettings;
  /** At plan time: ok (nothing to do), changed, or failed/unreachable (nothing will be applied). */
  status: HostStatus;
  error?: string;
  /** Absent when the host could not be planned. */
  basis?: PlanBasis;
  /** Every task with its changes: diffs and the steps apply will run. */
  tasks: TaskResult[];
}

export interface SavedPlan {
  format: 1;
  kind: typeof SAVED_PLAN_KIND;
  /** A plan is applied by the version that made it (same parsers, same canonical facts). */
  wgplayVersion: string;
  createdAt: string;
  inputs: { playbook?: SavedPlanInput; inventory?: SavedPlanInput; limit?: string };
  hosts: SavedHostPlan[];
}

/** Tasks whose arguments hold a secret (each task says: its secretInArgs) would put it in the plan. */
function secretProblems(host: string, invocations: TaskInvocation[]): Problem[] {
  return invocations.flatMap((task) => {
    const secret = findTask(task.module)?.secretInArgs?.(task.args);
    if (!secret) return [];
    return [
      {
        where: task.origin ?? `host ${host}, task "${task.name}"`,
        message: `task "${task.name}" ${secret}: it would be stored in the saved plan; saved plans never hold secrets (apply this playbook without --out)`,
      },
    ];
  });
}

/** The plan to save (or apply from memory), from a plan run made with `keepBasis`. */
export function buildSavedPlan(loaded: Pick<LoadedRun, 'hosts'> | Pick<ResolvedRun, 'hosts'>, results: HostResult[], inputs: SavedPlan['inputs']): SavedPlan {
  const inventoryHosts = new Map(loaded.hosts.map(({ host }) => [host.name, host]));
  const hosts = results.map((result): SavedHostPlan => {
    const host = inventoryHosts.get(result.host);
    if (!host) throw new Error(`no inventory host ${result.host}`);
    return { host: result.host, connection: connectionOf(host), status: result.status, error: result.error, basis: result.basis, tasks: result.tasks };
  });
  return { format: 1, kind: SAVED_PLAN_KIND, wgplayVersion: WGPLAY_VERSION, createdAt: new Date().toISOString(), inputs, hosts };
}

/** Throws WgplayError, naming the tasks, if the plan would put a secret in a file. */
export function assertNoSecrets(plan: SavedPlan): void {
  const problems = plan.hosts.flatMap((host) => secretProblems(host.host, host.basis?.invocations ?? []));
  if (problems.length > 0) throw new WgplayError(problems);
  // Last line of defence: anything shaped like a private key, or a registered secret.
  const text = JSON.stringify(plan);
  if (redact(text) !== text) throw new WgplayError('the plan would hold a secret (a private key or the SSH key passphrase): not saved');
}

/** Writes a saved plan (owner-only), after checking that it holds no secret. */
export function writeSavedPlan(path: string, plan: SavedPlan): void {
  assertNoSecrets(plan);
  writeFileSync(path, `${JSON.stringify(plan, null, 2)}\n`, { mode: 0o600 });
}

/** Reads a saved plan; refuses another format or another wgplay version with a clear message. */
export function readSavedPlan(path: string): SavedPlan {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new WgplayError([{ where: path, message: `cannot read the saved plan: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}` }]);
  }
  let plan: Partial<SavedPlan>;
  try {
    plan = JSON.parse(text) as Partial<SavedPlan>;
  } catch {
    throw new WgplayError([{ where: path, message: 'not a saved plan (not JSON): a playbook needs -i INVENTORY; a plan is saved with `wgplay plan PLAYBOOK -i INVENTORY --out FILE`' }]);
  }
  return checkSavedPlan(plan, path);
}

export function checkSavedPlan(plan: Partial<SavedPlan>, where: string): SavedPlan {
  if (!plan || typeof plan !== 'object' || plan.kind !== SAVED_PLAN_KIND || !Array.isArray(plan.hosts)) {
    throw new WgplayError([{ where, message: 'not a saved plan: write one with `wgplay plan PLAYBOOK -i INVENTORY --out FILE`' }]);
  }
  if (plan.format !== 1) throw new WgplayError([{ where, message: `saved plan format ${String(plan.format)}: this wgplay reads format 1` }]);
  if (plan.wgplayVersion !== WGPLAY_VERSION) {
    throw new WgplayError([{ where, message: `made by wgplay ${String(plan.wgplayVersion)}, this is wgplay ${WGPLAY_VERSION}: plan again with this version` }]);
  }
  return plan as SavedPlan;
}

/** The saved plan as plan results (for `show` and the report). */
export function savedPlanResults(plan: SavedPlan): HostResult[] {
  return plan.hosts.map((host) => ({ host: host.host, status: host.status, tasks: host.tasks, applied: false, error: host.error }));
}

/**
 * One host of a saved plan: the same facts gathered again must have the fingerprint the
 * plan was made from; then exactly the saved changes are applied and verified.
 */
export async function applySavedHost(
  saved: SavedHostPlan,
  runner: Parameters<typeof applyAndVerify>[1],
  options: { events?: EngineEvents; signal?: AbortSignal; overSsh?: boolean; applyOptions?: ApplyOptions },
): Promise<HostResult> {
  const { basis } = saved;
  if (!basis || saved.status === 'failed' || saved.status === 'unreachable') {
    return { host: saved.host, status: 'failed', tasks: saved.tasks, applied: false, error: `not applied: the plan has no changes for this host (when it was made: ${saved.status}${saved.error ? `: ${saved.error}` : ''})` };
  }
  options.events?.phase?.(saved.host, 'facts');
  // The caller holds the host lock (withHostConnection, exclusive): the fingerprint is compared under it.
  const { facts } = await gatherFacts(runner, basis.invocations, { request: basis.request, overSsh: options.overSsh });
  const now = canonicalFacts(facts, basis.request);
  if (factsFingerprint(now) !== basis.fingerprint) {
    const drift = factsDrift(basis.facts, now);
    const error = `the host changed since the plan was made (${drift.length} fact(s) differ): nothing was changed; plan again\n${drift.map((line) => `  ${line}`).join('\n')}`;
    return finishTasks({ host: saved.host, status: 'failed', tasks: saved.tasks, applied: false, drift, error }, options.events);
  }
  options.events?.phase?.(saved.host, 'plan');
  if (!saved.tasks.some((task) => task.changes.length > 0)) return finishTasks({ host: saved.host, status: 'ok', tasks: saved.tasks, applied: false }, options.events);
  return applyAndVerify(saved.host, runner, saved.tasks, {
    invocations: basis.invocations,
    request: basis.request,
    overSsh: options.overSsh,
    events: options.events,
    signal: options.signal,
    primitives: basis.invocations,
    applyOptions: options.applyOptions,
  });
}

/** Applies every host of a saved plan, in parallel; a refused or failed host does not stop the others. */
export function applySavedPlan(plan: SavedPlan, options: Omit<HostRunOptions, 'apply' | 'keepBasis'> & { forks?: number }): Promise<HostRun[]> {
  return inParallel(plan.hosts, options.forks, (saved) =>
    withHostConnection(saved.host, () => saved.connection, { ...options, exclusive: true }, (transport, overSsh, applyOptions) =>
      applySavedHost(saved, transport, { ...options, overSsh, applyOptions }),
    ),
  );
}
