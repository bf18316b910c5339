import { createHash } from 'node:crypto';
import { DEFAULT_CONFIRM_TIMEOUT_S } from '../engine/commitConfirmed.js';
import type { EngineEvents } from '../engine/run.js';
import { inParallel, loadRun, resolveRun, runOneHost, withHostConnection, type HostRun } from '../engine/runPlaybook.js';
import { applySavedHost, buildSavedPlan, readSavedPlan, savedPlanResults, writeSavedPlan, type SavedPlan } from '../engine/savedPlan.js';
import { renderJsonReport } from '../report/json.js';
import { exitCodeFor } from '../report/summary.js';
import { renderTextReport } from '../report/text.js';
import { connectionOf } from '../inventory/connection.js';
import { inventoryListJson } from '../inventory/listJson.js';
import { hashInput, INVENTORY_USAGE, parseCommandLine, parsePlaybookCommand, reportError, requirePositionals, UsageError, wantsJson } from './common.js';
import { describeConnection, listHosts } from './hostLines.js';

const APPLY_OPTIONS_HELP = `
      --lock-timeout S   wait up to S seconds for another apply on the same host to end
                         (default 0: fail at once with "host busy")
      --confirm-timeout S
                         a change that could cut SSH is rolled back by the host unless
                         wgplay confirms it through a new SSH connection within S seconds
                         (default ${DEFAULT_CONFIRM_TIMEOUT_S})`;

const usage = (command: 'plan' | 'apply') => `usage: wgplay ${command} PLAYBOOK -i INVENTORY [options]${command === 'apply' ? '\n       wgplay apply FILE [-f N] [--lock-timeout S] [--confirm-timeout S] [--diff] [--json]\n                                                 (a plan saved with plan --out)' : ''}

${
  command === 'plan'
    ? 'Shows what apply would change, as diffs; changes nothing.'
    : `Makes every host match the playbook, then verifies that nothing is left to change.
With a saved plan: applies exactly its changes, after checking that each host's facts
still match what the plan was made from; a host that changed since is refused (exit 1,
the drift shown, nothing changed).`
}

options:
${INVENTORY_USAGE}
  -l, --limit PATTERN    only these hosts (all, a group, a host, a:b, !x, &y)
      --list-hosts       print the hosts each play would run on; contact none
  -f, --forks N          hosts in parallel (default 5)${command === 'apply' ? `\n  -C, --check            dry run: plan only, exit 2 when changes are pending${APPLY_OPTIONS_HELP}` : '\n  -o, --out FILE         save the plan, for `wgplay apply FILE` (and `wgplay show FILE`)'}
  -D, --diff             show diffs (plan always does)
      --rebuild-record   modules read their records (the gateway's /var/lib/wgplay/gateway.json) back
                         from what is on the host instead of the file: after a record was lost or damaged
      --json             machine-readable report on stdout (docs/report.schema.json)
  -h, --help             this text

exit codes add up: 0 nothing ${command === 'plan' ? 'to change' : 'left to change'}, 1 an error or a host failed,
2 changes pending${command === 'plan' ? '' : ' (--check)'}, 4 a host unreachable (6: unreachable, others pending)
`;

const showUsage = `usage: wgplay show FILE [--json]

Prints a plan saved with \`wgplay plan ... --out FILE\` as plan printed it: every change
with its diff, and the summary. Contacts no host. Exit 2 when it has changes, 0 when not.
`;

/** A host to run, for the progress display. */
interface HostJob {
  name: string;
  run(events: EngineEvents, signal: AbortSignal): Promise<HostRun>;
}

/** The exit code after Ctrl-C (128 + SIGINT), as shells report it. */
const INTERRUPTED = 130;

/**
 * Ctrl-C during a run. Before any host's apply script started, nothing has changed:
 * wgplay says so and exits at once (a host lock dies with its connection). Once a
 * script runs, stopping it halfway would leave the host half-done, so the first Ctrl-C
 * lets the running scripts finish and be verified, starts no other host (the library's
 * AbortSignal) and says so; a second one quits at once, and the host's commit-confirmed
 * rollback undoes what it covers (docs/SAFETY.md).
 */
function interruptHandler(confirmTimeoutSeconds: number | undefined) {
  const controller = new AbortController();
  const applying = new Set<string>();
  const onSigint = () => {
    if (applying.size === 0) {
      process.stderr.write('\nwgplay: interrupted before any apply script started: nothing was changed on any host\n');
      process.exit(INTERRUPTED);
    }
    const hosts = [...applying].join(', ');
    if (!controller.signal.aborted) {
      controller.abort();
      process.stderr.write(
        `\nwgplay: interrupted while the apply script runs on ${hosts}: it finishes there and is verified (stopping it halfway would leave the host half-done); ` +
          'hosts that have not started are left unchanged. Ctrl-C again quits now.\n',
      );
      return;
    }
    const rollback = confirmTimeoutSeconds
      ? `nobody confirms the change, so each host rolls back what commit-confirmed covers after ${confirmTimeoutSeconds} s and keeps the rest (docs/SAFETY.md)`
      : 'the host keeps what the script applied';
    process.stderr.write(`\nwgplay: quit while the apply script ran on ${hosts}: the script still finishes on the host; ${rollback}; run apply again to see where it stands\n`);
    process.exit(INTERRUPTED);
  };
  process.on('SIGINT', onSigint);
  return {
    signal: controller.signal,
    /** Wraps a job's events: a host that reached the apply phase counts as changing. */
    events: (events: EngineEvents): EngineEvents => ({
      ...events,
      phase: (host, phase) => {
        if (phase === 'apply') applying.add(host);
        events.phase?.(host, phase);
      },
    }),
    interrupted: () => controller.signal.aborted,
    dispose: () => process.off('SIGINT', onSigint),
  };
}

const FORKS_OPTION = { forks: { type: 'string', short: 'f', default: '5' } } as const;
const APPLY_OPTIONS = {
  'lock-timeout': { type: 'string', default: '0' },
  'confirm-timeout': { type: 'string', default: String(DEFAULT_CONFIRM_TIMEOUT_S) },
} as const;

/** --lock-timeout and --confirm-timeout, checked. */
function applyOptionsOf(values: Record<string, string>): { lockTimeoutSeconds: number; confirmTimeoutSeconds: number } {
  const lockTimeoutSeconds = Number(values['lock-timeout']);
  if (!/^\d+$/.test(values['lock-timeout'] ?? '') || !Number.isSafeInteger(lockTimeoutSeconds)) {
    throw new UsageError(`--lock-timeout must be a whole number of seconds (0 or more), got "${values['lock-timeout']}"`);
  }
  const confirmTimeoutSeconds = Number(values['confirm-timeout']);
  if (!/^\d+$/.test(values['confirm-timeout'] ?? '') || !Number.isSafeInteger(confirmTimeoutSeconds) || confirmTimeoutSeconds < 1) {
    throw new UsageError(`--confirm-timeout must be a whole number of seconds (1 or more), got "${values['confirm-timeout']}"`);
  }
  return { lockTimeoutSeconds, confirmTimeoutSeconds };
}

function forksOf(value: string): number {
  const forks = Number(value);
  if (!Number.isInteger(forks) || forks < 1) throw new UsageError(`--forks must be a positive whole number, got "${value}"`);
  return forks;
}

/** `wgplay plan` and `wgplay apply`: the pipeline over every selected host. */
export async function runPlanOrApply(command: 'plan' | 'apply', argv: string[]): Promise<number> {
  try {
    if (command === 'apply' && isSavedPlanCommand(argv)) return await runApplySaved(argv);
    const parsed = parsePlaybookCommand(argv, ['PLAYBOOK'], usage(command), {
      ...FORKS_OPTION,
      check: { type: 'boolean', short: 'C', default: false },
      diff: { type: 'boolean', short: 'D', default: false },
      json: { type: 'boolean', default: false },
      'rebuild-record': { type: 'boolean', default: false },
      ...(command === 'plan' ? { out: { type: 'string', short: 'o' } } : APPLY_OPTIONS),
    });
    if (!parsed) return 0;
    const { values } = parsed;
    const playbook = parsed.args[0]!;
    const forks = forksOf(values.forks);
    const applyOptions: Partial<ReturnType<typeof applyOptionsOf>> = command === 'apply' ? applyOptionsOf(values) : {};
    const apply = command === 'apply' && !values.check;
    const mode = apply ? 'apply' : 'plan';
    const out = values.out as string | undefined;

    const loaded = await resolveRun(loadRun(playbook, parsed.inventory, parsed.limit, { extraVars: parsed.extraVars }));
    if (parsed.listHosts) {
      process.stdout.write(listHosts(loaded.plays));
      return 0;
    }
    if (parsed.verbosity > 0) {
      for (const { host } of loaded.hosts) process.stderr.write(`${describeConnection(connectionOf(host), parsed.verbosity)}\n`);
    }
    const jobs = loaded.hosts.map(({ host, tasks }): HostJob => ({
      name: host.name,
      run: (events, signal) =>
        runOneHost(host, tasks, { apply, events, signal, keepBasis: out !== undefined, rebuildRecord: values['rebuild-record'], ...applyOptions }),
    }));
    const results = await runJobs(jobs, forks, values.json, apply ? applyOptions.confirmTimeoutSeconds : undefined);
    if (out !== undefined) {
      // The inventory as read (every source, group_vars, host_vars, -e): what the plan was made from.
      const inventory = {
        name: parsed.inventory.join(','),
        sha256: createHash('sha256').update(JSON.stringify(inventoryListJson(loaded.inventory))).digest('hex'),
      };
      const inputs = { playbook: hashInput(playbook), inventory, ...(parsed.limit ? { limit: parsed.limit } : {}) };
      writeSavedPlan(out, buildSavedPlan(loaded, results, inputs));
    }
    const exitCode = results.interrupted ? INTERRUPTED : exitCodeFor(results, mode);
    process.stdout.write(
      values.json
        ? renderJsonReport(results, mode, exitCode, mode, out !== undefined ? { savedPlan: out } : {})
        : renderTextReport(results, { mode, diff: mode === 'plan' || values.diff }) + (out !== undefined ? `\nPlan saved to ${out}: apply it with \`wgplay apply ${out}\`.\n` : ''),
    );
    return exitCode;
  } catch (error) {
    return reportError(error, usage(command), wantsJson(argv) ? command : undefined);
  }
}

/** `apply FILE`: one positional and no inventory. */
function isSavedPlanCommand(argv: string[]): boolean {
  return !argv.some((arg) => arg === '-i' || arg.startsWith('--inventory') || arg.startsWith('-i')) && !argv.includes('-h') && !argv.includes('--help');
}

async function runApplySaved(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, {
    ...FORKS_OPTION,
    ...APPLY_OPTIONS,
    diff: { type: 'boolean', short: 'D', default: false },
    json: { type: 'boolean', default: false },
  });
  const [file] = requirePositionals(positionals, ['FILE']);
  const forks = forksOf(values.forks);
  const applyOptions = applyOptionsOf(values);
  const plan: SavedPlan = readSavedPlan(file!);
  const jobs = plan.hosts.map((saved): HostJob => ({
    name: saved.host,
    run: (events, signal) =>
      withHostConnection(saved.host, () => saved.connection, { events, signal, exclusive: true, ...applyOptions }, (transport, overSsh, hostApplyOptions) =>
        applySavedHost(saved, transport, { events, overSsh, signal, applyOptions: hostApplyOptions }),
      ),
  }));
  const results = await runJobs(jobs, forks, values.json, applyOptions.confirmTimeoutSeconds);
  const exitCode = results.interrupted ? INTERRUPTED : exitCodeFor(results, 'apply');
  process.stdout.write(
    values.json
      ? renderJsonReport(results, 'apply', exitCode, 'apply', { savedPlan: file })
      : renderTextReport(results, { mode: 'apply', diff: values.diff }),
  );
  return exitCode;
}

/** `wgplay show FILE`: a saved plan, printed as plan printed it. */
export async function runShow(argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parseCommandLine(argv, { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } });
    if (values.help) {
      process.stdout.write(showUsage);
      return 0;
    }
    const [file] = requirePositionals(positionals, ['FILE']);
    const plan = readSavedPlan(file!);
    const results = savedPlanResults(plan);
    const exitCode = exitCodeFor(results, 'plan');
    process.stdout.write(
      values.json ? renderJsonReport(results, 'plan', exitCode, 'show', { savedPlan: file }) : renderTextReport(results, { mode: 'plan', diff: true }),
    );
    return exitCode;
  } catch (error) {
    return reportError(error, showUsage, wantsJson(argv) ? 'show' : undefined);
  }
}

/** A terminal: listr2 progress, a line per host; otherwise plain lines on stderr (none with --json). */
async function runJobs(jobs: HostJob[], forks: number, json: boolean, confirmTimeoutSeconds?: number): Promise<HostRun[] & { interrupted?: boolean }> {
  const interrupt = interruptHandler(confirmTimeoutSeconds);
  const interruptible = jobs.map((job): HostJob => ({ name: job.name, run: (events) => job.run(interrupt.events(events), interrupt.signal) }));
  try {
    const results: HostRun[] & { interrupted?: boolean } =
      process.stdout.isTTY && !json
        ? await runWithProgress(interruptible, forks)
        : await inParallel(interruptible, forks, (job) => job.run({ phase: (host, phase) => !json && process.stderr.write(`[${host}] ${phase}\n`) }, interrupt.signal));
    results.interrupted = interrupt.interrupted();
    return results;
  } finally {
    interrupt.dispose();
  }
}

async function runWithProgress(jobs: HostJob[], forks: number): Promise<HostRun[]> {
  // Only a terminal shows progress: no one else pays for loading listr2.
  const { Listr } = await import('listr2');
  const results: HostRun[] = [];
  const list = new Listr(
    jobs.map((job, index) => ({
      title: job.name,
      task: async (_: unknown, progress: { title: string; output: string }) => {
        const result = await job.run({ phase: (_host, phase) => (progress.output = phase) }, new AbortController().signal);
        results[index] = result;
        const changes = result.tasks.reduce((sum, task) => sum + task.changes.length, 0);
        progress.title = `${job.name}: ${result.status}${changes ? ` (${changes} changes)` : ''}`;
        if (result.status === 'failed' || result.status === 'unreachable' || result.status === 'cancelled') throw new Error(`${job.name}: ${result.status}`);
      },
    })),
    // Ctrl-C is wgplay's (runJobs), not listr2's.
    { concurrent: forks, exitOnError: false, registerSignalListeners: false, rendererOptions: { collapseErrors: true } },
  );
  await list.run().catch(() => undefined);
  return results;
}
