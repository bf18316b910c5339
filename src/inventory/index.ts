export type {
  ConnectionSettings,
  Inventory,
  InventoryGroup,
  InventoryHost,
  ValuePosition,
} from './types.js';
export { loadInventory, loadInventories, parseInventory, inventoryFromObject } from './load.js';
export { expandHostRange, expandHostPattern } from './hostPattern.js';
export { selectHosts, splitPattern } from './patterns.js';
export { connectionOf } from './connection.js';
