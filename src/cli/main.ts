import { registerSecret } from '../report/redact.js';
import { runCustomerConfig } from './customerConfig.js';
import { runDoc } from './doc.js';
import { runInventory } from './inventory.js';
import { runLabCommand } from './lab.js';
import { runPlanOrApply, runShow } from './run.js';
import { runStatus } from './status.js';
import { runValidate } from './validate.js';
import { WGPLAY_VERSION } from '../version.js';

const usage = `usage: wgplay COMMAND [options]

commands:
  plan PLAYBOOK -i INVENTORY       show what would change (exit 2 when something would)
  plan PLAYBOOK -i INVENTORY --out FILE
                                   save the plan, for a maintenance window
  apply PLAYBOOK -i INVENTORY      make it so, over SSH, then verify
  apply FILE                       apply a saved plan exactly (refused if a host changed since)
  show FILE                        print a saved plan as plan did
  validate PLAYBOOK -i INVENTORY   check everything without contacting any host
  status PLAYBOOK -i INVENTORY     every customer's tunnel: up, handshake, bytes (exit 2 when one is down)
  customer-config CUSTOMER PLAYBOOK -i INVENTORY
                                   the WireGuard config to hand to a customer
  inventory -i INVENTORY --list|--host HOST
                                   the inventory as wgplay reads it (ansible-inventory's JSON)
  lab up|down|status               the seed article's network in namespaces on this machine
  doc [TASK]                       the tasks and modules a playbook can name, and their arguments

Run "wgplay COMMAND --help" for a command's options.
`;

export async function main(argv: string[]): Promise<number> {
  // Never print the SSH key passphrase, wherever an error might echo it. (Below 8
  // characters, scrubbing it would blank ordinary words all over the output.)
  const passphrase = process.env.WGPLAY_SSH_KEY_PASSPHRASE;
  if (passphrase && passphrase.length >= 8) registerSecret(passphrase);
  const [command, ...rest] = argv;
  switch (command) {
    case 'plan':
      return runPlanOrApply('plan', rest);
    case 'apply':
      return runPlanOrApply('apply', rest);
    case 'validate':
      return runValidate(rest);
    case 'show':
      return runShow(rest);
    case 'status':
      return runStatus(rest);
    case 'customer-config':
      return runCustomerConfig(rest);
    case 'inventory':
      return runInventory(rest);
    case 'lab':
      return runLabCommand(rest);
    case 'doc':
      return runDoc(rest);
    case '--version':
    case '-V':
      process.stdout.write(`wgplay ${WGPLAY_VERSION}\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(usage);
      return command === undefined ? 1 : 0;
    default:
      process.stderr.write(`wgplay: unknown command "${command}"\n\n${usage}`);
      return 1;
  }
}
