// wgplay as a library, for Node deploy tools that embed its tasks.

export { WgplayError, type Problem } from './errors.js';
export { loadRun, runHosts, runOneHost, type LoadedRun, type HostRun, type HostRunOptions } from './engine/runPlaybook.js';
export { runHost, gatherFacts, planTasks, type HostResult, type TaskResult, type ScriptRunner } from './engine/run.js';
export { compileApplyScript } from './engine/compile.js';
export { loadInventory, selectHosts, connectionOf } from './inventory/index.js';
export { loadPlaybook, resolvePlaybook } from './playbook/index.js';
export { openTransport, TransportError, type Transport } from './transport/index.js';
export { buildFactScript, parseFacts } from './facts/index.js';
export type { HostFacts, FactRequest } from './facts/types.js';
export { registerTask, registerModule, findTask, findModule, knownTaskNames } from './catalog.js';
export type { TaskModule, ExpandingModule, Change, Step, TaskInvocation } from './tasks/types.js';
export { renderCustomerConfig } from './modules/gateway/customerConfig.js';
export type { GatewayArgs, GatewayCustomer } from './modules/gateway/args.js';
export { renderTextReport } from './report/text.js';
export { renderJsonReport } from './report/json.js';
export { exitCodeFor, EXIT } from './report/summary.js';
