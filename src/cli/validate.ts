import { loadRun } from '../engine/runPlaybook.js';
import { REPORT_FORMAT } from '../report/json.js';
import { parsePlaybookCommand, reportError, wantsJson } from './common.js';

const usage = `usage: wgplay validate PLAYBOOK -i INVENTORY [-l PATTERN] [--json]

Checks the inventory, the playbook and every task's arguments on every host, without
contacting any host. Exit 0 when valid, 1 with every problem listed (file:line:col).
`;

export async function runValidate(argv: string[]): Promise<number> {
  try {
    const command = parsePlaybookCommand(argv, ['PLAYBOOK'], usage, { json: { type: 'boolean', default: false } });
    if (!command) return 0;
    const loaded = loadRun(command.args[0]!, command.inventory, command.limit);
    const tasks = loaded.hosts.reduce((sum, host) => sum + host.tasks.length, 0);
    if (command.values.json) {
      const hosts = loaded.hosts.map(({ host, tasks }) => ({ host: host.name, tasks: tasks.length }));
      process.stdout.write(`${JSON.stringify({ format: REPORT_FORMAT, command: 'validate', exitCode: 0, valid: true, hosts }, null, 2)}\n`);
    } else {
      process.stdout.write(`valid: ${loaded.hosts.length} host(s), ${tasks} task(s)\n`);
    }
    return 0;
  } catch (error) {
    return reportError(error, usage, wantsJson(argv) ? 'validate' : undefined);
  }
}
