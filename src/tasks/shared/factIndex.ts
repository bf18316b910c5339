// Lookups every task of a kind makes in the host's facts, built once per facts list.
// With a thousand customers a thousand ip_route tasks each scanned every route of the
// host (parsing its destination), a thousand wireguard_interface tasks every link and
// route: the plan grew with N². Parsed facts are never changed, so an index is built
// the first time a task asks and kept as long as that list lives (a WeakMap on it).

import type { LinkFact } from '../../facts/types.js';

const indexes = new WeakMap<object, Map<string, Map<string, unknown[]>>>();

/**
 * The items of `list` grouped by `keyOf` (an item whose key is undefined is left out).
 * `name` names the key function: one list can be indexed several ways.
 */
export function groupedBy<T>(list: readonly T[], name: string, keyOf: (item: T) => string | undefined): ReadonlyMap<string, readonly T[]> {
  let byName = indexes.get(list);
  if (!byName) indexes.set(list, (byName = new Map()));
  let index = byName.get(name) as Map<string, T[]> | undefined;
  if (!index) {
    index = new Map();
    for (const item of list) {
      const key = keyOf(item);
      if (key === undefined) continue;
      const group = index.get(key);
      if (group) group.push(item);
      else index.set(key, [item]);
    }
    byName.set(name, index as Map<string, unknown[]>);
  }
  return index;
}

/** The first item of `list` with that key, as `list.find` would return it. */
export function firstBy<T>(list: readonly T[], name: string, keyOf: (item: T) => string | undefined, key: string): T | undefined {
  return groupedBy(list, name, keyOf).get(key)?.[0];
}

/** The host's link of that name (links have unique names). */
export const linkNamed = (facts: { links: readonly LinkFact[] }, name: string): LinkFact | undefined =>
  firstBy(facts.links, 'name', (link) => link.name, name);
