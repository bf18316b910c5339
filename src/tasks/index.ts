// The primitive tasks a playbook can name. Importing this module registers them.
import { fileTask } from './file.js';
import { ipRouteTask } from './ipRoute.js';
import { ipRuleTask } from './ipRule.js';
import { nftElementTask } from './nftElement.js';
import { nftTableTask } from './nftTable.js';
import { registerTask } from './registry.js';
import { sysctlTask } from './sysctl.js';
import { wireguardInterfaceTask } from './wireguardInterface.js';

export const primitiveTasks = [
  fileTask,
  sysctlTask,
  wireguardInterfaceTask,
  ipRuleTask,
  ipRouteTask,
  nftTableTask,
  nftElementTask,
];

for (const task of primitiveTasks) registerTask(task);
