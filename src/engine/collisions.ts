import { findTask } from '../catalog.js';
import type { Problem } from '../errors.js';
import type { TaskInvocation } from '../tasks/types.js';

/** Ignoring labels, are two tasks' arguments the same? (Then they agree and do not collide.) */
const sameArgs = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Two tasks claiming one resource (each task's `claims`) with different arguments would
 * fight (one adds what the other removes, two interfaces bind one port): that is an
 * input error, found before any host is contacted. `invocations` are expanded and
 * validated (engine/expand.ts).
 */
export function findCollisions(host: string, invocations: TaskInvocation[]): Problem[] {
  const claimedBy = new Map<string, TaskInvocation>();
  const problems: Problem[] = [];
  for (const invocation of invocations) {
    for (const resource of findTask(invocation.module)?.claims(invocation.args) ?? []) {
      const other = claimedBy.get(resource);
      if (!other) {
        claimedBy.set(resource, invocation);
      } else if (!(other.module === invocation.module && sameArgs(other.args, invocation.args))) {
        problems.push({
          where: invocation.origin ?? `host ${host}`,
          message: `task "${invocation.name}" and task "${other.name}"${other.origin ? ` (${other.origin})` : ''} both manage ${resource} on host ${host}`,
        });
      }
    }
  }
  return problems;
}
