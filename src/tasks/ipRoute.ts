import { Type, type Static } from '@sinclair/typebox';
import type { RouteFact } from '../facts/types.js';
import { shellQuote } from '../shell.js';
import { familyOf, prefixKey } from '../net/index.js';
import { Defaulted, State, type Validated } from './schema.js';
import { groupedBy } from './shared/factIndex.js';
import { ipStep, RoutingTable, tableName } from './shared/ip.js';
import { currentRoute, describeConnection, describeRouteFact, MAY_CUT_SSH, prefixCovers, takesControllerRoute } from './sshPath.js';
import { defineTask, type ArgumentProblem } from './types.js';

export const IpRouteSchema = Type.Object(
  {
    to: Type.String({ net: 'route-destination', description: 'Destination: an address, a prefix, or "default".' }),
    dev: Type.Optional(Type.String({ net: 'interface-name', description: 'The interface the route leaves through.' })),
    via: Type.Optional(Type.String({ net: 'host-address', description: 'The next hop (gateway) address.' })),
    table: Defaulted(RoutingTable('The routing table the route is in.'), 'main'),
    state: State('the route'),
    may_cut_ssh: Type.Optional(Type.Boolean({ description: "true: this route may take over (or remove) the route wgplay's own SSH connection uses; refused otherwise (docs/SAFETY.md)." })),
  },
  { additionalProperties: false },
);

export type IpRouteArgs = Static<typeof IpRouteSchema>;
type Args = Validated<typeof IpRouteSchema>;

function describeRoute(args: { to: string; dev?: string; via?: string; table: string | number }): string {
  return [
    args.to,
    args.via ? `via ${args.via}` : '',
    args.dev ? `dev ${args.dev}` : '',
    `table ${args.table}`,
  ]
    .filter(Boolean)
    .join(' ');
}

/** IPv4 or IPv6: "default" is the family of its via (IPv4 without one, as `ip route` takes it). */
const familyOfRoute = (args: Args) => (args.to === 'default' ? familyOf(args.via ?? '0.0.0.0') : familyOf(args.to));

/** The destination as one value: "default" is 0.0.0.0/0 (::/0), which ip prints as "default". */
const destinationKey = (to: string, family: 'inet' | 'inet6') => (to === 'default' ? (family === 'inet' ? '0.0.0.0/0' : '::/0') : prefixKey(to));

/** A route's family, table and destination, for the routes a task manages (unicast ones). */
const destinationOf = (family: 'inet' | 'inet6', table: string | number, to: string) => `${family} ${tableName(table)} ${destinationKey(to, family)}`;

/** The host's unicast routes to the task's destination in its table (a lookup: a thousand route tasks each scanned every route). */
function routesToDestination(routes: readonly RouteFact[], args: Args, family: 'inet' | 'inet6'): readonly RouteFact[] {
  const index = groupedBy(routes, 'ip_route destination', (route) =>
    route.type === undefined || route.type === 'unicast' ? destinationOf(route.family, route.table, route.dst) : undefined,
  );
  return index.get(destinationOf(family, args.table, args.to)) ?? [];
}

export const ipRouteTask = defineTask({
  name: 'ip_route',
  summary: 'A route (`ip route`) to a prefix through a device and/or gateway, in a table.',
  schema: IpRouteSchema,
  check(args) {
    const problems: ArgumentProblem[] = [];
    if (args.via !== undefined && args.to !== 'default' && familyOf(args.via) !== familyOf(args.to)) {
      problems.push({ path: '/via', message: 'to and via must be of the same address family' });
    }
    if (args.state === 'present' && !args.dev && !args.via) {
      problems.push({ path: '', message: 'a present route needs dev or via' });
    }
    return problems;
  },
  claims: (args) => [`route to ${destinationKey(args.to, familyOfRoute(args))} in table ${tableName(args.table)}`],
  programs: () => ['ip'],
  facts: () => ({}),
  // Only the main table: the one the kernel's own rules use for wgplay's replies (a
  // rule sending them elsewhere is ip_rule's concern).
  cutsSsh(args, connection, facts) {
    const controller = connection.clientAddress;
    if (args[MAY_CUT_SSH] || tableName(args.table) !== 'main' || !prefixCovers(args.to, controller)) return undefined;
    const optIn = `; if that is intended, set ${MAY_CUT_SSH}: true on the task`;
    if (args.state === 'absent') {
      const now = currentRoute(facts.routes, 'main', controller);
      if (!now || prefixKey(now.dst) !== prefixKey(args.to)) return undefined;
      return `removing the route to ${args.to} would cut ${describeConnection(connection)}, which leaves by it${optIn}`;
    }
    const taken = takesControllerRoute(args.to, args, controller, facts.routes);
    if (!taken) return undefined;
    return (
      `the route to ${args.to} covers the controller's address ${controller}: ${describeConnection(connection)} ` +
      `would leave by it instead of by ${describeRouteFact(taken.now)} table main${optIn}`
    );
  },
  plan(args, facts) {
    const family = familyOfRoute(args);
    const existing = routesToDestination(facts.routes, args, family);
    const table = `table ${shellQuote(String(args.table))}`;
    const described = describeRoute(args);
    if (args.state === 'absent') {
      return existing.map((route) => ({
        resource: `ip route ${described}`,
        action: 'delete' as const,
        diff: `- ip route ${describeRoute({ to: route.dst, dev: route.dev, via: route.gateway, table: route.table })}`,
        steps: [ipStep(family, `route del ${shellQuote(args.to)} ${table}`)],
      }));
    }
    const exact = existing.find(
      (route) => (args.dev === undefined || route.dev === args.dev) && (args.via === undefined || route.gateway === args.via),
    );
    if (exact) return [];
    const target = [args.via ? `via ${shellQuote(args.via)}` : '', args.dev ? `dev ${shellQuote(args.dev)}` : '']
      .filter(Boolean)
      .join(' ');
    const before = existing[0];
    return [
      {
        resource: `ip route ${described}`,
        action: before ? 'update' : 'create',
        diff:
          (before ? `- ip route ${describeRoute({ to: before.dst, dev: before.dev, via: before.gateway, table: before.table })}\n` : '') +
          `+ ip route ${described}`,
        steps: [ipStep(family, `route replace ${shellQuote(args.to)} ${target} ${table}`)],
      },
    ];
  },
});
