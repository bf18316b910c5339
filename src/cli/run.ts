import { Listr } from 'listr2';
import { runHosts, runOneHost, loadRun, type HostRun, type LoadedRun } from '../engine/runPlaybook.js';
import { renderJsonReport } from '../report/json.js';
import { exitCodeFor } from '../report/summary.js';
import { renderTextReport } from '../report/text.js';
import { parsePlaybookCommand, reportError, UsageError, wantsJson } from './common.js';

const usage = (command: 'plan' | 'apply') => `usage: wgplay ${command} PLAYBOOK -i INVENTORY [options]

${command === 'plan' ? 'Shows what apply would change, as diffs; changes nothing.' : 'Makes every host match the playbook, then verifies that nothing is left to change.'}

options:
  -i, --inventory FILE   Ansible-style YAML inventory (required)
  -l, --limit PATTERN    only these hosts (all, a group, a host, a:b, !x, &y)
  -f, --forks N          hosts in parallel (default 5)${command === 'apply' ? '\n  -C, --check            dry run: plan only, exit 2 when changes are pending' : ''}
  -D, --diff             show diffs (plan always does)
      --json             machine-readable report on stdout
  -h, --help             this text

exit codes add up: 0 nothing ${command === 'plan' ? 'to change' : 'left to change'}, 1 an error or a host failed,
2 changes pending${command === 'plan' ? '' : ' (--check)'}, 4 a host unreachable (6: unreachable, others pending)
`;

/** `wgplay plan` and `wgplay apply`: the pipeline over every selected host. */
export async function runPlanOrApply(command: 'plan' | 'apply', argv: string[]): Promise<number> {
  try {
    const parsed = parsePlaybookCommand(argv, ['PLAYBOOK'], usage(command), {
      forks: { type: 'string', short: 'f', default: '5' },
      check: { type: 'boolean', short: 'C', default: false },
      diff: { type: 'boolean', short: 'D', default: false },
      json: { type: 'boolean', default: false },
    });
    if (!parsed) return 0;
    const { values } = parsed;
    const playbook = parsed.args[0]!;
    const forks = Number(values.forks);
    if (!Number.isInteger(forks) || forks < 1) throw new UsageError(`--forks must be a positive whole number, got "${values.forks}"`);
    const apply = command === 'apply' && !values.check;
    const mode = apply ? 'apply' : 'plan';

    const loaded = loadRun(playbook, parsed.inventory, parsed.limit);
    const results = process.stdout.isTTY && !values.json ? await runWithProgress(loaded, apply, forks) : await runPlain(loaded, apply, forks, values.json);
    const exitCode = exitCodeFor(results, mode);
    process.stdout.write(
      values.json ? renderJsonReport(results, mode, exitCode) : renderTextReport(results, { mode, diff: mode === 'plan' || values.diff }),
    );
    return exitCode;
  } catch (error) {
    return reportError(error, usage(command), wantsJson(argv) ? command : undefined);
  }
}

/** Not a terminal (CI, pipes): one plain line per host and phase, on stderr. */
function runPlain(loaded: LoadedRun, apply: boolean, forks: number, quiet: boolean): Promise<HostRun[]> {
  return runHosts(loaded, {
    apply,
    forks,
    events: { phase: (host, phase) => !quiet && process.stderr.write(`[${host}] ${phase}\n`) },
  });
}

/** A terminal: listr2 progress, a line per host showing its phase. */
async function runWithProgress(loaded: LoadedRun, apply: boolean, forks: number): Promise<HostRun[]> {
  const results: HostRun[] = [];
  const list = new Listr(
    loaded.hosts.map(({ host, tasks }, index) => ({
      title: host.name,
      task: async (_: unknown, progress: { title: string; output: string }) => {
        const result = await runOneHost(host, tasks, {
          apply,
          events: { phase: (_host, phase) => (progress.output = phase) },
        });
        results[index] = result;
        const changes = result.tasks.reduce((sum, task) => sum + task.changes.length, 0);
        progress.title = `${host.name}: ${result.status}${changes ? ` (${changes} changes)` : ''}`;
        if (result.status === 'failed' || result.status === 'unreachable' || result.status === 'cancelled') throw new Error(`${host.name}: ${result.status}`);
      },
    })),
    { concurrent: forks, exitOnError: false, rendererOptions: { collapseErrors: true } },
  );
  await list.run().catch(() => undefined);
  return results;
}
