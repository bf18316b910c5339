import type { InventoryHost, ValuePosition } from './types.js';

/** Where a part of a variable is written: its value and, for a mapping field, its key. */
export interface VarLocation {
  /** "inventory.yaml:31:19". */
  where: string;
  /** Where the field's key is written, when the path ends at a mapping field. */
  keyWhere?: string;
}

/**
 * Where the part `path` (list indexes and field names: [1, "name"]) of the host's
 * variable `name` is written, following the definition that won the merge; undefined
 * when the host has no such variable, no positions (built by hand) or no such part.
 */
export function locateVar(
  host: Pick<InventoryHost, 'varOrigins'>,
  name: string,
  path: readonly (string | number)[] = [],
): VarLocation | undefined {
  let position: ValuePosition | undefined = host.varOrigins?.get(name);
  let keyWhere: string | undefined;
  for (const segment of path) {
    if (!position) return undefined;
    if (position.items) {
      position = typeof segment === 'number' || /^\d+$/.test(segment) ? position.items[Number(segment)] : undefined;
      keyWhere = undefined;
    } else {
      const field = position.fields?.get(String(segment));
      position = field?.value;
      keyWhere = field?.keyWhere;
    }
  }
  if (!position) return undefined;
  return keyWhere === undefined ? { where: position.where } : { where: position.where, keyWhere };
}
