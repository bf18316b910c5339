// The machine-readable report (`--json`), format 1: its JSON Schema is
// docs/report.schema.json, and every field below is in it. A field may be added in
// format 1; removing or changing one makes format 2.
import type { HostResult } from '../results.js';
import type { Problem } from '../errors.js';
import { redactDeep } from './redact.js';
import { summarize, summarizeRun, type HostSummary, type RunSummary } from './summary.js';

export const REPORT_FORMAT = 1;

export type ReportCommand = 'plan' | 'apply' | 'show' | 'validate' | 'status';

export interface JsonChange {
  resource: string;
  action: 'create' | 'update' | 'delete';
  diff: string;
}

export interface JsonTask {
  name: string;
  module: string;
  origin?: string;
  error?: string;
  changes: JsonChange[];
}

export interface JsonHost {
  host: string;
  status: HostResult['status'];
  applied: boolean;
  error?: string;
  drift?: HostResult['drift'];
  cancelled?: HostResult['cancelled'];
  outcome?: HostResult['outcome'];
  notes?: string[];
  roundTrips?: number;
  /** An apply that ran to its end: seconds per phase of its script on the host, then verify. */
  phaseSeconds?: Record<string, number>;
  durationMs?: number;
  summary: HostSummary;
  tasks: JsonTask[];
}

export interface RunReport {
  format: typeof REPORT_FORMAT;
  command: 'plan' | 'apply' | 'show';
  /** What was done: `plan` (nothing changed; also apply --check and show) or `apply`. */
  mode: 'plan' | 'apply';
  exitCode: number;
  /** The file the plan was saved to (plan --out) or read from (apply FILE, show FILE). */
  savedPlan?: string;
  summary: RunSummary;
  hosts: JsonHost[];
}

export interface ErrorReport {
  format: typeof REPORT_FORMAT;
  command: ReportCommand;
  exitCode: number;
  /** Every problem found in the input, each with its place; no host was contacted. */
  errors: Problem[];
}

type HostRunResult = HostResult & { roundTrips?: number; durationMs?: number };

function jsonHost(result: HostRunResult): JsonHost {
  return {
    host: result.host,
    status: result.status,
    applied: result.applied,
    error: result.error,
    drift: result.drift,
    cancelled: result.cancelled,
    outcome: result.outcome,
    notes: result.notes,
    roundTrips: result.roundTrips,
    durationMs: result.durationMs,
    phaseSeconds: result.phaseSeconds,
    summary: summarize(result),
    tasks: result.tasks.map((task) => ({
      name: task.name,
      module: task.module,
      origin: task.origin,
      error: task.error,
      changes: task.changes.map((change) => ({ resource: change.resource, action: change.action, diff: change.diff })),
    })),
  };
}

/** The report as an object: every host, task, change and diff; secrets redacted. */
export function buildRunReport(
  results: HostRunResult[],
  mode: 'plan' | 'apply',
  exitCode: number,
  command: RunReport['command'] = mode,
  extra: { savedPlan?: string } = {},
): RunReport {
  return redactDeep({ format: REPORT_FORMAT, command, mode, exitCode, ...extra, summary: summarizeRun(results), hosts: results.map(jsonHost) });
}

/** The report as JSON text (undefined fields left out). */
export function renderJsonReport(
  results: HostRunResult[],
  mode: 'plan' | 'apply',
  exitCode: number,
  command: RunReport['command'] = mode,
  extra: { savedPlan?: string } = {},
): string {
  return `${JSON.stringify(buildRunReport(results, mode, exitCode, command, extra), null, 2)}\n`;
}

export function renderJsonErrors(command: ReportCommand, problems: Problem[], exitCode: number): string {
  const report: ErrorReport = { format: REPORT_FORMAT, command, exitCode, errors: problems };
  return `${JSON.stringify(redactDeep(report), null, 2)}\n`;
}
