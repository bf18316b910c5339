import { loadRun, resolveRun } from '../engine/runPlaybook.js';
import { REPORT_FORMAT } from '../report/json.js';
import { connectionOf } from '../inventory/connection.js';
import { INVENTORY_USAGE, parsePlaybookCommand, reportError, wantsJson } from './common.js';
import { describeConnection, listHosts } from './hostLines.js';

const usage = `usage: wgplay validate PLAYBOOK -i INVENTORY [options]

Checks the inventory, the playbook and every task's arguments on every host, without
contacting any host. Exit 0 when valid, 1 with every problem listed (file:line:col).

options:
${INVENTORY_USAGE}
  -l, --limit PATTERN    only these hosts
      --list-hosts       print the hosts each play would run on
      --json             machine-readable result on stdout
  -h, --help             this text
`;

export async function runValidate(argv: string[]): Promise<number> {
  try {
    const command = parsePlaybookCommand(argv, ['PLAYBOOK'], usage, { json: { type: 'boolean', default: false } });
    if (!command) return 0;
    const loaded = await resolveRun(loadRun(command.args[0]!, command.inventory, command.limit, { extraVars: command.extraVars }));
    if (command.listHosts) {
      process.stdout.write(listHosts(loaded.plays));
      return 0;
    }
    if (command.verbosity > 0) {
      for (const { host } of loaded.hosts) process.stderr.write(`${describeConnection(connectionOf(host), command.verbosity)}\n`);
    }
    const tasks = loaded.hosts.reduce((sum, host) => sum + host.tasks.invocations.length, 0);
    if (command.values.json) {
      const hosts = loaded.hosts.map(({ host, tasks }) => ({ host: host.name, tasks: tasks.invocations.length }));
      process.stdout.write(`${JSON.stringify({ format: REPORT_FORMAT, command: 'validate', exitCode: 0, valid: true, hosts }, null, 2)}\n`);
    } else {
      process.stdout.write(`valid: ${loaded.hosts.length} host(s), ${tasks} task(s)\n`);
    }
    return 0;
  } catch (error) {
    return reportError(error, usage, wantsJson(argv) ? 'validate' : undefined);
  }
}
