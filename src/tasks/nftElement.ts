import { Type, type Static } from '@sinclair/typebox';
import { nftTableKey } from '../facts/nftBoot.js';
import { nftElementKey } from '../net/index.js';
import type { HostFacts, NftSetFact } from '../facts/types.js';
import { nftBootDumpStep } from './nftPersist.js';
import { Defaulted, State, StringOrNumber, type Validated } from './schema.js';
import { firstBy } from './shared/factIndex.js';
import { NFT_NAME, NftFamily, nftElementText } from './shared/nft.js';
import { defineTask, type ArgumentProblem, type Change, type Step } from './types.js';

export const NftElementSchema = Type.Object(
  {
    family: Defaulted(NftFamily, 'inet'),
    table: Type.String({ pattern: NFT_NAME, description: 'The table holding the set or map.' }),
    set: Type.String({ pattern: NFT_NAME, description: 'The named set or map.' }),
    key: StringOrNumber({
      net: 'nft-element',
      description:
        'The element (for a map: its key): an address, prefix, range, port, name... Compared and written as nft prints it ("FD00::1" is fd00::1, 10.0.0.0-10.0.0.255 is 10.0.0.0/24); a number or address with a leading zero, a prefix with host bits set and a range ending below its start are refused.',
    }),
    value: Type.Optional(StringOrNumber({ net: 'nft-element', description: 'For a map: the value the key maps to (made canonical like the key).' })),
    state: State('the element'),
  },
  { additionalProperties: false },
);

export type NftElementArgs = Static<typeof NftElementSchema>;
type Args = Validated<typeof NftElementSchema>;

/** Element text the way nft prints it: addresses, prefixes, ranges, numbers and names. */
const ELEMENT_VALUE = /^[A-Za-z0-9_.:/-]{1,64}$/;

export function findNftSet(facts: { nftTables: { family: string; name: string; sets: NftSetFact[] }[] }, family: string, table: string, set: string) {
  return facts.nftTables.find((t) => t.family === family && t.name === table)?.sets.find((s) => s.name === set);
}

export const nftElementTask = defineTask({
  name: 'nft_element',
  summary: 'One element present (or absent) in a named nftables set or map, touching nothing else.',
  schema: NftElementSchema,
  check(args) {
    const problems: ArgumentProblem[] = [];
    for (const field of ['key', 'value'] as const) {
      const value = args[field];
      if (value !== undefined && !ELEMENT_VALUE.test(String(value))) {
        problems.push({ path: `/${field}`, message: `"${value}" is not a valid nftables element (letters, digits, . : / - _)` });
      }
    }
    return problems;
  },
  claims: (args) => [`nftables element ${args.key} of ${args.family} ${args.table} ${args.set}`],
  programs: () => ['nft'],
  // The table it reads, and whether that table has a boot file: then a changed element has it rewritten too.
  facts: (args) => ({ nftTables: [{ family: args.family, name: args.table }], nftBootFiles: [{ family: args.family, name: args.table }] }),
  plan(args, facts) {
    return withBootFile(args, facts, planElement(args, facts));
  },
});

/** A table wgplay persists (its boot file exists) gets its boot file rewritten after an element changes. */
function withBootFile(args: Args, facts: HostFacts, changes: Change[]): Change[] {
  const table = { family: args.family, name: args.table };
  if (!facts.nftBootFiles[nftTableKey(table)]?.exists) return changes;
  const dump = nftBootDumpStep(table);
  return changes.map((change) => ({ ...change, steps: [...change.steps, dump] }));
}

function planElement(args: Args, facts: HostFacts): Change[] {
  const family = args.family;
  const set = findNftSet(facts, family, args.table, args.set);
  const key = String(args.key);
  const value = args.value === undefined ? undefined : String(args.value);
  // Elements compared canonically on both sides (a host listed in text form, an older nft).
  const current = set && firstBy(set.elements, 'canonical key', (element) => nftElementKey(element.key), key);
  const where = `${family} ${args.table} ${args.set}`;
  const render = (k: string, v: string | undefined) =>
    nftElementText(k, set?.keyType) + (v === undefined ? '' : ` : ${nftElementText(v, set?.valueType)}`);
  const shown = (k: string, v: string | undefined) => (v === undefined ? k : `${k} : ${v}`);
  const resource = `nft element ${where} ${key}`;
  const add: Step = { kind: 'nft', phase: 'firewall', stage: 'element additions', line: `add element ${where} { ${render(key, value)} }` };
  // Deleting takes the key alone, for sets and maps alike.
  const del: Step = { kind: 'nft', phase: 'firewall', stage: 'element deletions', line: `delete element ${where} { ${render(key, undefined)} }` };

  if (args.state === 'absent') {
    if (!current) return [];
    return [{ resource, action: 'delete', diff: `- ${where} ${shown(key, current.value)}`, steps: [del] }];
  }
  if (!current) {
    return [{ resource, action: 'create', diff: `+ ${where} ${shown(key, value)}`, steps: [add] }];
  }
  if ((current.value === undefined ? undefined : nftElementKey(current.value)) === value) return [];
  const change: Change = {
    resource,
    action: 'update',
    diff: `- ${where} ${shown(key, current.value)}\n+ ${where} ${shown(key, value)}`,
    steps: [del, add],
  };
  return [change];
}
