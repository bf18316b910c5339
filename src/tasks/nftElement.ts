import type { NftSetFact } from '../facts/types.js';
import type { ArgumentProblem, Change, TaskModule } from './types.js';

export interface NftElementArgs {
  family?: string;
  table: string;
  /** The named set or map. */
  set: string;
  key: string | number;
  /** For maps: the value the key maps to. */
  value?: string | number;
  state?: 'present' | 'absent';
}

export const NFT_NAME = '^[A-Za-z][A-Za-z0-9_]{0,31}$';
export const NFT_FAMILIES = ['inet', 'ip', 'ip6', 'arp', 'bridge', 'netdev'];
/** Element text the way nft prints it: addresses, prefixes, ranges, numbers and names. */
const ELEMENT_VALUE = /^[A-Za-z0-9_.:\/-]{1,64}$/;

/** nft syntax for one element: strings of type ifname need quotes, the rest is bare. */
export function nftElementText(value: string | number, type: string | undefined): string {
  const text = String(value);
  const looksBare = /^[0-9.:\/-]+$/.test(text);
  if (type === 'ifname' || type === 'string' || (type === undefined && !looksBare)) return `"${text}"`;
  return text;
}

export function findNftSet(facts: { nftTables: { family: string; name: string; sets: NftSetFact[] }[] }, family: string, table: string, set: string) {
  return facts.nftTables.find((t) => t.family === family && t.name === table)?.sets.find((s) => s.name === set);
}

export const nftElementTask: TaskModule<NftElementArgs> = {
  name: 'nft_element',
  summary: 'One element present (or absent) in a named nftables set or map, touching nothing else.',
  schema: {
    type: 'object',
    required: ['table', 'set', 'key'],
    additionalProperties: false,
    properties: {
      family: { enum: NFT_FAMILIES },
      table: { type: 'string', pattern: NFT_NAME },
      set: { type: 'string', pattern: NFT_NAME },
      key: { type: ['string', 'number'] },
      value: { type: ['string', 'number'] },
      state: { enum: ['present', 'absent'] },
    },
  },
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
  facts: () => ({}),
  plan(args, facts) {
    if (facts.programs.nft === false) throw new Error('nftables (the `nft` program) is not installed on this host');
    const family = args.family ?? 'inet';
    const set = findNftSet(facts, family, args.table, args.set);
    const key = String(args.key);
    const value = args.value === undefined ? undefined : String(args.value);
    const current = set?.elements.find((element) => element.key === key);
    const where = `${family} ${args.table} ${args.set}`;
    const render = (k: string, v: string | undefined) =>
      nftElementText(k, set?.keyType) + (v === undefined ? '' : ` : ${nftElementText(v, set?.valueType)}`);
    const shown = (k: string, v: string | undefined) => (v === undefined ? k : `${k} : ${v}`);
    const resource = `nft element ${where} ${key}`;
    const add = { kind: 'nft' as const, phase: 'firewall' as const, order: 20, line: `add element ${where} { ${render(key, value)} }` };
    // Deleting takes the key alone, for sets and maps alike.
    const del = { kind: 'nft' as const, phase: 'firewall' as const, order: 10, line: `delete element ${where} { ${render(key, undefined)} }` };

    if ((args.state ?? 'present') === 'absent') {
      if (!current) return [];
      return [{ resource, action: 'delete', diff: `- ${where} ${shown(key, current.value)}`, steps: [del] }];
    }
    if (!current) {
      return [{ resource, action: 'create', diff: `+ ${where} ${shown(key, value)}`, steps: [add] }];
    }
    if (current.value === value) return [];
    const change: Change = {
      resource,
      action: 'update',
      diff: `- ${where} ${shown(key, current.value)}\n+ ${where} ${shown(key, value)}`,
      steps: [del, add],
    };
    return [change];
  },
};
