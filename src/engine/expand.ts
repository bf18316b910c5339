import type { HostFacts } from '../facts/types.js';

import { findModule, findTask } from '../tasks/registry.js';
import type { FactRequest } from '../facts/types.js';
import type { TaskInvocation } from '../tasks/types.js';

/**
 * Expanding modules (the gateway...) become the primitive tasks they stand for.
 * Without facts, the expansion only serves to learn which facts to gather.
 */
export function expandInvocations(invocations: TaskInvocation[], facts?: HostFacts, connectionAddress?: string): TaskInvocation[] {
  return invocations.flatMap((invocation) => {
    if (findTask(invocation.module)) return [invocation];
    const module = findModule(invocation.module);
    if (!module) throw new Error(`unknown task module ${invocation.module}`);
    const context = { taskName: invocation.name, origin: invocation.origin, facts, connectionAddress };
    return expandInvocations(module.expand(invocation.args, context), facts, connectionAddress);
  });
}

/** Facts the expanding modules read themselves (their records). */
export function moduleFactRequests(invocations: TaskInvocation[]): FactRequest[] {
  return invocations.flatMap((invocation) => {
    const module = findModule(invocation.module);
    return module?.facts ? [module.facts(invocation.args)] : [];
  });
}
