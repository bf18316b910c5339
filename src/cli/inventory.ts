import { WgplayError } from '../errors.js';
import { connectionOf } from '../inventory/connection.js';
import { parseExtraVars } from '../inventory/extraVars.js';
import { hostJson, inventoryListJson } from '../inventory/listJson.js';
import { loadInventories } from '../inventory/load.js';
import type { Inventory } from '../inventory/types.js';
import { extraVarsOf, INVENTORY_OPTIONS, INVENTORY_USAGE, parseCommandLine, reportError, UsageError } from './common.js';
import { describeConnection } from './hostLines.js';

const usage = `usage: wgplay inventory -i INVENTORY (--list | --host HOST) [options]

Prints the inventory as wgplay reads it, in ansible-inventory's JSON: --list every
group and every host's variables (_meta.hostvars), --host one host's variables.
Contacts no host.

options:
${INVENTORY_USAGE}
      --playbook-dir DIR   read DIR/group_vars and DIR/host_vars as a playbook's there
                           (default: the current folder, as ansible-inventory does)
      --list               every group and host
      --host HOST          one host's variables
  -h, --help               this text
`;

const OPTIONS = {
  ...INVENTORY_OPTIONS,
  'playbook-dir': { type: 'string' },
  list: { type: 'boolean', default: false },
  host: { type: 'string' },
} as const;

/** The inventory the command line names: -i (several), -e, --playbook-dir. */
function inventoryOfCommandLine(values: {
  inventory?: string[];
  'extra-vars'?: string[];
  'ssh-config'?: string;
  'playbook-dir'?: string;
}): Inventory {
  if (!values.inventory?.length) throw new UsageError('missing -i INVENTORY');
  return loadInventories(values.inventory, {
    playbookDir: values['playbook-dir'] ?? '.',
    extraVars: parseExtraVars(extraVarsOf(values)),
  });
}

export async function runInventory(argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parseCommandLine(argv, OPTIONS, 'inventory');
    if (values.help) {
      process.stdout.write(usage);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected ${positionals.join(' ')}`);
    if (values.list === (values.host !== undefined)) throw new UsageError('give one of --list or --host HOST');
    const inventory = inventoryOfCommandLine(values);
    const verbosity = ((values.verbose ?? []) as boolean[]).length;
    if (values.host !== undefined) {
      const host = inventory.hosts.get(values.host);
      if (!host) throw new WgplayError([{ where: '--host', message: `no host "${values.host}" in the inventory` }]);
      if (verbosity > 0) process.stderr.write(`${describeConnection(connectionOf(host), verbosity)}\n`);
      process.stdout.write(`${JSON.stringify(hostJson(host), null, 4)}\n`);
      return 0;
    }
    if (verbosity > 0) {
      for (const host of inventory.hosts.values()) process.stderr.write(`${describeConnection(connectionOf(host), verbosity)}\n`);
    }
    process.stdout.write(`${JSON.stringify(inventoryListJson(inventory), null, 4)}\n`);
    return 0;
  } catch (error) {
    return reportError(error, usage);
  }
}

/** The inventory a `wgplay inventory` command line reads (its --list/--host aside). */
export function inventoryOfArgs(argv: string[]): Inventory {
  return inventoryOfCommandLine(parseCommandLine(argv, OPTIONS, 'inventory').values);
}
