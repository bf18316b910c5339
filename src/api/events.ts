// What a deploy tool hears while wgplay runs: an EventEmitter with typed events.
import { EventEmitter } from 'node:events';
import type { EngineEvents, HostPhase, TaskResult } from '../engine/run.js';
import type { HostRun } from '../engine/runPlaybook.js';
import { redactDeep } from '../report/redact.js';
import type { JsonChange } from '../report/json.js';

export interface TaskRef {
  host: string;
  name: string;
  module: string;
  /** Where the task was written ("play.yaml:12:5", "deploy:/0/tasks/1"); primitive tasks of a module have their module's. */
  origin?: string;
}

export interface WgplayEventMap {
  /** A host enters a phase: connect, facts, plan, apply, verify. */
  'host:phase': [{ host: string; phase: HostPhase }];
  /** A task is about to be planned. */
  'task:start': [TaskRef];
  /** A task was planned: what it would change (empty: the host already matches). */
  'task:changes': [TaskRef & { changes: JsonChange[]; error?: string }];
  /** The task's outcome, once its host's is known (after plan; or after apply and verify). */
  'task:done': [TaskRef & { outcome: 'ok' | 'changed' | 'failed'; error?: string }];
  /** A host is finished, whatever happened to it. */
  'host:done': [{ host: string; result: HostRun }];
}

/** Listen with `events.on('task:done', (task) => ...)` and pass it as `options.events`. */
export class WgplayEvents extends EventEmitter<WgplayEventMap> {}

const ref = (host: string, task: { name: string; module: string; origin?: string }): TaskRef => ({ host, name: task.name, module: task.module, origin: task.origin });

const changesOf = (task: TaskResult): JsonChange[] => task.changes.map(({ resource, action, diff }) => ({ resource, action, diff }));

/** The engine's hooks, emitting on `events` (diffs and errors redacted as in reports). */
export function engineEventsFor(events: WgplayEvents | undefined): EngineEvents | undefined {
  if (!events) return undefined;
  return {
    phase: (host, phase) => events.emit('host:phase', { host, phase }),
    taskStart: (host, task) => events.emit('task:start', ref(host, task)),
    taskChanges: (host, task) => events.emit('task:changes', redactDeep({ ...ref(host, task), changes: changesOf(task), error: task.error })),
    taskDone: (host, task, outcome) => events.emit('task:done', redactDeep({ ...ref(host, task), outcome, error: task.error })),
  };
}
