import type { HostResult } from '../engine/run.js';

/** Exit codes for dry runs before maintenance windows. */
export const EXIT = { ok: 0, error: 1, pending: 2, unreachable: 4 } as const;

export interface HostSummary {
  host: string;
  status: HostResult['status'];
  tasks: number;
  changedTasks: number;
  changes: number;
}

export function summarize(result: HostResult): HostSummary {
  const changedTasks = result.tasks.filter((task) => task.changes.length > 0).length;
  const changes = result.tasks.reduce((sum, task) => sum + task.changes.length, 0);
  return { host: result.host, status: result.status, tasks: result.tasks.length, changedTasks, changes };
}

/** A failure outranks an unreachable host, which outranks pending changes. */
export function exitCodeFor(results: HostResult[], mode: 'plan' | 'apply'): number {
  if (results.some((result) => result.status === 'failed')) return EXIT.error;
  if (results.some((result) => result.status === 'unreachable')) return EXIT.unreachable;
  if (mode === 'plan' && results.some((result) => result.status === 'changed')) return EXIT.pending;
  return EXIT.ok;
}
