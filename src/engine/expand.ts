import { WgplayError, type Problem } from '../errors.js';
import { findModule, findTask } from '../catalog.js';
import type { FactRequest, HostFacts } from '../facts/types.js';
import { validateArgs } from '../playbook/validate.js';
import type { ExpandContext, ExpandingModule, TaskInvocation, TaskModule } from '../tasks/types.js';

/**
 * Validates an invocation's arguments against its task's or module's schema and checks,
 * filling in the schema's defaults (ajv `useDefaults`): tasks a module made, or a
 * library user wrote, get the same checks as a playbook's.
 */
function validated(invocation: TaskInvocation, owner: TaskModule | ExpandingModule): TaskInvocation {
  const issues = validateArgs(invocation.module, owner.schema, owner.check?.bind(owner), invocation.args);
  if (issues.length === 0) return invocation;
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
