import type { HostResult, HostStatus } from '../results.js';

/**
 * Exit codes for dry runs before maintenance windows. They add up: a plan where one
 * host is unreachable while others have changes pending exits 2 + 4 = 6; a failed host
 * next to pending changes exits 1 + 2 = 3. Input errors (nothing contacted) exit 1.
 */
export const EXIT = { ok: 0, error: 1, pending: 2, unreachable: 4 } as const;

/** What a run does to a host, counted per change (one resource each). */
export interface ChangeCounts {
  create: number;
  change: number;
  delete: number;
}

export interface HostSummary extends ChangeCounts {
  host: string;
  status: HostStatus;
  tasks: number;
  changedTasks: number;
  changes: number;
}

export interface RunSummary extends ChangeCounts {
  hosts: number;
  /** Hosts per status, every status present (0 when none). */
  statuses: Record<HostStatus, number>;
}

export function countChanges(result: Pick<HostResult, 'tasks'>): ChangeCounts {
  const counts: ChangeCounts = { create: 0, change: 0, delete: 0 };
  for (const task of result.tasks) {
    for (const change of task.changes) counts[change.action === 'update' ? 'change' : change.action] += 1;
  }
  return counts;
}

export function summarize(result: HostResult): HostSummary {
  const changedTasks = result.tasks.filter((task) => task.changes.length > 0).length;
  const changes = result.tasks.reduce((sum, task) => sum + task.changes.length, 0);
  return { host: result.host, status: result.status, tasks: result.tasks.length, changedTasks, changes, ...countChanges(result) };
}

const STATUSES: HostStatus[] = ['ok', 'changed', 'failed', 'unreachable', 'cancelled'];

export function summarizeRun(results: HostResult[]): RunSummary {
  const summary: RunSummary = { hosts: results.length, create: 0, change: 0, delete: 0, statuses: Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<HostStatus, number> };
  for (const result of results) {
    const counts = countChanges(result);
    summary.create += counts.create;
    summary.change += counts.change;
    summary.delete += counts.delete;
    summary.statuses[result.status] += 1;
  }
  return summary;
}

/**
 * "3 to create, 1 to change, 0 to delete" (a plan, or changes not applied), or
 * "3 created, 1 changed, 0 deleted" once applied.
 */
export function summaryLine(counts: ChangeCounts, applied: boolean): string {
  return applied
    ? `${counts.create} created, ${counts.change} changed, ${counts.delete} deleted`
    : `${counts.create} to create, ${counts.change} to change, ${counts.delete} to delete`;
}

/** The exit code: the sum of 1 (a host failed or was cancelled), 2 (changes pending: plan only), 4 (a host unreachable). */
export function exitCodeFor(results: HostResult[], mode: 'plan' | 'apply'): number {
  let code: number = EXIT.ok;
  if (results.some((result) => result.status === 'failed' || result.status === 'cancelled')) code |= EXIT.error;
  if (mode === 'plan' && results.some((result) => result.status === 'changed')) code |= EXIT.pending;
  if (results.some((result) => result.status === 'unreachable')) code |= EXIT.unreachable;
  return code;
}
