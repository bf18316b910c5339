export type {
  ConnectionSettings,
  HostKeyPolicy,
  Inventory,
  InventoryGroup,
  InventoryHost,
  ValuePosition,
} from './types.js';
export { loadInventory, loadInventories, parseInventory, inventoryFromObject, type LoadOptions } from './load.js';
export { expandHostRange, expandHostPattern } from './hostPattern.js';
export { selectHosts, splitPattern } from './patterns.js';
export { connectionOf, checkConnectionVar, ansibleBoolean, expandPath } from './connection.js';
