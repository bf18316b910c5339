import { stringify } from 'yaml';
import { WgplayError } from '../errors.js';
import { parseInventory } from './load.js';
import type { Inventory } from './types.js';

/**
 * An inventory from a value shaped like Ansible's YAML inventory ({ all: { hosts,
 * children, vars } }), checked like a file; messages name `name` (positions are in
 * the YAML the value writes as).
 */
export function inventoryFromObject(value: unknown, options: { name: string } = { name: 'inventory' }): Inventory {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new WgplayError([{ where: options.name, message: 'an inventory must be a mapping starting with "all:"' }]);
  }
  return parseInventory(stringify(value), options.name);
}
