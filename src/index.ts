// wgplay as a library, for Node deploy tools that embed its tasks. This file IS the
// public API (docs/LIBRARY.md); everything else is internal and may change.

// A run: inventory + playbook, from files, text or objects; checked before any host is contacted.
export { createRun, plan, apply, savePlan, readPlan, jsonReport, type Run, type RunOptions, type RunResult, type PlanResult, type HostRunResult } from './api/run.js';
export { WgplayEvents, type WgplayEventMap, type TaskRef } from './api/events.js';
export { WgplayError, type Problem } from './errors.js';

// Typed task constructors, from the same schemas ajv validates playbooks with.
export {
  tasks,
  type PlaybookTaskObject,
  type GatewayTaskArgs,
  type FileArgs,
  type SysctlArgs,
  type WireguardInterfaceArgs,
  type IpRuleArgs,
  type IpRouteArgs,
  type NftTableArgs,
  type NftElementArgs,
} from './api/tasks.js';
export type { GatewayCustomer } from './modules/gateway/args.js';

// Inventories and playbooks.
export { loadInventory, loadInventories, parseInventory, inventoryFromObject } from './inventory/index.js';
export type { Inventory, InventoryHost, InventoryGroup, ConnectionSettings } from './inventory/index.js';
export { loadPlaybook, parsePlaybook, playbookFromObject } from './playbook/index.js';
export type { Playbook } from './playbook/index.js';

// Results and reports.
export type { HostResult, HostStatus, TaskResult, HostPhase } from './engine/run.js';
export type { HostRun } from './engine/runPlaybook.js';
export type { SavedPlan, SavedHostPlan } from './engine/savedPlan.js';
export type { Change, ChangeAction, Step } from './tasks/types.js';
export type { RunSummary, HostSummary, ChangeCounts } from './report/summary.js';
export { EXIT, summaryLine } from './report/summary.js';
export { renderTextReport } from './report/text.js';
export type { RunReport, ErrorReport, JsonHost, JsonTask, JsonChange } from './report/json.js';

// Your own tasks and modules, registered next to wgplay's.
export { registerTask, registerModule, knownTaskNames } from './catalog.js';
export { defineTask, defineModule, type TaskModule, type ExpandingModule, type TaskInvocation, type ArgumentProblem } from './tasks/types.js';
export type { HostFacts, FactRequest } from './facts/types.js';
