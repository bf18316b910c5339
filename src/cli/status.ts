import { loadRun } from '../engine/runPlaybook.js';
import { collectStatus, DEFAULT_STALE_AFTER_SECONDS, statusExitCode } from '../status/collect.js';
import { renderStatusJson, renderStatusPrometheus, renderStatusText } from '../status/render.js';
import { parsePlaybookCommand, reportError, UsageError } from './common.js';

const usage = `usage: wgplay status PLAYBOOK -i INVENTORY [options]

Shows every customer's tunnel on every gateway: interface up or missing, listen port,
latest handshake, bytes received and sent, the peer's endpoint, and tunnels the
playbook asks for but the host lacks (or the reverse). One round trip per host; reads
only, takes no lock.

options:
  -i, --inventory FILE      Ansible-style YAML inventory (required)
  -l, --limit PATTERN       only these hosts
  -f, --forks N             hosts in parallel (default 5)
      --stale-after SECONDS a tunnel without a handshake for longer is stale (default ${DEFAULT_STALE_AFTER_SECONDS})
      --json                machine-readable ("format": 1)
      --format FORMAT       text (default), json, or prometheus (node_exporter textfile collector)
  -h, --help                this text

exit codes: 0 every tunnel up with a recent handshake, 2 a tunnel down, stale or missing,
1 an error, 4 a host unreachable
`;

export async function runStatus(argv: string[]): Promise<number> {
  try {
    const parsed = parsePlaybookCommand(argv, ['PLAYBOOK'], usage, {
      forks: { type: 'string', short: 'f', default: '5' },
      'stale-after': { type: 'string', default: String(DEFAULT_STALE_AFTER_SECONDS) },
      json: { type: 'boolean', default: false },
      format: { type: 'string' },
    });
    if (!parsed) return 0;
    const { values } = parsed;
    const forks = Number(values.forks);
    if (!Number.isInteger(forks) || forks < 1) throw new UsageError(`--forks must be a positive whole number, got "${values.forks}"`);
    const staleAfter = Number(values['stale-after']);
    if (!/^\d+$/.test(values['stale-after']) || staleAfter < 1) throw new UsageError(`--stale-after must be a whole number of seconds, got "${values['stale-after']}"`);
    const format = values.format ?? (values.json ? 'json' : 'text');
    if (!['text', 'json', 'prometheus'].includes(format)) throw new UsageError(`--format must be text, json or prometheus, got "${format}"`);
    if (values.json && format !== 'json') throw new UsageError('--json and --format prometheus exclude each other');

    const loaded = loadRun(parsed.args[0]!, parsed.inventory, parsed.limit);
    const gateways = await collectStatus(loaded, { staleAfterSeconds: staleAfter, forks });
    const exitCode = statusExitCode(gateways);
    if (format === 'json') process.stdout.write(renderStatusJson(gateways, staleAfter, exitCode));
    else if (format === 'prometheus') process.stdout.write(renderStatusPrometheus(gateways, staleAfter));
    else process.stdout.write(renderStatusText(gateways, staleAfter));
    return exitCode;
  } catch (error) {
    return reportError(error, usage);
  }
}
