import { Type, type Static } from '@sinclair/typebox';
import type { RuleFact } from '../facts/types.js';
import { shellQuote } from '../shell.js';
import { familyOf, prefixKey } from '../net/index.js';
import { State, type Validated } from './schema.js';
import { groupedBy } from './shared/factIndex.js';
import { ipStep, RoutingTable, tableName } from './shared/ip.js';
import { describeConnection, MAY_CUT_SSH, prefixCovers } from './sshPath.js';
import { defineTask, type ArgumentProblem, type Change } from './types.js';

export const IpRuleSchema = Type.Object(
  {
    from: Type.Optional(Type.String({ net: 'rule-selector', description: 'Source address or prefix the rule matches ("all" or omitted: any).' })),
    to: Type.Optional(Type.String({ net: 'rule-selector', description: 'Destination address or prefix the rule matches ("all" or omitted: any).' })),
    table: RoutingTable('The routing table matching packets look up.'),
    priority: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 32765, description: 'Rule priority (lower first); omitted: any priority matches, the kernel picks one.' }),
    ),
    state: State('the rule'),
    may_cut_ssh: Type.Optional(Type.Boolean({ description: "true: this rule may send wgplay's own SSH replies to another table; refused otherwise (docs/SAFETY.md)." })),
  },
  { additionalProperties: false },
);

export type IpRuleArgs = Static<typeof IpRuleSchema>;

function describeRule(args: Omit<IpRuleArgs, 'state'>): string {
  const parts = [`from ${args.from ?? 'all'}`];
  if (args.to) parts.push(`to ${args.to}`);
  parts.push(`table ${args.table}`);
  if (args.priority !== undefined) parts.push(`priority ${args.priority}`);
  return parts.join(' ');
}

/** A rule's family, selectors and table as compared ("all" and omitted are one; prefixes canonical). */
function selectorOf(family: string, from: string | undefined, to: string | undefined, table: string | number): string {
  const side = (text: string | undefined) => (text === undefined || text === 'all' ? 'all' : prefixKey(text));
  return `${family} ${side(from)} ${side(to)} ${tableName(table)}`;
}

/** The host's rules the task stands for: same selectors and table, and its priority when it names one (looked up: a thousand rule tasks each scanned every rule). */
function matchingRules(rules: readonly RuleFact[], args: Validated<typeof IpRuleSchema>, family: string): RuleFact[] {
  const same = groupedBy(rules, 'ip_rule selector', (rule) => selectorOf(rule.family, rule.from, rule.to, rule.table)).get(selectorOf(family, args.from, args.to, args.table)) ?? [];
  return same.filter((rule) => args.priority === undefined || rule.priority === args.priority);
}

export const ipRuleTask = defineTask({
  name: 'ip_rule',
  summary: 'A policy routing rule (`ip rule`): from/to a prefix, look up a table.',
  schema: IpRuleSchema,
  check(args) {
    const problems: ArgumentProblem[] = [];
    if (args.from && args.to && args.from !== 'all' && args.to !== 'all' && familyOf(args.from) !== familyOf(args.to)) {
      problems.push({ path: '/to', message: 'from and to must be of the same address family' });
    }
    return problems;
  },
  claims: (args) => [`policy rule from ${args.from ?? 'all'} to ${args.to ?? 'all'} table ${tableName(args.table)} priority ${args.priority ?? 'any'}`],
  programs: () => ['ip'],
  facts: () => ({}),
  // wgplay's replies go from the address SSH arrived at to the controller; every rule
  // wgplay can add comes before the kernel's `lookup main` (priority 32766).
  cutsSsh(args, connection) {
    if (args[MAY_CUT_SSH] || args.state === 'absent' || ['main', 'local'].includes(tableName(args.table))) return undefined;
    if (!prefixCovers(args.from, connection.serverAddress) || !prefixCovers(args.to, connection.clientAddress)) return undefined;
    return (
      `the rule ${describeRule(args)} matches ${describeConnection(connection)} and would send its replies to table ` +
      `${args.table} instead of main; if that is intended, set ${MAY_CUT_SSH}: true on the task`
    );
  },
  plan(args, facts) {
    // "all" has no family: the address given on either side decides (none: IPv4).
    const address = [args.from, args.to].find((side) => side !== undefined && side !== 'all');
    const family = familyOf(address ?? '0.0.0.0');
    const existing = matchingRules(facts.rules, args, family);
    const selector = [
      args.from ? `from ${shellQuote(args.from)}` : 'from all',
      args.to ? `to ${shellQuote(args.to)}` : '',
      `table ${shellQuote(String(args.table))}`,
    ]
      .filter(Boolean)
      .join(' ');
    const described = describeRule(args);
    if (args.state === 'present') {
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
});
