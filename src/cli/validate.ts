import { loadRun } from '../engine/runPlaybook.js';
import { parseCommandLine, reportError, requirePositionals, UsageError } from './common.js';

const usage = `usage: wgplay validate PLAYBOOK -i INVENTORY [-l PATTERN]

Checks the inventory, the playbook and every task's arguments on every host, without
contacting any host. Exit 0 when valid, 1 with every problem listed (file:line:col).
`;

export async function runValidate(argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parseCommandLine(argv, {
      inventory: { type: 'string', short: 'i' },
      limit: { type: 'string', short: 'l' },
      help: { type: 'boolean', short: 'h', default: false },
    });
    if (values.help) {
      process.stdout.write(usage);
      return 0;
    }
    const [playbook] = requirePositionals(positionals, ['PLAYBOOK']);
    if (!values.inventory) throw new UsageError('missing -i INVENTORY');
    const loaded = loadRun(playbook!, values.inventory, values.limit);
    const tasks = loaded.hosts.reduce((sum, host) => sum + host.tasks.length, 0);
    process.stdout.write(`valid: ${loaded.hosts.length} host(s), ${tasks} task(s)\n`);
    return 0;
  } catch (error) {
    return reportError(error, usage);
  }
}
