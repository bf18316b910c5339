import { loadRun } from '../engine/runPlaybook.js';
import { parsePlaybookCommand, reportError } from './common.js';

const usage = `usage: wgplay validate PLAYBOOK -i INVENTORY [-l PATTERN]

Checks the inventory, the playbook and every task's arguments on every host, without
contacting any host. Exit 0 when valid, 1 with every problem listed (file:line:col).
`;

export async function runValidate(argv: string[]): Promise<number> {
  try {
    const command = parsePlaybookCommand(argv, ['PLAYBOOK'], usage);
    if (!command) return 0;
    const loaded = loadRun(command.args[0]!, command.inventory, command.limit);
    const tasks = loaded.hosts.reduce((sum, host) => sum + host.tasks.length, 0);
    process.stdout.write(`valid: ${loaded.hosts.length} host(s), ${tasks} task(s)\n`);
    return 0;
  } catch (error) {
    return reportError(error, usage);
  }
}
