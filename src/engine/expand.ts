import { WgplayError, type Problem } from '../errors.js';
import { findModule, findTask } from '../catalog.js';
import type { FactRequest, HostFacts } from '../facts/types.js';
import { isCheckedCopy, validateArgs } from '../playbook/validate.js';
import type { ExpandContext, ExpandingModule, TaskInvocation, TaskModule } from '../tasks/types.js';

// A run expands each module several times (loading, checking, with the host's facts,
// verifying), and each time the module makes the same tasks: a thousand customers are
// ~9000 primitive tasks per expansion. Validation is a pure function of a task's schema,
// checks and arguments, so arguments are validated once per distinct content (their
// JSON) and owner: the same content again gets the arguments that content validated to
// (defaults filled in, values canonical). JSON is exact for what can pass a schema here
// (no schema accepts null, so NaN and Infinity, which JSON writes as null, never hit);
// a key whose value is undefined is left out of JSON, and counts as absent, as it does
// for every task. Tasks and their plans never change the arguments they are given.
const MEMO_LIMIT = 50_000;
const validatedByContent = new WeakMap<TaskModule | ExpandingModule, Map<string, unknown>>();

/**
 * Validates an invocation's arguments against its task's or module's schema and checks,
 * filling in the schema's defaults (ajv `useDefaults`): tasks a module made, or a
 * library user wrote, get the same checks as a playbook's. Arguments checkInvocation
 * already checked (a copy it made) are taken as they are.
 */
function validated(invocation: TaskInvocation, owner: TaskModule | ExpandingModule): TaskInvocation {
  if (isCheckedCopy(invocation.args)) return invocation;
  let memo = validatedByContent.get(owner);
  if (!memo) validatedByContent.set(owner, (memo = new Map()));
  const content = JSON.stringify(invocation.args);
  const known = content === undefined ? undefined : memo.get(content);
  if (known !== undefined) return { ...invocation, args: known };
  const issues = validateArgs(invocation.module, owner.schema, owner.check?.bind(owner), invocation.args);
  if (issues.length === 0) {
    if (content === undefined) return invocation;
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(content, invocation.args);
    return invocation;
  }
  const problems: Problem[] = issues.map((issue) => ({
    where: invocation.origin ?? '',
    message: `task "${invocation.name}", ${invocation.module}${issue.pointer}: ${issue.message}${issue.got !== undefined ? ` (got ${issue.got})` : ''}`,
  }));
  throw new WgplayError(problems);
}

/**
 * Expanding modules (the gateway...) become the primitive tasks they stand for, every
 * one validated. Without facts, the expansion only serves to learn which facts to gather.
 */
/** What the modules learn about the host and the run beyond its facts. */
export type HostContext = Pick<ExpandContext, 'connection' | 'rebuildRecord'>;

export function expandInvocations(invocations: TaskInvocation[], facts?: HostFacts, host: HostContext = {}): TaskInvocation[] {
  return invocations.flatMap((invocation) => {
    const task = findTask(invocation.module);
    if (task) return [validated(invocation, task)];
    const module = findModule(invocation.module);
    if (!module) throw new Error(`unknown task module ${invocation.module}`);
    const context = { taskName: invocation.name, origin: invocation.origin, facts, ...host };
    return expandInvocations(module.expand(validated(invocation, module).args, context), facts, host);
  });
}

/** Facts the expanding modules read themselves (their records). */
export function moduleFactRequests(invocations: TaskInvocation[]): FactRequest[] {
  return invocations.flatMap((invocation) => {
    const module = findModule(invocation.module);
    return module?.facts ? [module.facts(invocation.args)] : [];
  });
}
