export type {
  ConnectionSettings,
  HostKeyPolicy,
  Inventory,
  InventoryGroup,
  InventoryHost,
  ValuePosition,
} from './types.js';
export { loadInventory, parseInventory, expandHostRange } from './load.js';
export { selectHosts, splitPattern } from './patterns.js';
export { connectionOf, checkConnectionVar, ansibleBoolean, expandPath } from './connection.js';
export { inventoryFromObject } from './fromObject.js';
