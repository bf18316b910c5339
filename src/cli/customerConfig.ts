import { WgplayError } from '../errors.js';
import { gatherFacts } from '../engine/run.js';
import { loadRun } from '../engine/runPlaybook.js';
import type { GatewayArgs } from '../modules/gateway/args.js';
import { customerKeyFile, renderCustomerConfig } from '../modules/gateway/customerConfig.js';
import { openTransport } from '../transport/index.js';
import { parsePlaybookCommand, reportError } from './common.js';

const usage = `usage: wgplay customer-config CUSTOMER PLAYBOOK -i INVENTORY [-l HOST]

Prints the WireGuard configuration to hand to a customer: their address, the gateway's
public key (read from the gateway), Endpoint and AllowedIPs, and a placeholder for their
own private key. Never prints a private key of ours.
`;

export async function runCustomerConfig(argv: string[]): Promise<number> {
  try {
    const command = parsePlaybookCommand(argv, ['CUSTOMER', 'PLAYBOOK'], usage);
    if (!command) return 0;
    const [customer, playbook] = command.args;
    const loaded = loadRun(playbook!, command.inventory, command.limit, { extraVars: command.extraVars });
    const gateways = loaded.hosts.flatMap(({ host, tasks }) =>
      tasks
        .filter((task) => task.module === 'wireguard_gateway')
        .filter((task) => (task.args as GatewayArgs).customers.some((c) => c.name === customer))
        .map((task) => ({ host, task, tasks })),
    );
    if (gateways.length !== 1) {
      const where = gateways.map((g) => g.host.name).join(', ');
      throw new WgplayError(
        gateways.length === 0
          ? `no wireguard_gateway task in ${playbook} has a customer named "${customer}"`
          : `customer "${customer}" is on several gateways (${where}): pick one with -l`,
      );
    }
    const { host, task } = gateways[0]!;
    const transport = await openTransport(host);
    try {
      // The gateway's public key for this customer: derived on the host from its key file.
      const keyFile = customerKeyFile(task.args as GatewayArgs, customer!);
      const { facts } = await gatherFacts(transport, [task], { extra: { files: [{ path: keyFile, wgKey: true }] } });
      process.stdout.write(renderCustomerConfig(task.args as GatewayArgs, customer!, facts));
      return 0;
    } finally {
      await transport.close();
    }
  } catch (error) {
    return reportError(error, usage);
  }
}
