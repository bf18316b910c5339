import type { RouteFact } from '../facts/types.js';
import { shellQuote } from '../shell.js';
import { ipStep, tableSchema } from './ipRule.js';
import { familyOf, interfaceNameProblem, isCidrOrAddress, normalizePrefix } from './netaddr.js';
import type { ArgumentProblem, TaskModule } from './types.js';

export interface IpRouteArgs {
  to: string;
  dev?: string;
  via?: string;
  table?: string | number;
  state?: 'present' | 'absent';
}

export function describeRoute(args: IpRouteArgs): string {
  return [
    args.to,
    args.via ? `via ${args.via}` : '',
    args.dev ? `dev ${args.dev}` : '',
    `table ${args.table ?? 'main'}`,
  ]
    .filter(Boolean)
    .join(' ');
}

function sameDestination(fact: RouteFact, args: IpRouteArgs): boolean {
  return (
    fact.table === String(args.table ?? 'main') &&
    normalizePrefix(fact.dst) === normalizePrefix(args.to) &&
    (fact.type === undefined || fact.type === 'unicast')
  );
}

export const ipRouteTask: TaskModule<IpRouteArgs> = {
  name: 'ip_route',
  summary: 'A route (`ip route`) to a prefix through a device and/or gateway, in a table.',
  schema: {
    type: 'object',
    required: ['to'],
    additionalProperties: false,
    properties: {
      to: { type: 'string' },
      dev: { type: 'string' },
      via: { type: 'string' },
      table: tableSchema,
      state: { enum: ['present', 'absent'] },
    },
  },
  check(args) {
    const problems: ArgumentProblem[] = [];
    if (args.to !== 'default' && !isCidrOrAddress(args.to)) {
      problems.push({ path: '/to', message: `"${args.to}" is not an IP address or prefix` });
    }
    if (args.via !== undefined && (!isCidrOrAddress(args.via) || args.via.includes('/'))) {
      problems.push({ path: '/via', message: `"${args.via}" is not an IP address` });
    }
    if (args.dev !== undefined) {
      const problem = interfaceNameProblem(args.dev);
      if (problem) problems.push({ path: '/dev', message: problem });
    }
    if ((args.state ?? 'present') === 'present' && !args.dev && !args.via) {
      problems.push({ path: '', message: 'a present route needs dev or via' });
    }
    return problems;
  },
  facts: () => ({}),
  plan(args, facts) {
    const family = args.to === 'default' ? familyOf(args.via ?? '0.0.0.0') : familyOf(args.to);
    const existing = facts.routes.filter((route) => route.family === family && sameDestination(route, args));
    const table = `table ${shellQuote(String(args.table ?? 'main'))}`;
    const described = describeRoute(args);
    if ((args.state ?? 'present') === 'absent') {
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
};
