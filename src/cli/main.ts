import { registerSecret } from '../report/redact.js';
import { WGPLAY_VERSION } from '../version.js';

// Each command loads only its own modules: loading is much of a short run's time (the
// lab's alone costs a plan about 0.2 s of CPU).

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
      return (await import('./run.js')).runPlanOrApply('plan', rest);
    case 'apply':
      return (await import('./run.js')).runPlanOrApply('apply', rest);
    case 'validate':
      return (await import('./validate.js')).runValidate(rest);
    case 'show':
      return (await import('./run.js')).runShow(rest);
    case 'status':
      return (await import('./status.js')).runStatus(rest);
    case 'customer-config':
      return (await import('./customerConfig.js')).runCustomerConfig(rest);
    case 'inventory':
      return (await import('./inventory.js')).runInventory(rest);
    case 'lab':
      return (await import('./lab.js')).runLabCommand(rest);
    case 'doc':
      return (await import('./doc.js')).runDoc(rest);
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
