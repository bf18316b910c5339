import { Type, type Static } from '@sinclair/typebox';
import type { HostFacts, NftElementFact, NftSetFact, NftTableFact } from '../facts/types.js';
import { nftPersistFacts, planNftNotPersisted, planNftPersisted } from './nftPersist.js';
import { Defaulted, Enum, State, StringOrNumber, type Validated } from './schema.js';
import { unifiedDiff } from './shared/files.js';
import { NFT_NAME, NftFamily, nftElementText } from './shared/nft.js';
import { defineTask, type ArgumentProblem, type Change } from './types.js';

const SetFlags = Type.Optional(
  Type.Array(Enum(['constant', 'interval', 'timeout', 'dynamic'] as const), { description: 'nft set flags, e.g. [interval].' }),
);
const ELEMENT = '^[A-Za-z0-9_.:/-]+$';

const NftSetSchema = Type.Object(
  {
    name: Type.String({ pattern: NFT_NAME, description: 'Name of the set.' }),
    type: Type.String({ pattern: '^[a-z0-9_]+( \\. [a-z0-9_]+)*$', description: 'Key type: "ifname", "ipv4_addr", "inet_service"...' }),
    flags: SetFlags,
    elements: Type.Optional(
      Type.Array(StringOrNumber({ pattern: ELEMENT }), {
        description:
          'When given, the set holds exactly these; when omitted, its elements are left to nft_element tasks ' +
          '(a set replaced with another type, or without flags interval, keeps only the live elements that fit it).',
      }),
    ),
  },
  { additionalProperties: false },
);

const NftMapSchema = Type.Object(
  {
    name: Type.String({ pattern: NFT_NAME, description: 'Name of the map.' }),
    type: Type.String({ pattern: '^[a-z0-9_]+$', description: 'Key type.' }),
    value_type: Type.String({ pattern: '^[a-z0-9_]+$', description: 'Value type.' }),
    flags: SetFlags,
    elements: Type.Optional(
      Type.Unsafe<Record<string, string | number>>({
        type: 'object',
        additionalProperties: { type: ['string', 'number'], pattern: ELEMENT },
        description:
          'When given, the map holds exactly these key: value pairs; when omitted, they are left to nft_element tasks ' +
          '(a map replaced with another key or value type keeps none of its live pairs).',
      }),
    ),
  },
  { additionalProperties: false },
);

const NftChainSchema = Type.Object(
  {
    name: Type.String({ pattern: NFT_NAME, description: 'Name of the chain.' }),
    type: Type.Optional(Enum(['filter', 'nat', 'route'] as const, { description: 'Base chain type (default filter; needs hook).' })),
    hook: Type.Optional(
      Enum(['prerouting', 'input', 'forward', 'output', 'postrouting', 'ingress', 'egress'] as const, {
        description: 'The hook that makes this a base chain; omitted: a regular chain (jumped to).',
      }),
    ),
    priority: Type.Optional(Type.Integer({ minimum: -1000, maximum: 1000, description: 'Base chain priority (default 0; needs hook).' })),
    policy: Type.Optional(Enum(['accept', 'drop'] as const, { description: 'Base chain policy (default accept; needs hook).' })),
    rules: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), { description: 'Rules in nft syntax, one statement each, written the way `nft list ruleset` prints them.' }),
    ),
  },
  { additionalProperties: false },
);

export const NftTableSchema = Type.Object(
  {
    family: Defaulted(NftFamily, 'inet'),
    name: Type.String({ pattern: NFT_NAME, description: 'Name of the table.' }),
    state: State('the table'),
    persist: Defaulted(
      Type.Boolean({
        description:
          'Comes back at boot: the table as applied (with the elements nft_element tasks manage) in /etc/wgplay/nftables/FAMILY-NAME.nft, ' +
          'loaded early at boot by the one-shot unit wgplay-nft-FAMILY-NAME.service. false: neither exists.',
      }),
      true,
    ),
    sets: Type.Optional(Type.Array(NftSetSchema, { description: 'Named sets.' })),
    maps: Type.Optional(Type.Array(NftMapSchema, { description: 'Named maps.' })),
    chains: Type.Optional(Type.Array(NftChainSchema, { description: 'Chains, in order.' })),
  },
  { additionalProperties: false },
);

type NftSetSpec = Static<typeof NftSetSchema>;
type NftMapSpec = Static<typeof NftMapSchema>;
type NftChainSpec = Static<typeof NftChainSchema>;
export type NftTableArgs = Static<typeof NftTableSchema>;
type Args = Validated<typeof NftTableSchema>;

/** A table to render as nft text: the arguments, or the live table read as arguments. */
interface TableText {
  family: string;
  name: string;
  sets?: (Omit<NftSetSpec, 'flags'> & { flags?: string[] })[];
  maps?: (Omit<NftMapSpec, 'flags'> & { flags?: string[] })[];
  chains?: (Omit<NftChainSpec, 'type' | 'hook' | 'policy'> & { type?: string; hook?: string; policy?: string })[];
}

const normalizeRule = (rule: string) => rule.trim().replace(/\s+/g, ' ');
const sorted = (list: string[] | undefined) => [...(list ?? [])].sort().join(',');

/** Key types whose elements are strings: "wg-a" is a name there, not a range. */
const STRING_TYPES = new Set(['ifname', 'string']);

/** A prefix (10.0.0.0/24) or range (1000-2000) somewhere in the element's key. */
function isIntervalKey(key: string, keyType: string): boolean {
  const types = keyType.split(' . ');
  return key.split(' . ').some((part, index) => !STRING_TYPES.has(types[index] ?? '') && /[/-]/.test(part));
}

/**
 * The live elements a set or map keeps when the table is replaced: all of them while its
 * definition stays; when the key or value type changes none fit (nft refuses an IPv4 value
 * in an ipv6_addr map), and without `flags interval` no prefix or range does.
 */
function keptElements(have: NftSetFact, wanted: { type: string; value_type?: string; flags?: string[] }): NftElementFact[] {
  if (have.keyType !== wanted.type || (have.valueType ?? undefined) !== wanted.value_type) return [];
  if (wanted.flags?.includes('interval')) return have.elements;
  return have.elements.filter((element) => !isIntervalKey(element.key, have.keyType));
}

/**
 * The table as nft text; live elements of sets whose elements are not declared are kept.
 * `places`, when given, receives per line the argument it comes from ("chains[0].rules[1]").
 */
export function renderNftTable(args: TableText, live?: NftTableFact, places?: string[]): string {
  const lines = [`table ${args.family} ${args.name} {`];
  const liveElements = (wanted: { name: string; type: string; value_type?: string; flags?: string[] }) => {
    const have = live?.sets.find((set) => set.name === wanted.name);
    return have ? keptElements(have, wanted) : [];
  };
  const elementsLine = (items: string[]) => (items.length ? [`\t\telements = { ${items.join(', ')} }`] : []);
  const flagsLine = (flags?: string[]) => (flags?.length ? [`\t\tflags ${flags.join(', ')}`] : []);

  for (const set of args.sets ?? []) {
    const items = set.elements
      ? set.elements.map((element) => nftElementText(element, set.type))
      : liveElements(set).map((element) => nftElementText(element.key, set.type));
    lines.push(`\tset ${set.name} {`, `\t\ttype ${set.type}`, ...flagsLine(set.flags), ...elementsLine(items), '\t}');
  }
  for (const map of args.maps ?? []) {
    const pairs: [string, string][] = map.elements
      ? Object.entries(map.elements).map(([key, value]) => [key, String(value)])
      : liveElements(map).map((element) => [element.key, element.value ?? '']);
    const items = pairs.map(([key, value]) => `${nftElementText(key, map.type)} : ${nftElementText(value, map.value_type)}`);
    lines.push(`\tmap ${map.name} {`, `\t\ttype ${map.type} : ${map.value_type}`, ...flagsLine(map.flags), ...elementsLine(items), '\t}');
  }
  (args.chains ?? []).forEach((chain, chainIndex) => {
    const place = (line: string, where: string) => {
      if (places) places[lines.length] = where;
      lines.push(line);
    };
    place(`\tchain ${chain.name} {`, `chains[${chainIndex}]`);
    if (chain.hook) {
      place(`\t\ttype ${chain.type ?? 'filter'} hook ${chain.hook} priority ${chain.priority ?? 0}; policy ${chain.policy ?? 'accept'};`, `chains[${chainIndex}]`);
    }
    (chain.rules ?? []).forEach((rule, ruleIndex) => place(`\t\t${normalizeRule(rule)}`, `chains[${chainIndex}].rules[${ruleIndex}]`));
    lines.push('\t}');
  });
  lines.push('}');
  return lines.join('\n');
}

/** The live table in the same shape, for the diff. */
function renderLiveNftTable(live: NftTableFact): string {
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
        type: chain.type,
        hook: chain.hook,
        priority: chain.priority,
        policy: chain.policy,
        rules: chain.rules,
      })),
    },
    live,
  );
}

/**
 * Whether the live table differs from the spec. Rules are compared as the kernel spells
 * them when `canonicalRules` (nft's own reading of the wanted rules, per chain) is known;
 * otherwise whitespace-normalised as written.
 */
function nftTableDiffers(args: Args, live: NftTableFact, canonicalRules?: Record<string, string[]>): boolean {
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
  // Sets or maps added or removed; then each one missing, of another type, flags or elements.
  if (live.sets.length !== wantSets.length) return true;
  for (const want of wantSets) {
    const have = live.sets.find((set) => set.name === want.name);
    if (!have || have.kind !== want.kind) return true;
    if (have.keyType !== want.type || (have.valueType ?? undefined) !== want.value) return true;
    if (sorted(have.flags) !== sorted(want.flags)) return true;
    if (want.elements) {
      const haveElements = have.elements.map((element) => (element.value === undefined ? element.key : `${element.key} : ${element.value}`));
      if (sorted(haveElements) !== sorted(want.elements)) return true;
    }
  }
  // Chains added or removed; then each one missing, another base chain, or other rules.
  const wantChains = args.chains ?? [];
  if (live.chains.length !== wantChains.length) return true;
  for (const want of wantChains) {
    const have = live.chains.find((chain) => chain.name === want.name);
    if (!have) return true;
    if (want.hook) {
      if (have.hook !== want.hook || have.type !== (want.type ?? 'filter') || have.priority !== (want.priority ?? 0) || have.policy !== (want.policy ?? 'accept')) {
        return true;
      }
    } else if (have.hook) {
      return true;
    }
    const wantRules = (canonicalRules?.[want.name] ?? want.rules ?? []).map(normalizeRule);
    const haveRules = have.rules.map(normalizeRule);
    if (wantRules.join('\n') !== haveRules.join('\n')) return true;
  }
  return false;
}

/**
 * Why nft refuses the table, from nft's own error output on renderNftTable(args): each
 * "/dev/stdin:LINE:COL" replaced by the argument that line was rendered from:
 * "nft refuses the table: chains[1].rules[0]: Error: syntax error, unexpected newline".
 */
export function nftRefusal(args: Args, error: string): string {
  return `nft refuses the table: ${nftErrorPlaces(args, error)}`;
}

function nftErrorPlaces(args: Args, error: string): string {
  const places: string[] = [];
  renderNftTable(args, undefined, places);
  return error.replace(/(?:\/dev\/stdin|-):(\d+):[\d-]+:\s*/g, (whole, line: string) => {
    const place = places[Number(line) - 1];
    return place ? `${place}: ` : whole;
  });
}

export const nftTableTask = defineTask({
  name: 'nft_table',
  summary: 'A whole nftables table (chains, sets, maps), replaced atomically in one transaction when it differs.',
  schema: NftTableSchema,
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
  claims: (args) => [`nftables table ${args.family} ${args.name}`],
  programs: () => ['nft'],
  // nft reads the wanted table on the host in a scratch network namespace (factScript's
  // nft_canonical): invalid nft is refused before anything changes, and rules compare
  // in the kernel's spelling (docs/VALUES.md).
  facts: (args) => ({
    nftTables: [{ family: args.family, name: args.name }],
    ...(args.state === 'present' ? { nftCanonical: [{ family: args.family, name: args.name, text: renderNftTable(args) }] } : {}),
    ...nftPersistFacts({ family: args.family, name: args.name }),
  }),
  plan(args, facts) {
    const table = { family: args.family, name: args.name };
    const changes = planLiveTable(args, facts);
    const persisted = args.state === 'present' && args.persist;
    changes.push(...(persisted ? planNftPersisted(table, facts, changes.length > 0) : planNftNotPersisted(table, facts)));
    return changes;
  },
});

function planLiveTable(args: Args, facts: HostFacts): Change[] {
  const family = args.family;
  const live = facts.nftTables.find((table) => table.family === family && table.name === args.name);
  const resource = `nft table ${family} ${args.name}`;
  if (args.state === 'absent') {
    if (!live) return [];
    return [
      {
        resource,
        action: 'delete',
        diff: renderLiveNftTable(live).split('\n').map((line) => `- ${line}`).join('\n'),
        steps: [{ kind: 'nft', phase: 'firewall', stage: 'table deletions', line: `delete table ${family} ${args.name}` }],
      },
    ];
  }
  const canonical = facts.nftCanonical?.[`${family} ${args.name}`];
  if (canonical?.error !== undefined) throw new Error(nftRefusal(args, canonical.error));
  if (live && !nftTableDiffers(args, live, canonical?.rules)) return [];
  const desired = renderNftTable(args, live);
  // "add table" first so that "delete table" never fails on a fresh host; all in one transaction.
  const line = `add table ${family} ${args.name}\ndelete table ${family} ${args.name}\n${desired}`;
  return [
    {
      resource,
      action: live ? 'update' : 'create',
      diff: unifiedDiff(live ? `${resource} (live)` : '/dev/null', `${resource} (desired)`, live ? renderLiveNftTable(live) + '\n' : '', desired + '\n'),
      steps: [{ kind: 'nft', phase: 'firewall', stage: 'tables', line }],
    },
  ];
}
