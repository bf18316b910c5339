import { buildFactScript, mergeFileRequests } from '../facts/factScript.js';
import { nftTableKey } from '../facts/nftBoot.js';
import { parseFacts } from '../facts/parse.js';
import type { FactRequest, FileRequest, HostFacts, SshConnectionFact } from '../facts/types.js';
import { findTask } from '../catalog.js';
import type { HostResult, PlanBasis, TaskResult } from '../results.js';
import { PROGRAM_PACKAGES, type Change, type Step, type TaskInvocation } from '../tasks/types.js';
import type { RunResult } from '../transport/types.js';
import { formatProblem, WgplayError, type Problem } from '../errors.js';
import { canonicalFacts, factsFingerprint } from '../facts/fingerprint.js';
import { scrubKeys, type ResolveOptions } from '../net/index.js';
import { checkInvocations } from '../playbook/validate.js';
import { checkNftOnController } from './nftCheck.js';
import { findCollisions } from './collisions.js';
import { applyChanges, type ApplyOptions } from './apply.js';
import { lastPhase, phaseSeconds } from './compile.js';
import { inotifyFactRequest, planInotifyLimit } from './inotify.js';
import { resolveEndpointNames } from './endpoints.js';
import { expandInvocations, moduleFactRequests, type HostContext } from './expand.js';
import { sshConnectionOf, sshCuts } from './sshPath.js';

/** What the engine needs from a transport (src/transport implements it over SSH or locally). */
export interface ScriptRunner {
  run(script: string, options?: { timeoutMs?: number; label?: string; idleTimeoutMs?: number }): Promise<{ stdout: string; stderr: string; code: number }>;
}

// The engine's results are a contract of their own (src/results.ts): report reads them.
export type { HostResult, HostStatus, PlanBasis, TaskResult } from '../results.js';

export type HostPhase = 'connect' | 'facts' | 'plan' | 'apply' | 'verify';

export interface EngineEvents {
  phase?(host: string, phase: HostPhase): void;
  /** A task is about to be planned. */
  taskStart?(host: string, task: TaskInvocation): void;
  /** A task was planned: its changes (none when the host already matches). */
  taskChanges?(host: string, task: TaskResult): void;
  /** The host's outcome is known (after plan, or after apply and verify). */
  taskDone?(host: string, task: TaskResult, outcome: 'ok' | 'changed' | 'failed'): void;
}

export function mergeFactRequests(requests: FactRequest[]): FactRequest {
  const files = new Map<string, FileRequest>();
  const sysctls = new Set<string>();
  const nftTables = new Map<string, { family: string; name: string }>();
  let inotify: FactRequest['inotify'];
  const nftBootFiles = new Map<string, { family: string; name: string }>();
  const nftCanonical = new Map<string, { family: string; name: string; text: string }>();
  for (const request of requests) {
    inotify = mergeInotify(inotify, request.inotify);
    for (const file of request.files ?? []) files.set(file.path, mergeFileRequests(files.get(file.path), file));
    for (const key of request.sysctls ?? []) sysctls.add(key);
    for (const table of request.nftTables ?? []) nftTables.set(`${table.family} ${table.name}`, table);
    for (const table of request.nftBootFiles ?? []) nftBootFiles.set(nftTableKey(table), table);
    for (const table of request.nftCanonical ?? []) nftCanonical.set(`${table.family} ${table.name}`, table);
  }
  return {
    files: [...files.values()],
    sysctls: [...sysctls],
    nftTables: [...nftTables.values()],
    nftBootFiles: [...nftBootFiles.values()],
    ...(inotify ? { inotify } : {}),
    ...(nftCanonical.size > 0 ? { nftCanonical: [...nftCanonical.values()] } : {}),
  };
}

/** Counting always wins over counting only if an interface is missing; those lists add up. */
function mergeInotify(a: FactRequest['inotify'], b: FactRequest['inotify']): FactRequest['inotify'] {
  if (a === true || b === true) return true;
  if (!a || !b) return a ?? b;
  return { ifMissing: [...new Set([...a.ifMissing, ...b.ifMissing])] };
}

/** Whether facts gathered with `have` answer an inotify request `need`. */
function coversInotify(have: FactRequest['inotify'], need: FactRequest['inotify']): boolean {
  if (!need || have === true) return true;
  if (!have || need === true) return false;
  return need.ifMissing.every((name) => have.ifMissing.includes(name));
}

/**
 * Primitive tasks with their modules looked up once. The tasks a module made are
 * validated like a playbook's while it expands (a module's bug is refused, not sent to
 * the host).
 */
export function prepareTasks(invocations: TaskInvocation[], facts?: HostFacts, host: HostContext = {}) {
  return expandInvocations(invocations, facts, host).map((invocation) => {
    const module = findTask(invocation.module);
    if (!module) throw new Error(`unknown task module ${invocation.module}`);
    return { invocation, module };
  });
}

export type PreparedTasks = ReturnType<typeof prepareTasks>;

function factRequestOf(invocations: TaskInvocation[], tasks: PreparedTasks): FactRequest {
  return mergeFactRequests([
    ...moduleFactRequests(invocations),
    ...tasks.map(({ module, invocation }) => module.facts(invocation.args)),
    inotifyFactRequest(tasks.map((task) => task.invocation)),
  ]);
}

export function covers(have: FactRequest, need: FactRequest): boolean {
  const files = new Map((have.files ?? []).map((file) => [file.path, file]));
  const sysctls = new Set(have.sysctls ?? []);
  return (
    (need.files ?? []).every((file) => {
      const seen = files.get(file.path);
      return (
        seen !== undefined &&
        (!file.wgKey || seen.wgKey) &&
        (!file.wgInterface || seen.wgInterface === file.wgInterface) &&
        (seen.expectSha256 === undefined || seen.expectSha256 === file.expectSha256) &&
        (!seen.statOnly || file.statOnly)
      );
    }) &&
    (need.sysctls ?? []).every((key) => sysctls.has(key)) &&
    coversInotify(have.inotify, need.inotify) &&
    (need.nftBootFiles ?? []).every((table) => (have.nftBootFiles ?? []).some((seen) => nftTableKey(seen) === nftTableKey(table))) &&
    (need.nftCanonical ?? []).every((want) => (have.nftCanonical ?? []).some((got) => got.family === want.family && got.name === want.name && got.text === want.text))
  );
}

async function gather(runner: ScriptRunner, request: FactRequest, gathered?: RunResult): Promise<HostFacts> {
  const result = gathered ?? (await runner.run(buildFactScript(request), { label: 'gather facts' }));
  if (result.code !== 0) {
    throw new Error(`gathering facts failed (exit ${result.code}): ${scrubKeys(result.stderr.trim()).slice(0, 2000)}`);
  }
  const facts = parseFacts(result.stdout);
  // A tool that ran but failed (nft without permission...) would read as "nothing there":
  // planning on that would re-create what exists.
  if (facts.warnings?.length) throw new Error(`could not read the host's state: ${facts.warnings.join('; ')}`);
  return facts;
}

interface FactsAndTasks {
  facts: HostFacts;
  tasks: PreparedTasks;
  request: FactRequest;
  /** wgplay's SSH connection as the host reported it (undefined for a local connection). */
  connection?: SshConnectionFact;
}

interface GatherOptions {
  /** What an earlier gathering asked for (verify asks the same). */
  request?: FactRequest;
  /** Facts wanted beyond the tasks' own (e.g. a key's public key for customer-config). */
  extra?: FactRequest;
  /** The host is reached over SSH: the lock-out checks need the connection it reports. */
  overSsh?: boolean;
  /** `apply --rebuild-record`: the modules' records are read back from the host. */
  rebuildRecord?: boolean;
  /** The invocations expanded without facts, when the caller has them (CheckedTasks). */
  primitives?: PreparedTasks;
  /** What the fact script of `request` printed, when another command ran it (the confirmation runs the verify's). */
  gathered?: RunResult;
}

/**
 * ONE remote command for every fact the tasks need. Modules expand again with the
 * facts (their records may name resources to remove); only if those need facts not
 * yet gathered does a second command run.
 */
export async function gatherFacts(runner: ScriptRunner, invocations: TaskInvocation[], options: GatherOptions = {}): Promise<FactsAndTasks> {
  const { extra = {}, overSsh = false, rebuildRecord } = options;
  let request = options.request ?? mergeFactRequests([factRequestOf(invocations, options.primitives ?? prepareTasks(invocations)), extra]);
  let facts = await gather(runner, request, options.gathered);
  let connection = sshConnectionOf(facts, overSsh);
  let tasks = prepareTasks(invocations, facts, { connection, rebuildRecord });
  const needed = factRequestOf(invocations, tasks);
  if (!covers(request, needed)) {
    request = mergeFactRequests([request, needed, extra]);
    facts = await gather(runner, request);
    connection = sshConnectionOf(facts, overSsh);
    tasks = prepareTasks(invocations, facts, { connection, rebuildRecord });
  }
  return { facts, tasks, request, connection };
}

/** Per-task hooks while planning (the library turns them into events). */
interface PlanHooks {
  start?(task: TaskInvocation): void;
  changes?(result: TaskResult): void;
}

/**
 * Pure: every task's changes against the facts. A task that cannot plan (a program it
 * declares is missing on the host, or its plan throws) records its error. When the
 * wireguard-go daemons the plan starts need more inotify instances than the host
 * allows, one more result raises the limit first (or says why it cannot).
 */
export function planTasks(tasks: PreparedTasks, facts: HostFacts, hooks: PlanHooks = {}): TaskResult[] {
  const planned = tasks.map(({ invocation, module }): TaskResult => {
    hooks.start?.(invocation);
    const base = { name: invocation.name, module: invocation.module, origin: invocation.origin };
    const missing = module.programs(invocation.args).find((program) => facts.programs[program] === false);
    if (missing) return { ...base, changes: [], error: `${PROGRAM_PACKAGES[missing]} (the \`${missing}\` program) is not installed on this host` };
    try {
      return { ...base, changes: module.plan(invocation.args, facts) };
    } catch (error) {
      return { ...base, changes: [], error: (error as Error).message };
    }
  });
  const inotify = planInotifyLimit(tasks.map((task) => task.invocation), facts);
  const results = withoutRepeatedChanges(inotify ? [inotify, ...planned] : planned);
  for (const result of results) hooks.changes?.(result);
  return results;
}

/**
 * A change made only of `once` steps that another change already carries (a table's
 * boot file that differs from the live table because an element drifted, when the
 * element's own change rewrites that file) is not shown twice: the other change says
 * what happens. Its diff against a drifted live table would only mislead.
 */
function withoutRepeatedChanges(planned: TaskResult[]): TaskResult[] {
  const onceOf = (step: Step) => (step.kind === 'shell' ? step.once : undefined);
  const carried = new Set(
    planned.flatMap((task) => task.changes.filter((change) => change.steps.some((step) => onceOf(step) === undefined)).flatMap((change) => change.steps.map(onceOf))),
  );
  const repeated = (change: Change) => change.steps.length > 0 && change.steps.every((step) => carried.has(onceOf(step)) && onceOf(step) !== undefined);
  return planned.map((task) => (task.changes.some(repeated) ? { ...task, changes: task.changes.filter((change) => !repeated(change)) } : task));
}

const hasChanges = (tasks: TaskResult[]) => tasks.some((task) => task.changes.length > 0);

/** What a plan was made from, kept so that it can be applied later exactly (a saved plan). */

interface RunHostOptions {
  apply: boolean;
  events?: EngineEvents;
  /** Connected over SSH: the lock-out checks apply (the facts say what the connection really is). */
  overSsh?: boolean;
  /** `--rebuild-record`: the modules' records are read back from the host, not their files. */
  rebuildRecord?: boolean;
  /** Keep what the plan was made from (HostResult.basis), for a saved plan. */
  keepBasis?: boolean;
  /** Checked before each remote command; once the apply script runs, it is let finish. */
  signal?: AbortSignal;
  /** apply: commit-confirmed and the detached run (apply.ts). */
  applyOptions?: ApplyOptions;
  /** How endpoint names are resolved on the controller (default: the system's resolver, 2 s timeout). */
  resolve?: ResolveOptions;
}

const cancelledBefore = (host: string, tasks: TaskResult[]): HostResult => ({
  host,
  status: 'cancelled',
  tasks,
  applied: false,
  cancelled: 'before-apply',
  error: 'cancelled before the apply script started: nothing was changed',
});

/**
 * One host, one pass down the pipeline: facts -> plan -> (apply -> [confirm] -> facts ->
 * plan must be empty). A constant number of remote commands whatever the number of tasks.
 * For apply, the caller holds the host lock (hostLock.ts).
 */
export async function runHost(host: string, runner: ScriptRunner, given: TaskInvocation[] | CheckedTasks, options: RunHostOptions): Promise<HostResult> {
  const { overSsh, rebuildRecord, events, signal } = options;
  if (signal?.aborted) return cancelledBefore(host, []);
  // Tasks built in code get the same validation as a playbook's, before the first command.
  const { invocations, primitives } = await checkedOnce(given, options.resolve);
  events?.phase?.(host, 'facts');
  const { facts, tasks, request, connection } = await gatherFacts(runner, invocations, { overSsh, rebuildRecord, primitives });
  events?.phase?.(host, 'plan');
  const planned = planTasks(tasks, facts, {
    start: (task) => events?.taskStart?.(host, task),
    changes: (result) => events?.taskChanges?.(host, result),
  });
  const basisOf = (): PlanBasis | undefined => {
    if (!options.keepBasis) return undefined;
    const lines = canonicalFacts(facts, request);
    return { request, fingerprint: factsFingerprint(lines), facts: lines, invocations: tasks.map((task) => task.invocation) };
  };
  // Expanded with the host's facts (records name what to remove): check again.
  const collisions = findCollisions(host, tasks.map((task) => task.invocation));
  if (collisions.length > 0) {
    return finishTasks({ host, status: 'failed', tasks: planned, applied: false, error: collisions.map(formatProblem).join('\n') }, events);
  }
  const cuts = connection ? sshCuts(tasks, connection, facts) : [];
  if (cuts.length > 0) return finishTasks({ host, status: 'failed', tasks: planned, applied: false, error: `refused, nothing changed:\n${cuts.join('\n')}` }, events);
  const failedTask = planned.find((task) => task.error);
  if (failedTask) {
    return finishTasks({ host, status: 'failed', tasks: planned, applied: false, error: `task "${failedTask.name}": ${failedTask.error}` }, events);
  }
  if (!options.apply || !hasChanges(planned)) {
    return finishTasks({ host, status: hasChanges(planned) ? 'changed' : 'ok', tasks: planned, applied: false, basis: basisOf() }, events);
  }
  return applyAndVerify(host, runner, planned, {
    invocations,
    request,
    overSsh,
    events,
    signal,
    primitives: tasks.map((task) => task.invocation),
    applyOptions: options.applyOptions,
  });
}

/** task:done for every task, once the host's outcome is known. */
export function finishTasks(result: HostResult, events: EngineEvents | undefined): HostResult {
  for (const task of result.tasks) {
    const outcome = task.error || (result.status === 'failed' && task.changes.length > 0) ? 'failed' : task.changes.length > 0 ? 'changed' : 'ok';
    events?.taskDone?.(result.host, task, outcome);
  }
  return result;
}

/**
 * Applies planned changes: ONE script (run detached on the host, under commit-confirmed
 * when a change can cut the management path: apply.ts), then facts again and the same
 * tasks planned again: anything left to change is a failure naming the resource.
 */
export async function applyAndVerify(
  host: string,
  runner: ScriptRunner,
  planned: TaskResult[],
  options: {
    invocations: TaskInvocation[];
    request: FactRequest;
    overSsh?: boolean;
    events?: EngineEvents;
    signal?: AbortSignal;
    /** The primitive tasks `planned` was planned from (by name): what a rollback must cover. */
    primitives?: TaskInvocation[];
    applyOptions?: ApplyOptions;
  },
): Promise<HostResult> {
  const { events, signal, request, overSsh } = options;
  if (signal?.aborted) return finishTasks(cancelledBefore(host, planned), events);
  events?.phase?.(host, 'apply');
  const argsByName = new Map((options.primitives ?? []).map((task) => [task.name, task.args]));
  const outcome = await applyChanges(
    runner,
    planned.map((task) => ({ module: task.module, args: argsByName.get(task.name), changes: task.changes })),
    options.applyOptions ?? { confirmTimeoutSeconds: 0 },
    // The confirmation (when there is one) also gathers the verify's facts: one round trip.
    buildFactScript(request),
  );
  // From here on the host has changed: a cancellation is reported, not obeyed.
  const cancelled = signal?.aborted ? { cancelled: 'during-apply' as const } : {};
  const failed = (fields: Partial<HostResult> & { error: string }) =>
    finishTasks({ host, status: 'failed', tasks: planned, applied: true, ...cancelled, ...fields }, events);
  switch (outcome.kind) {
    case 'lost': {
      const rollback = outcome.armed ? ' (it had armed a rollback: unless confirmed, the host restores its earlier state after the confirm timeout)' : '';
      return failed({
        status: 'unreachable',
        outcome: 'cut',
        error: `connection lost during apply: the host may be partly changed; run apply again${rollback}\n${outcome.why}`,
      });
    }
    case 'rolled-back':
      return failed({
        outcome: 'rolled-back',
        error: `rolled back: SSH unreachable after the change; the host restored:\n${outcome.restored.map((line) => `  ${line}`).join('\n')}`,
      });
    case 'unconfirmed':
      return failed({
        outcome: 'cut',
        error:
          `SSH unreachable after the change: no new connection in ${outcome.waitedSeconds} s, so it was not confirmed; ` +
          `the host rolls it back by itself after the confirm timeout (${outcome.why})`,
      });
  }
  try {
    const { result } = outcome;
    if (result.code !== 0) {
      const phase = lastPhase(result.stdout) ?? 'start';
      return failed({
        error:
          `apply failed in phase "${phase}" (exit ${result.code}); earlier phases completed, ` +
          `this one may be half-done, later ones did not run; rerun apply to converge.\n${scrubKeys(result.stderr.trim()).slice(0, 4000)}`,
      });
    }

    events?.phase?.(host, 'verify');
    const verifyStarted = Date.now();
    const verified = await gatherFacts(outcome.runner, options.invocations, { request, overSsh, gathered: outcome.verified });
    const after = planTasks(verified.tasks, verified.facts);
    const phases = phaseSeconds(result.stdout);
    const timed = phases ? { phaseSeconds: { ...phases, verify: (Date.now() - verifyStarted) / 1000 } } : {};
    const leftover = after.flatMap((task) => task.changes.map((change) => `${task.name}: ${change.resource}\n${change.diff}`));
    const lateCancel = signal?.aborted ? { cancelled: 'during-apply' as const } : cancelled;
    if (leftover.length > 0) {
      return failed({ ...lateCancel, ...timed, error: `applied, but the host did not converge; still different:\n${leftover.join('\n')}` });
    }
    return finishTasks({ host, status: 'changed', tasks: planned, applied: true, ...lateCancel, ...timed }, events);
  } finally {
    await outcome.fresh?.close().catch(() => undefined);
  }
}

/**
 * A host's tasks as the run checked them, once, before the host is contacted: the
 * invocations validated (schema, checks, canonical values: a copy of each one's
 * arguments) with endpoint names resolved, and the primitive tasks they expand to
 * without facts (what the first fact request is made from; their nft text was checked
 * on the controller where it can be, nftCheck.ts). Later stages take it as it is.
 */
export interface CheckedTasks {
  invocations: TaskInvocation[];
  primitives: PreparedTasks;
}

/** The checks of CheckedTasks. Throws a WgplayError naming every problem. */
export async function checkTasks(
  invocations: TaskInvocation[],
  resolve: ResolveOptions & { cache?: Map<string, Promise<string>> } = {},
): Promise<CheckedTasks> {
  const checked = checkInvocations(invocations);
  const problems: Problem[] = [];
  const collect = (failure: unknown) => {
    if (!(failure instanceof WgplayError)) throw failure;
    problems.push(...failure.problems);
  };
  // Names resolved first: the primitive tasks carry the addresses. An unresolved name
  // still expands, so one error names every problem.
  await resolveEndpointNames(checked, resolve).catch(collect);
  let primitives: PreparedTasks = [];
  try {
    primitives = prepareTasks(checked);
  } catch (error) {
    collect(error);
  }
  await checkNftOnController(primitives.map((task) => task.invocation)).catch(collect);
  if (problems.length > 0) throw new WgplayError(problems);
  return { invocations: checked, primitives };
}

/** Tasks as given (a library user's, a test's) are checked here; a run's were checked once already. */
export const checkedOnce = (tasks: TaskInvocation[] | CheckedTasks, resolve?: ResolveOptions): Promise<CheckedTasks> =>
  Array.isArray(tasks) ? checkTasks(tasks, resolve) : Promise.resolve(tasks);
