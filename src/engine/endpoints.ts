// Endpoint names (a peer's "vpn.example.com:51820") are resolved on the controller, once
// per name and run, before any host is contacted: see src/net/resolve.ts for why.
import { WgplayError, type Problem } from '../errors.js';
import { resolveEndpoint, type ResolveOptions } from '../net/index.js';
import { netValuesOf } from '../playbook/validate.js';
import { findModule, findTask } from '../catalog.js';
import type { TaskInvocation } from '../tasks/types.js';

/**
 * Replaces, in place, every endpoint name in the (validated) invocations' arguments by
 * the address it resolves to. Throws one WgplayError naming every endpoint that does not
 * resolve. `cache` lets several hosts share one lookup per name.
 */
export async function resolveEndpointNames(
  invocations: TaskInvocation[],
  options: ResolveOptions & { cache?: Map<string, Promise<string>> } = {},
): Promise<void> {
  const cache = options.cache ?? new Map<string, Promise<string>>();
  const problems: Problem[] = [];
  await Promise.all(
    invocations.flatMap((invocation) => {
      const owner = findTask(invocation.module) ?? findModule(invocation.module);
      if (!owner) return [];
      return netValuesOf(owner.schema, invocation.args, 'endpoint').map(async ({ parent, key, value, pointer }) => {
        let pending = cache.get(value);
        if (!pending) {
          pending = resolveEndpoint(value, options);
          cache.set(value, pending);
        }
        try {
          parent[key] = await pending;
        } catch (error) {
          problems.push({
            where: `${invocation.origin ? `${invocation.origin}: ` : ''}task "${invocation.name}", ${invocation.module} arguments ${pointer}`,
            message: `endpoint ${(error as Error).message}`,
          });
        }
      });
    }),
  );
  if (problems.length > 0) throw new WgplayError(problems);
}
