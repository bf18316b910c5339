// The catalog of primitive tasks a playbook can name: adding a task is its file plus
// one line here.
import type { Static } from '@sinclair/typebox';
import { fileTask } from './file.js';
import { ipRouteTask } from './ipRoute.js';
import { ipRuleTask } from './ipRule.js';
import { nftElementTask } from './nftElement.js';
import { nftTableTask } from './nftTable.js';
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
] as const;

type PrimitiveTask = (typeof primitiveTasks)[number];
export type PrimitiveTaskName = PrimitiveTask['name'];
/** The arguments a task of that name takes, as written (defaults may be left out). */
export type PrimitiveTaskArgs<Name extends PrimitiveTaskName> = Static<Extract<PrimitiveTask, { name: Name }>['schema']>;
