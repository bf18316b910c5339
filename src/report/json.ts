import type { HostResult } from '../engine/run.js';
import { redactDeep } from './redact.js';
import { summarize } from './summary.js';

/** The machine-readable report: every host, task, change and diff; secrets redacted. */
export function renderJsonReport(results: (HostResult & { roundTrips?: number; durationMs?: number })[], mode: 'plan' | 'apply', exitCode: number): string {
  const report = {
    mode,
    exitCode,
    hosts: results.map((result) => ({
      host: result.host,
      status: result.status,
      applied: result.applied,
      error: result.error,
      roundTrips: result.roundTrips,
      durationMs: result.durationMs,
      summary: summarize(result),
      tasks: result.tasks.map((task) => ({
        name: task.name,
        module: task.module,
        origin: task.origin,
        error: task.error,
        changes: task.changes.map((change) => ({ resource: change.resource, action: change.action, diff: change.diff })),
      })),
    })),
  };
  return `${JSON.stringify(redactDeep(report), null, 2)}\n`;
}
