import type { HostResult } from '../results.js';
import { redact } from './redact.js';
import { countChanges, summarizeRun, summaryLine } from './summary.js';

const indent = (text: string, prefix: string) =>
  text
    .split('\n')
    .map((line) => prefix + line)
    .join('\n');

/** The human report: per host, each task with changes and its diff; then a recap. */
export function renderTextReport(results: HostResult[], options: { mode: 'plan' | 'apply'; diff: boolean }): string {
  const out: string[] = [];
  for (const result of results) {
    out.push(`HOST ${result.host} [${result.status}]`);
    for (const task of result.tasks) {
      if (task.changes.length === 0 && !task.error) continue;
      const verb = task.error
        ? 'failed'
        : task.changes.length === 0
          ? 'ok'
          : options.mode === 'plan' || !result.applied
            ? 'would change'
            : result.outcome === 'cut'
              ? 'may have changed'
              : result.outcome === 'rolled-back'
                ? 'changed, then rolled back'
                : 'changed';
      out.push(`  ${verb}: ${task.name}${task.origin ? `  (${task.origin})` : ''}`);
      if (task.error) out.push(indent(task.error, '      '));
      for (const change of task.changes) {
        out.push(`    ${change.action} ${change.resource}`);
        if (options.diff && change.diff) out.push(indent(change.diff, '      '));
      }
    }
    for (const note of result.notes ?? []) out.push(indent(`note: ${note}`, '  '));
    if (result.error) out.push(indent(`error: ${result.error}`, '  '));
  }
  out.push('', 'RECAP');
  const applied = (result: HostResult) => options.mode === 'apply' && result.applied;
  for (const result of results) {
    const outcome = result.outcome === 'cut' ? ' (connection lost: some may not be applied)' : result.outcome === 'rolled-back' ? ' (then rolled back)' : '';
    out.push(`  ${result.host.padEnd(20)} ${result.status.padEnd(12)} ${summaryLine(countChanges(result), applied(result))}${outcome}`);
  }
  const total = summarizeRun(results);
  const anyApplied = results.some(applied);
  out.push(`  ${'TOTAL'.padEnd(20)} ${`${total.hosts} host${total.hosts === 1 ? '' : 's'}`.padEnd(12)} ${summaryLine(total, anyApplied)}`);
  return redact(out.join('\n')) + '\n';
}
