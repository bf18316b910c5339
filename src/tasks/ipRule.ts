import type { RuleFact } from '../facts/types.js';
import { shellQuote } from '../shell.js';
import { familyOf, isCidrOrAddress, normalizePrefix } from './netaddr.js';
import type { ArgumentProblem, Change, Step, TaskModule } from './types.js';

export interface IpRuleArgs {
  from?: string;
  to?: string;
  table: string | number;
  priority?: number;
  state?: 'present' | 'absent';
}

const TABLE_SCHEMA = {
  anyOf: [
    { type: 'integer', minimum: 1, maximum: 4294967295 },
    { type: 'string', pattern: '^(main|local|default|[0-9]+)$' },
  ],
};

export const tableSchema = TABLE_SCHEMA;

export function describeRule(args: IpRuleArgs): string {
  const parts = [`from ${args.from ?? 'all'}`];
  if (args.to) parts.push(`to ${args.to}`);
  parts.push(`table ${args.table}`);
  if (args.priority !== undefined) parts.push(`priority ${args.priority}`);
  return parts.join(' ');
}

function matches(fact: RuleFact, args: IpRuleArgs): boolean {
  const same = (a: string | undefined, b: string | undefined) =>
    (a === undefined || a === 'all' ? undefined : normalizePrefix(a)) ===
    (b === undefined || b === 'all' ? undefined : normalizePrefix(b));
  return (
    same(fact.from, args.from) &&
    same(fact.to, args.to) &&
    fact.table === String(args.table) &&
    (args.priority === undefined || fact.priority === args.priority)
  );
}

/** IPv4 lines go into the one `ip -batch`; IPv6 ones need `ip -6` and run as shell. */
export function ipStep(family: 'inet' | 'inet6', command: string): Step {
  return family === 'inet'
    ? { kind: 'ip', phase: 'routing', line: command }
    : { kind: 'shell', phase: 'routing', script: `ip -6 ${command}` };
}

export const ipRuleTask: TaskModule<IpRuleArgs> = {
  name: 'ip_rule',
  summary: 'A policy routing rule (`ip rule`): from/to a prefix, look up a table.',
  schema: {
    type: 'object',
    required: ['table'],
    additionalProperties: false,
    properties: {
      from: { type: 'string' },
      to: { type: 'string' },
      table: TABLE_SCHEMA,
      priority: { type: 'integer', minimum: 1, maximum: 32765 },
      state: { enum: ['present', 'absent'] },
    },
  },
  check(args) {
    const problems: ArgumentProblem[] = [];
    for (const field of ['from', 'to'] as const) {
      const value = args[field];
      if (value !== undefined && value !== 'all' && !isCidrOrAddress(value)) {
        problems.push({ path: `/${field}`, message: `"${value}" is not an IP address or prefix` });
      }
    }
    if (args.from && args.to && args.from !== 'all' && args.to !== 'all' && familyOf(args.from) !== familyOf(args.to)) {
      problems.push({ path: '/to', message: 'from and to must be of the same address family' });
    }
    return problems;
  },
  facts: () => ({}),
  plan(args, facts) {
    const family = familyOf(args.from ?? args.to ?? '0.0.0.0');
    const existing = facts.rules.filter((rule) => rule.family === family && matches(rule, args));
    const selector = [
      args.from ? `from ${shellQuote(args.from)}` : 'from all',
      args.to ? `to ${shellQuote(args.to)}` : '',
      `table ${shellQuote(String(args.table))}`,
    ]
      .filter(Boolean)
      .join(' ');
    const described = describeRule(args);
    if ((args.state ?? 'present') === 'present') {
      if (existing.length > 0) return [];
      const priority = args.priority !== undefined ? ` priority ${args.priority}` : '';
      return [
        {
          resource: `ip rule ${described}`,
          action: 'create',
          diff: `+ ip rule ${described}`,
          steps: [ipStep(family, `rule add ${selector}${priority}`)],
        },
      ];
    }
    // One delete per matching rule: duplicates are possible (e.g. left by a dead wg-quick).
    return existing.map(
      (rule): Change => ({
        resource: `ip rule ${described}`,
        action: 'delete',
        diff: `- ip rule ${describeRule({ ...args, priority: rule.priority })}`,
        steps: [ipStep(family, `rule del ${selector} priority ${rule.priority}`)],
      }),
    );
  },
};
