// Parser for nftables' rulesets: `nft -j list ruleset` (tables, chains, sets and maps with
// their types and elements) and `nft -s -a list ruleset` (rules exactly as nft prints
// them, which is how tasks compare rules, plus each rule's handle).
//
// How nft 1.0.6 prints a ruleset (see fixtures/facts/gateway.nft.listed):
//   - one rule per line, anonymous sets and maps inline:
//       meta l4proto { icmp, ipv6-icmp } accept
//       dnat ip to iifname map { "wg-a" : 10.200.200.1, "wg-b" : 10.200.200.2 }
//   - set and map elements wrapped over several lines (`elements = { "wg-a",\n "wg-b" }`),
//   - a chain's comment on its own line before `type ... hook ... priority ...; policy ...;`,
//   - with -a, " # handle N" after each rule and after each block's "{".
// Rule text is still assembled across lines until braces balance, so a future nft that
// wraps long anonymous sets inside rules keeps giving one string per rule.
//
// When `nft -j` is unavailable (nft built without JSON) everything is read from the text.

import { WgplayError } from '../errors.js';
import type { NftCanonicalFact, NftChainFact, NftElementFact, NftSetFact, NftTableFact } from './types.js';

type Json = Record<string, unknown>;

/** Collapses runs of whitespace outside double-quoted strings into one space; trims. */
export function normalizeNftWhitespace(text: string): string {
  let result = '';
  let quoted = false;
  let space = false;
  for (const c of text) {
    if (c === '"') quoted = !quoted;
    if (!quoted && /\s/.test(c)) {
      space = true;
      continue;
    }
    if (space && result !== '') result += ' ';
    space = false;
    result += c;
  }
  return result;
}

/** Open braces (outside double-quoted strings) and an open quote, after some text. */
interface BraceState {
  depth: number;
  quoted: boolean;
}

/**
 * The state after `text` read on from `state`. A statement is assembled line by line and
 * each line is scanned once: rescanning the whole statement at every line made a set of
 * 1000 elements on 1000 lines cost ~500 000 line scans.
 */
function braceScan(text: string, state: BraceState = { depth: 0, quoted: false }): BraceState {
  let { depth, quoted } = state;
  for (const c of text) {
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === '{') depth++;
    else if (!quoted && c === '}') depth--;
  }
  return { depth, quoted };
}

/** Splits at `separator` where it stands outside quotes and braces. */
function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === '{') depth++;
    else if (!quoted && c === '}') depth--;
    else if (!quoted && depth === 0 && text.startsWith(separator, i)) {
      parts.push(text.slice(start, i));
      start = i + separator.length;
      i += separator.length - 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

const HANDLE = /\s+# handle (\d+)$/;

function stripHandle(line: string): { text: string; handle?: number } {
  const match = HANDLE.exec(line);
  return match ? { text: line.slice(0, match.index), handle: Number(match[1]) } : { text: line };
}

const unquote = (name: string) => (name.length >= 2 && name.startsWith('"') && name.endsWith('"') ? name.slice(1, -1) : name);

// ---------------------------------------------------------------------------------------
// Element text (JSON)

const VERDICTS = new Set(['accept', 'drop', 'continue', 'return', 'queue', 'reject']);

/** Canonical text of an nft JSON value: "wg-a", "51821", "10.0.0.0/24", "51820-51899", "10.0.0.1 . 22". */
function nftValueText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.map(nftValueText).join(' : ');
  const object = value as Json;
  const [key] = Object.keys(object);
  const inner = object[key];
  switch (key) {
    case 'prefix': {
      const prefix = inner as Json;
      return `${nftValueText(prefix.addr)}/${nftValueText(prefix.len)}`;
    }
    case 'range': {
      const [from, to] = inner as unknown[];
      return `${nftValueText(from)}-${nftValueText(to)}`;
    }
    case 'concat':
      return (inner as unknown[]).map(nftValueText).join(' . ');
    case 'elem':
      return nftValueText((inner as Json).val);
    case 'set':
      return `{ ${(Array.isArray(inner) ? inner : [inner]).map(nftValueText).join(', ')} }`;
    case 'jump':
    case 'goto':
      return `${key} ${nftValueText((inner as Json).target)}`;
    default:
      if (VERDICTS.has(key) && Object.keys(object).length === 1) return key;
      return JSON.stringify(value);
  }
}

function jsonElements(elem: unknown, kind: 'set' | 'map'): NftElementFact[] {
  if (elem === undefined || elem === null) return [];
  const list = Array.isArray(elem) ? elem : [elem];
  return list.map((item) => {
    if (kind === 'map' && Array.isArray(item) && item.length === 2) {
      return { key: nftValueText(item[0]), value: nftValueText(item[1]) };
    }
    return { key: nftValueText(item) };
  });
}

const typeText = (type: unknown): string =>
  Array.isArray(type) ? type.map(typeText).join(' . ') : typeof type === 'string' ? type : type === undefined ? '' : JSON.stringify(type);

const flagList = (flags: unknown): string[] =>
  Array.isArray(flags) ? flags.map(String) : typeof flags === 'string' ? [flags] : [];

// ---------------------------------------------------------------------------------------
// Text

type TextChain = NftChainFact & { handles: (number | undefined)[] };

interface TextTable {
  family: string;
  name: string;
  chains: TextChain[];
  sets: NftSetFact[];
}

// Named priorities (nft(8), "CHAIN PRIORITIES").
const PRIORITY_NAMES: Record<string, number> = { raw: -300, mangle: -150, dstnat: -100, filter: 0, security: 50, srcnat: 100 };
const BRIDGE_PRIORITY_NAMES: Record<string, number> = { dstnat: -300, filter: -200, out: 100, srcnat: 300 };

function priorityValue(text: string, family: string): number | undefined {
  const match = /^(-?\w+)(?:\s*([+-])\s*(\d+))?$/.exec(text.trim());
  if (!match) return undefined;
  const names = family === 'bridge' ? BRIDGE_PRIORITY_NAMES : PRIORITY_NAMES;
  const base = /^-?\d+$/.test(match[1]) ? Number(match[1]) : names[match[1]];
  if (base === undefined) return undefined;
  const offset = match[3] ? Number(match[3]) * (match[2] === '-' ? -1 : 1) : 0;
  return base + offset;
}

const CHAIN_HEADER = /^type (\S+) hook (\S+)(?: device \S+| devices = \{[^}]*\})* priority ([^;]+);(?: policy (\w+);)?/;

function addChainStatement(chain: TextChain, family: string, raw: string): void {
  const { text, handle } = stripHandle(raw.trim());
  const statement = normalizeNftWhitespace(text);
  if (statement === '') return;
  if (chain.rules.length === 0) {
    // Chain attributes come before the first rule (no rule starts with these words).
    const header = CHAIN_HEADER.exec(statement);
    if (header) {
      chain.type = header[1];
      chain.hook = header[2];
      chain.priority = priorityValue(header[3], family);
      if (header[4]) chain.policy = header[4];
      return;
    }
    if (/^comment "/.test(statement) || /^policy \w+;$/.test(statement) || /^devices = /.test(statement)) return;
  }
  chain.rules.push(statement);
  chain.handles.push(handle);
}

function textElements(text: string, kind: 'set' | 'map'): NftElementFact[] {
  const body = text.replace(/^elements = \{/, '').replace(/\}$/, '');
  return splitTopLevel(body, ',')
    .map((element) =>
      normalizeNftWhitespace(
        element
          .replace(/\s(?:timeout|expires)\s+\S+/g, ' ')
          .replace(/\scomment\s+"[^"]*"/g, ' ')
          .replace(/\scounter packets \d+ bytes \d+/g, ' ')
          .replace(/\scounter\b/g, ' '),
      ),
    )
    .filter((element) => element !== '')
    .map((element) => {
      const clean = (part: string) => normalizeNftWhitespace(part).replace(/"([^"]*)"/g, '$1');
      if (kind === 'map') {
        const [key, ...value] = splitTopLevel(element, ' : ');
        return { key: clean(key), value: clean(value.join(' : ')) };
      }
      return { key: clean(element) };
    });
}

function parseTextSet(kind: 'set' | 'map', name: string, statements: string[]): NftSetFact {
  const set: NftSetFact = { kind, name, keyType: '', flags: [], elements: [] };
  for (const raw of statements) {
    const statement = normalizeNftWhitespace(raw);
    let match: RegExpExecArray | null;
    if ((match = /^(?:type|typeof) (.*)$/.exec(statement))) {
      const [key, ...value] = splitTopLevel(match[1], ' : ');
      set.keyType = key.trim();
      if (kind === 'map') set.valueType = value.join(' : ').trim();
    } else if ((match = /^flags (.*)$/.exec(statement))) {
      set.flags = match[1].split(/[\s,]+/).filter(Boolean);
    } else if (statement.startsWith('elements = ')) {
      set.elements = textElements(statement, kind);
    }
  }
  return set;
}

/** Reads `nft [-s] [-a] list ruleset` text: tables, chains with their rules, sets and maps. */
export function parseNftText(text: string): TextTable[] {
  const tables: TextTable[] = [];
  let table: TextTable | undefined;
  let chain: TextChain | undefined;
  // A set/map (statements collected) or another block (counter, quota, flowtable...: skipped).
  let block: { kind?: 'set' | 'map'; name: string; statements: string[] } | undefined;
  // A statement still open at the end of a line (its lines so far, and their brace state).
  let pending: string | undefined;
  let pendingState: BraceState | undefined;

  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (block) {
      const statement = pending === undefined ? line : `${pending} ${line}`;
      if (pending === undefined && line === '}') {
        if (block.kind) table?.sets.push(parseTextSet(block.kind, block.name, block.statements));
        block = undefined;
        continue;
      }
      const state = braceScan(line, pendingState);
      if (state.depth > 0) {
        [pending, pendingState] = [statement, state];
        continue;
      }
      [pending, pendingState] = [undefined, undefined];
      if (statement !== '') block.statements.push(statement);
      continue;
    }
    if (chain) {
      if (pending === undefined && line === '}') {
        chain = undefined;
        continue;
      }
      if (pending === undefined && (line === '' || line.startsWith('#'))) continue;
      const statement = pending === undefined ? line : `${pending} ${line}`;
      // A handle comment ("# handle 7") ends the statement's last line and holds no brace.
      const state = braceScan(line, pendingState);
      if (state.depth > 0) {
        [pending, pendingState] = [statement, state];
        continue;
      }
      [pending, pendingState] = [undefined, undefined];
      addChainStatement(chain, table?.family ?? '', statement);
      continue;
    }
    const { text: bare } = stripHandle(line);
    if (!table) {
      const match = /^table (\S+) (\S+) \{$/.exec(bare);
      if (match) {
        table = { family: match[1], name: unquote(match[2]), chains: [], sets: [] };
        tables.push(table);
      }
      continue;
    }
    if (bare === '}') {
      table = undefined;
      continue;
    }
    let match: RegExpExecArray | null;
    if ((match = /^chain (\S+) \{$/.exec(bare))) {
      chain = { name: unquote(match[1]), rules: [], handles: [] };
      table.chains.push(chain);
    } else if ((match = /^(set|map) (\S+) \{$/.exec(bare))) {
      block = { kind: match[1] as 'set' | 'map', name: unquote(match[2]), statements: [] };
    } else if (bare.endsWith('{')) {
      block = { name: bare, statements: [] };
    }
  }
  return tables;
}

// ---------------------------------------------------------------------------------------

function parseNftJson(json: string): Json[] | undefined {
  const trimmed = json.trim();
  if (trimmed === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch (error) {
    throw new WgplayError(`cannot parse the output of nft -j list ruleset: ${(error as Error).message}`);
  }
  const list = (value as Json | null)?.nftables;
  if (!Array.isArray(list)) throw new WgplayError('the output of nft -j list ruleset has no "nftables" list');
  return list.filter((item): item is Json => typeof item === 'object' && item !== null);
}

function chainFact(text: TextChain | undefined, base: Omit<NftChainFact, 'rules'>): NftChainFact {
  const fact: NftChainFact = { ...base, rules: text?.rules ?? [] };
  if (text && text.handles.every((handle) => handle !== undefined)) fact.handles = text.handles as number[];
  return fact;
}

/**
 * Tables with their chains (type, hook, priority, policy), sets and maps (types, flags,
 * elements) from `nft -j list ruleset`, and each chain's rules from the text listing.
 * Either may be empty: without JSON everything comes from the text; without text,
 * chains have no rules.
 */
export function parseNftRuleset(json: string, text: string): NftTableFact[] {
  const textTables = parseNftText(text);
  const objects = parseNftJson(json);
  const textChain = (family: string, table: string, name: string) =>
    textTables.find((t) => t.family === family && t.name === table)?.chains.find((c) => c.name === name);

  if (!objects) {
    return textTables.map((table) => ({
      family: table.family,
      name: table.name,
      chains: table.chains.map((chain) => {
        const base: Omit<NftChainFact, 'rules'> = { name: chain.name };
        if (chain.type !== undefined) base.type = chain.type;
        if (chain.hook !== undefined) base.hook = chain.hook;
        if (chain.priority !== undefined) base.priority = chain.priority;
        if (chain.policy !== undefined) base.policy = chain.policy;
        return chainFact(chain, base);
      }),
      sets: table.sets,
    }));
  }

  const tables: NftTableFact[] = [];
  const tableOf = (family: unknown, name: unknown) => tables.find((t) => t.family === family && t.name === name);
  for (const object of objects) {
    if (object.table) {
      const table = object.table as Json;
      tables.push({ family: String(table.family), name: String(table.name), chains: [], sets: [] });
    } else if (object.chain) {
      const chain = object.chain as Json;
      const table = tableOf(chain.family, chain.table);
      if (!table) continue;
      const base: Omit<NftChainFact, 'rules'> = { name: String(chain.name) };
      if (typeof chain.type === 'string') base.type = chain.type;
      if (typeof chain.hook === 'string') base.hook = chain.hook;
      if (typeof chain.prio === 'number') base.priority = chain.prio;
      if (typeof chain.policy === 'string') base.policy = chain.policy;
      table.chains.push(chainFact(textChain(table.family, table.name, base.name), base));
    } else if (object.set || object.map) {
      const kind = object.set ? 'set' : 'map';
      const set = (object.set ?? object.map) as Json;
      const table = tableOf(set.family, set.table);
      if (!table) continue;
      const fact: NftSetFact = {
        kind,
        name: String(set.name),
        keyType: typeText(set.type),
        flags: flagList(set.flags),
        elements: jsonElements(set.elem, kind),
      };
      if (kind === 'map') fact.valueType = typeText(set.map);
      table.sets.push(fact);
    }
  }
  return tables;
}

/** An `nft-canonical` section (see nft_canonical in factScript.ts). */
export function parseNftCanonical(lines: string[], rc: number | undefined): NftCanonicalFact {
  const mode = lines[0] === 'mode check' ? 'check' : 'scratch';
  const body = lines.slice(1).join('\n');
  if (rc !== 0) return { mode, error: body.trim() || `nft exited with status ${rc ?? 'unknown'}` };
  if (mode === 'check') return { mode };
  const table = parseNftText(body)[0];
  return { mode, rules: Object.fromEntries((table?.chains ?? []).map((chain) => [chain.name, chain.rules])) };
}
