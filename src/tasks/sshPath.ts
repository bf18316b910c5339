// Whether a route or rule would take wgplay's own SSH connection somewhere else.
// The connection is what the host reported (SSH_CONNECTION), never the inventory's
// spelling of the host's address; prefixes are compared by value (src/net).
import { prefixCovers, prefixLengthOf } from '../net/index.js';
import type { RouteFact, SshConnectionFact } from '../facts/types.js';

export { prefixCovers };

/** The route of `table` the kernel picks for `address` today (longest prefix). */
export function currentRoute(routes: RouteFact[], table: string, address: string): RouteFact | undefined {
  let best: RouteFact | undefined;
  for (const route of routes) {
    if (route.table !== table || !prefixCovers(route.dst, address)) continue;
    if (!best || prefixLengthOf(route.dst, address) > prefixLengthOf(best.dst, address)) best = route;
  }
  return best;
}

/**
 * Would a route in the main table to `to` through `target` become the way to the
 * controller? Then the route it would replace ("no route" when none), else undefined.
 * A less specific route leaves the current one in charge; the same route changes nothing.
 */
export function takesControllerRoute(
  to: string,
  target: { dev?: string; via?: string },
  controller: string,
  routes: RouteFact[],
): { now?: RouteFact } | undefined {
  if (!prefixCovers(to, controller)) return undefined;
  const now = currentRoute(routes, 'main', controller);
  if (now) {
    const length = prefixLengthOf(to, controller);
    const nowLength = prefixLengthOf(now.dst, controller);
    if (length < nowLength) return undefined;
    const same = (target.dev === undefined || target.dev === now.dev) && (target.via === undefined || target.via === now.gateway);
    if (length === nowLength && same) return undefined;
  }
  return { now };
}

export const describeRouteFact = (route: RouteFact | undefined) =>
  route ? `ip route ${[route.dst, route.gateway && `via ${route.gateway}`, route.dev && `dev ${route.dev}`].filter(Boolean).join(' ')}` : 'no route';

/** The opt-in a route or rule task takes to be allowed to move wgplay's SSH path. */
export const MAY_CUT_SSH = 'may_cut_ssh';

export const describeConnection = (connection: SshConnectionFact) =>
  `wgplay's SSH connection (from the controller ${connection.clientAddress} to ${connection.serverAddress} port ${connection.serverPort})`;
