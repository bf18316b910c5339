import { WgplayError } from '../errors.js';
import type { Inventory, InventoryHost } from './types.js';

// Ansible's host patterns:
//   all, *                  every host
//   gateways, gw1           a group (its hosts and its children's) or a host
//   web*, ~gw[0-9]+         a glob or (after ~) a regular expression over groups and hosts
//   a:b, a,b                union          a:&b   intersection        a:!b   exclusion
//   gateways[0], gateways[1:3]  a subscript of a group's hosts (end inclusive)
// As in Ansible, plain terms are applied first (in order), then the &terms, then the
// !terms; a pattern of only &/! terms starts from all. Unlike Ansible, which warns and
// goes on, a term that matches nothing is an error naming it.

/** Splits "a:b:!c" or "a,b,!c" into terms (colons inside [...] and IPv6 addresses stay). */
export function splitPattern(pattern: string): string[] {
  const text = pattern.trim();
  let terms: string[];
  if (text.includes(',')) {
    terms = text.split(',');
  } else if (/^[!&]?[0-9a-fA-F]*:[0-9a-fA-F:.]*:[0-9a-fA-F:.]*$/.test(text) && text.split(':').length > 2) {
    terms = [text]; // an IPv6 address
  } else {
    terms = text.match(/(?:[^\s:[\]]|\[[^\]]*\])+/g) ?? [];
  }
  return terms.map((t) => t.trim()).filter((t) => t !== '');
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (const ch of glob) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function isGlob(term: string): boolean {
  return term.startsWith('~') || /[*?.[]/.test(term);
}

/** All hosts of a group, its own first, then its children's (depth first), once each. */
function hostsOfGroup(inventory: Inventory, group: string): string[] {
  const out: string[] = [];
  const seenHosts = new Set<string>();
  const seenGroups = new Set<string>();
  const visit = (name: string): void => {
    if (seenGroups.has(name)) return;
    seenGroups.add(name);
    const g = inventory.groups.get(name);
    if (!g) return;
    for (const h of g.hosts) {
      if (!seenHosts.has(h)) {
        seenHosts.add(h);
        out.push(h);
      }
    }
    for (const child of g.children) visit(child);
  };
  visit(group);
  return out;
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(
        d[i - 1]![j]! + 1,
        d[i]![j - 1]! + 1,
        d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
  }
  return d[a.length]![b.length]!;
}

function suggestion(inventory: Inventory, name: string): string {
  const candidates = [...inventory.groups.keys(), ...inventory.hosts.keys()]
    .map((c) => ({ c, d: distance(c.toLowerCase(), name.toLowerCase()) }))
    .filter(({ d }) => d <= Math.max(1, Math.floor(name.length / 4)))
    .sort((x, y) => x.d - y.d);
  return candidates.length > 0 ? ` (did you mean "${candidates[0]!.c}"?)` : '';
}

/** Host names one term (without its !/& prefix) matches; undefined when none. */
function matchTerm(inventory: Inventory, term: string): string[] | undefined {
  if (term === 'all' || term === '*') return [...inventory.hosts.keys()];

  let base = term;
  let slice: [number, number | undefined] | undefined;
  if (!term.startsWith('~')) {
    const m = /^(.+)\[(?:(-?[0-9]+)|([0-9]*):([0-9]*))\]$/.exec(term);
    if (m) {
      base = m[1]!;
      slice =
        m[2] !== undefined
          ? [Number(m[2]), Number(m[2])]
          : [m[3] ? Number(m[3]) : 0, m[4] ? Number(m[4]) : undefined];
    }
  }

  let results: string[] = [];
  if (inventory.hosts.has(base) && !slice) {
    results = [base];
  } else {
    let test: (name: string) => boolean;
    if (base.startsWith('~')) {
      let re: RegExp;
      try {
        re = new RegExp(base.slice(1));
      } catch (e) {
        throw new WgplayError(`host pattern "${term}": bad regular expression: ${(e as Error).message}`);
      }
      test = (name) => re.test(name);
    } else if (isGlob(base)) {
      const re = globToRegExp(base);
      test = (name) => re.test(name);
    } else {
      test = (name) => name === base;
    }
    const seen = new Set<string>();
    const add = (h: string): void => {
      if (!seen.has(h)) {
        seen.add(h);
        results.push(h);
      }
    };
    const groups = [...inventory.groups.keys()].filter(test);
    for (const g of groups) hostsOfGroup(inventory, g).forEach(add);
    if (groups.length === 0 || isGlob(base)) {
      for (const h of inventory.hosts.keys()) if (test(h)) add(h);
    }
  }

  if (slice) {
    const n = results.length;
    const at = (i: number): number => (i < 0 ? n + i : i);
    const [from, to] = slice;
    results = results.slice(at(from), to === undefined ? undefined : at(to) + 1);
  }
  return results.length > 0 ? results : undefined;
}

/**
 * The hosts a pattern selects, in the order the pattern names them (inventory order
 * within a group). Throws WgplayError naming every term that matches nothing.
 */
export function selectHosts(inventory: Inventory, pattern: string | string[]): InventoryHost[] {
  const terms = (Array.isArray(pattern) ? pattern : [pattern]).flatMap(splitPattern);
  if (terms.length === 0) throw new WgplayError('empty host pattern: give "all", a group or a host');

  const regular = terms.filter((t) => !t.startsWith('!') && !t.startsWith('&'));
  const intersections = terms.filter((t) => t.startsWith('&'));
  const exclusions = terms.filter((t) => t.startsWith('!'));
  const ordered = [...(regular.length > 0 ? regular : ['all']), ...intersections, ...exclusions];

  const unknown: string[] = [];
  let selected: string[] = [];
  for (const term of ordered) {
    const prefix = term[0] === '!' || term[0] === '&' ? term[0] : '';
    const name = term.slice(prefix.length).trim();
    if (name === '') {
      unknown.push(`host pattern "${term}": "${prefix}" must be followed by a group or host`);
      continue;
    }
    const matched = matchTerm(inventory, name);
    if (!matched) {
      unknown.push(
        isGlob(name)
          ? `no host or group in ${inventory.path} matches "${name}"`
          : `no host or group named "${name}" in ${inventory.path}${suggestion(inventory, name)}`,
      );
      continue;
    }
    const set = new Set(matched);
    if (prefix === '!') selected = selected.filter((h) => !set.has(h));
    else if (prefix === '&') selected = selected.filter((h) => set.has(h));
    else {
      const have = new Set(selected);
      selected.push(...matched.filter((h) => !have.has(h)));
    }
  }
  if (unknown.length > 0) {
    throw new WgplayError(unknown.map((message) => ({ where: '', message })));
  }
  return selected.map((h) => inventory.hosts.get(h)!);
}
