import type { NftSetFact, NftTableFact } from '../facts/types.js';
import { unifiedDiff } from './file.js';
import { NFT_FAMILIES, NFT_NAME, nftElementText } from './nftElement.js';
import type { ArgumentProblem, Change, TaskModule } from './types.js';

export interface NftSetSpec {
  name: string;
  /** Key type: "ifname", "ipv4_addr", "inet_service"... */
  type: string;
  flags?: string[];
  /** When given, the set holds exactly these; when omitted, elements are left to nft_element. */
  elements?: (string | number)[];
}

export interface NftMapSpec {
  name: string;
  type: string;
  value_type: string;
  flags?: string[];
  elements?: Record<string, string | number>;
}

export interface NftChainSpec {
  name: string;
  type?: 'filter' | 'nat' | 'route';
  hook?: string;
  priority?: number;
  policy?: 'accept' | 'drop';
  /** Rules in nft syntax, written the way `nft list ruleset` prints them. */
  rules?: string[];
}

export interface NftTableArgs {
  family?: string;
  name: string;
  state?: 'present' | 'absent';
  sets?: NftSetSpec[];
  maps?: NftMapSpec[];
  chains?: NftChainSpec[];
}

const normalizeRule = (rule: string) => rule.trim().replace(/\s+/g, ' ');
const sorted = (list: string[] | undefined) => [...(list ?? [])].sort().join(',');

/** The table as nft text; live elements of sets whose elements are not declared are kept. */
export function renderNftTable(args: NftTableArgs, live?: NftTableFact): string {
  const family = args.family ?? 'inet';
  const lines = [`table ${family} ${args.name} {`];
  const liveSet = (name: string) => live?.sets.find((set) => set.name === name);
  const elementsLine = (items: string[]) => (items.length ? [`\t\telements = { ${items.join(', ')} }`] : []);
  const flagsLine = (flags?: string[]) => (flags?.length ? [`\t\tflags ${flags.join(', ')}`] : []);

  for (const set of args.sets ?? []) {
    const items = set.elements
      ? set.elements.map((element) => nftElementText(element, set.type))
      : (liveSet(set.name)?.elements ?? []).map((element) => nftElementText(element.key, set.type));
    lines.push(`\tset ${set.name} {`, `\t\ttype ${set.type}`, ...flagsLine(set.flags), ...elementsLine(items), '\t}');
  }
  for (const map of args.maps ?? []) {
    const pairs: [string, string][] = map.elements
      ? Object.entries(map.elements).map(([key, value]) => [key, String(value)])
      : (liveSet(map.name)?.elements ?? []).map((element) => [element.key, element.value ?? '']);
    const items = pairs.map(([key, value]) => `${nftElementText(key, map.type)} : ${nftElementText(value, map.value_type)}`);
    lines.push(`\tmap ${map.name} {`, `\t\ttype ${map.type} : ${map.value_type}`, ...flagsLine(map.flags), ...elementsLine(items), '\t}');
  }
  for (const chain of args.chains ?? []) {
    lines.push(`\tchain ${chain.name} {`);
    if (chain.hook) {
      lines.push(`\t\ttype ${chain.type ?? 'filter'} hook ${chain.hook} priority ${chain.priority ?? 0}; policy ${chain.policy ?? 'accept'};`);
    }
    for (const rule of chain.rules ?? []) lines.push(`\t\t${normalizeRule(rule)}`);
    lines.push('\t}');
  }
  lines.push('}');
  return lines.join('\n');
}

/** The live table in the same shape, for the diff. */
export function renderLiveNftTable(live: NftTableFact): string {
  const asSpec = (set: NftSetFact) => ({
    name: set.name,
    type: set.keyType,
    flags: set.flags,
  });
  return renderNftTable(
    {
      family: live.family,
      name: live.name,
      sets: live.sets.filter((set) => set.kind === 'set').map(asSpec),
      maps: live.sets
        .filter((set) => set.kind === 'map')
        .map((set) => ({ ...asSpec(set), value_type: set.valueType ?? '' })),
      chains: live.chains.map((chain) => ({
        name: chain.name,
        type: chain.type as NftChainSpec['type'],
        hook: chain.hook,
        priority: chain.priority,
        policy: chain.policy as NftChainSpec['policy'],
        rules: chain.rules,
      })),
    },
    live,
  );
}

/** Why the live table differs from the spec, or undefined when it matches. */
export function nftTableDifference(args: NftTableArgs, live: NftTableFact): string | undefined {
  const wantSets = [
    ...(args.sets ?? []).map((set) => ({ kind: 'set' as const, name: set.name, type: set.type, value: undefined as string | undefined, flags: set.flags, elements: set.elements?.map(String) })),
    ...(args.maps ?? []).map((map) => ({
      kind: 'map' as const,
      name: map.name,
      type: map.type,
      value: map.value_type as string | undefined,
      flags: map.flags,
      elements: map.elements ? Object.entries(map.elements).map(([key, value]) => `${key} : ${value}`) : undefined,
    })),
  ];
  if (live.sets.length !== wantSets.length) return 'sets or maps were added or removed';
  for (const want of wantSets) {
    const have = live.sets.find((set) => set.name === want.name);
    if (!have || have.kind !== want.kind) return `${want.kind} ${want.name} is missing`;
    if (have.keyType !== want.type || (have.valueType ?? undefined) !== want.value) return `${want.kind} ${want.name} has another type`;
    if (sorted(have.flags) !== sorted(want.flags)) return `${want.kind} ${want.name} has other flags`;
    if (want.elements) {
      const haveElements = have.elements.map((element) => (element.value === undefined ? element.key : `${element.key} : ${element.value}`));
      if (sorted(haveElements) !== sorted(want.elements)) return `${want.kind} ${want.name} has other elements`;
    }
  }
  const wantChains = args.chains ?? [];
  if (live.chains.length !== wantChains.length) return 'chains were added or removed';
  for (const want of wantChains) {
    const have = live.chains.find((chain) => chain.name === want.name);
    if (!have) return `chain ${want.name} is missing`;
    if (want.hook) {
      if (have.hook !== want.hook || have.type !== (want.type ?? 'filter') || have.priority !== (want.priority ?? 0) || have.policy !== (want.policy ?? 'accept')) {
        return `chain ${want.name} has another type, hook, priority or policy`;
      }
    } else if (have.hook) {
      return `chain ${want.name} is a base chain`;
    }
    const wantRules = (want.rules ?? []).map(normalizeRule);
    const haveRules = have.rules.map(normalizeRule);
    if (wantRules.join('\n') !== haveRules.join('\n')) return `chain ${want.name} has other rules`;
  }
  return undefined;
}

export const nftTableTask: TaskModule<NftTableArgs> = {
  name: 'nft_table',
  summary: 'A whole nftables table (chains, sets, maps), replaced atomically in one transaction when it differs.',
  schema: {
    type: 'object',
    required: ['name'],
    additionalProperties: false,
    properties: {
      family: { enum: NFT_FAMILIES },
      name: { type: 'string', pattern: NFT_NAME },
      state: { enum: ['present', 'absent'] },
      sets: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name', 'type'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', pattern: NFT_NAME },
            type: { type: 'string', pattern: '^[a-z0-9_]+( \\. [a-z0-9_]+)*$' },
            flags: { type: 'array', items: { enum: ['constant', 'interval', 'timeout', 'dynamic'] } },
            elements: { type: 'array', items: { type: ['string', 'number'], pattern: '^[A-Za-z0-9_.:/-]+$' } },
          },
        },
      },
      maps: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name', 'type', 'value_type'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', pattern: NFT_NAME },
            type: { type: 'string', pattern: '^[a-z0-9_]+$' },
            value_type: { type: 'string', pattern: '^[a-z0-9_]+$' },
            flags: { type: 'array', items: { enum: ['constant', 'interval', 'timeout', 'dynamic'] } },
            elements: { type: 'object', additionalProperties: { type: ['string', 'number'], pattern: '^[A-Za-z0-9_.:/-]+$' } },
          },
        },
      },
      chains: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', pattern: NFT_NAME },
            type: { enum: ['filter', 'nat', 'route'] },
            hook: { enum: ['prerouting', 'input', 'forward', 'output', 'postrouting', 'ingress', 'egress'] },
            priority: { type: 'integer', minimum: -1000, maximum: 1000 },
            policy: { enum: ['accept', 'drop'] },
            rules: { type: 'array', items: { type: 'string', minLength: 1 } },
          },
        },
      },
    },
  },
  check(args) {
    const problems: ArgumentProblem[] = [];
    const seen = new Set<string>();
    for (const [list, kind] of [[args.sets ?? [], 'sets'], [args.maps ?? [], 'maps'], [args.chains ?? [], 'chains']] as const) {
      list.forEach((item, index) => {
        const key = `${kind === 'chains' ? 'chain' : 'set'}:${item.name}`;
        if (seen.has(key)) problems.push({ path: `/${kind}/${index}/name`, message: `"${item.name}" is declared twice` });
        seen.add(key);
      });
    }
    (args.chains ?? []).forEach((chain, index) => {
      (chain.rules ?? []).forEach((rule, ruleIndex) => {
        // A rule is one line of nft syntax; these would end it or start another command.
        if (/[\n;{}]|^\s*#/.test(rule.replace(/\{[^{}\n;]*\}/g, ''))) {
          problems.push({ path: `/chains/${index}/rules/${ruleIndex}`, message: 'a rule must be one nft statement on one line' });
        }
      });
      if ((chain.type || chain.policy || chain.priority !== undefined) && !chain.hook) {
        problems.push({ path: `/chains/${index}`, message: 'type, priority and policy need a hook (a base chain)' });
      }
    });
    return problems;
  },
  facts: () => ({}),
  plan(args, facts) {
    if (facts.programs.nft === false) throw new Error('nftables (the `nft` program) is not installed on this host');
    const family = args.family ?? 'inet';
    const live = facts.nftTables.find((table) => table.family === family && table.name === args.name);
    const resource = `nft table ${family} ${args.name}`;
    if ((args.state ?? 'present') === 'absent') {
      if (!live) return [];
      return [
        {
          resource,
          action: 'delete',
          diff: renderLiveNftTable(live).split('\n').map((line) => `- ${line}`).join('\n'),
          steps: [{ kind: 'nft', phase: 'firewall', order: 30, line: `delete table ${family} ${args.name}` }],
        },
      ];
    }
    if (live && nftTableDifference(args, live) === undefined) return [];
    const desired = renderNftTable(args, live);
    // "add table" first so that "delete table" never fails on a fresh host; all in one transaction.
    const line = `add table ${family} ${args.name}\ndelete table ${family} ${args.name}\n${desired}`;
    const change: Change = {
      resource,
      action: live ? 'update' : 'create',
      diff: unifiedDiff(live ? `${resource} (live)` : '/dev/null', `${resource} (desired)`, live ? renderLiveNftTable(live) + '\n' : '', desired + '\n'),
      steps: [{ kind: 'nft', phase: 'firewall', order: 0, line }],
    };
    return [change];
  },
};
