import type { Problem } from '../errors.js';
import type { TaskInvocation } from '../tasks/types.js';

type Args = Record<string, any>;

/**
 * The resources a task claims on a host. Two tasks claiming one resource with
 * different arguments would fight (one adds what the other removes, two interfaces
 * bind one port): that is an input error, found before any host is contacted.
 */
function claims(module: string, args: Args): string[] {
  const table = (value: unknown) => String(value ?? 'main');
  switch (module) {
    case 'wireguard_interface':
      return [`WireGuard interface ${args.name}`, ...(args.listen_port !== undefined ? [`UDP listen port ${args.listen_port}`] : [])];
    case 'file':
      return [`file ${args.path}`];
    case 'sysctl':
      return [`kernel parameter ${args.key}`];
    case 'nft_table':
      return [`nftables table ${args.family ?? 'inet'} ${args.name}`];
    case 'nft_element':
      return [`nftables element ${args.key} of ${args.family ?? 'inet'} ${args.table} ${args.set}`];
    case 'ip_route':
      return [`route to ${args.to} in table ${table(args.table)}`];
    case 'ip_rule':
      return [`policy rule from ${args.from ?? 'all'} to ${args.to ?? 'all'} table ${args.table} priority ${args.priority ?? 'any'}`];
    default:
      return [];
  }
}

/** Ignoring labels, are two tasks' arguments the same? (Then they agree and do not collide.) */
const sameArgs = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function findCollisions(host: string, invocations: TaskInvocation[]): Problem[] {
  const claimedBy = new Map<string, TaskInvocation>();
  const problems: Problem[] = [];
  for (const invocation of invocations) {
    for (const resource of claims(invocation.module, invocation.args as Args)) {
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
