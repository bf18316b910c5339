// A deploy tool built on wgplay: the gateway and its customers are objects in this
// program (no YAML), the plan is shown with its summary, applied after confirmation
// with progress per host and task; Ctrl-C cancels cleanly (before the apply script
// starts nothing changes; once it runs it is let finish and verified).
//
//   node dist/deploy.js --host 192.0.2.10 --key ~/.ssh/id_ed25519 [--port 22] [--known-hosts FILE]
//                       [--public-interface eth0] [--public-address 192.0.2.10] [--yes]
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import {
  apply,
  createRun,
  inventoryFromObject,
  plan,
  playbookFromObject,
  summaryLine,
  tasks,
  WgplayError,
  WgplayEvents,
  type GatewayCustomer,
  type RunResult,
} from 'wgplay';

const { values } = parseArgs({
  options: {
    host: { type: 'string' },
    port: { type: 'string', default: '22' },
    key: { type: 'string' },
    'known-hosts': { type: 'string' },
    'public-interface': { type: 'string', default: 'eth0' },
    'public-address': { type: 'string' },
    yes: { type: 'boolean', default: false },
  },
});
if (!values.host || !values.key) {
  process.stderr.write('usage: deploy --host ADDRESS --key PRIVATE_KEY_FILE [--port N] [--known-hosts FILE] [--public-interface IF] [--public-address A] [--yes]\n');
  process.exit(1);
}

// What this tool knows about its customers, e.g. from its own database.
const customers: GatewayCustomer[] = [
  { name: 'acme', public_key: '/TOE4TKtAqVsePRVR+5AA43HkAK5DSntkOCO7nYq5xU=', address: '10.0.0.1', our_address: '10.0.0.2', mode: 'both' },
  { name: 'globex', public_key: 'fE/wdxzl0klVp/IR8UcaoGUMjqaWi3jAd7KzHKFS6Ds=', address: '10.0.0.1', our_address: '10.0.0.2', mode: 'both' },
];

const inventory = inventoryFromObject(
  {
    all: {
      hosts: {
        gateway: {
          ansible_host: values.host,
          ansible_port: Number(values.port),
          ansible_user: 'root',
          ansible_ssh_private_key_file: values.key,
          ...(values['known-hosts'] ? { wgplay_known_hosts_file: values['known-hosts'] } : {}),
        },
      },
    },
  },
  { name: 'deploy-tool inventory' },
);

const playbook = playbookFromObject(
  [
    {
      name: 'customer gateway',
      hosts: 'all',
      tasks: [
        tasks.wireguardGateway(
          {
            public_interface: values['public-interface']!,
            public_address: values['public-address'] ?? values.host,
            ssh: { interfaces: [values['public-interface']!] },
            services: [{ protocol: 'tcp', port: 8080 }],
            customers,
          },
          'gateway',
        ),
      ],
    },
  ],
  { name: 'deploy-tool playbook' },
);

function printSummary(title: string, result: RunResult, applied: boolean): void {
  process.stdout.write(`${title}\n`);
  for (const host of result.hosts) {
    process.stdout.write(`  ${host.host}: ${host.status}, ${summaryLine(host.summary, applied && host.applied)}${host.error ? `\n    ${host.error.split('\n').join('\n    ')}` : ''}\n`);
  }
  process.stdout.write(`  total: ${summaryLine(result.summary, applied)}\n`);
}

async function confirm(question: string, signal: AbortSignal): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await prompt.question(question, { signal })).trim());
  } catch {
    return false; // aborted (Ctrl-C) or stdin closed
  } finally {
    prompt.close();
  }
}

async function main(): Promise<number> {
  const controller = new AbortController();
  process.on('SIGINT', () => {
    process.stdout.write('\ncancelling: hosts whose apply has not started will not be changed\n');
    controller.abort();
  });

  let run;
  try {
    run = createRun({ inventory, playbook });
  } catch (error) {
    if (!(error instanceof WgplayError)) throw error;
    for (const problem of error.problems) process.stderr.write(`${problem.where}: ${problem.message}\n`);
    return 1;
  }

  const planned = await plan(run, { signal: controller.signal });
  for (const host of planned.hosts) {
    for (const task of host.tasks) for (const change of task.changes) process.stdout.write(`  ${host.host}: ${change.action} ${change.resource}\n`);
  }
  printSummary('plan:', planned, false);
  if (planned.summary.statuses.failed + planned.summary.statuses.unreachable > 0) return 1;
  if (planned.summary.statuses.changed === 0) {
    process.stdout.write('nothing to do\n');
    return 0;
  }
  if (!values.yes && !(await confirm('apply these changes? [y/N] ', controller.signal))) {
    process.stdout.write('not applied: nothing was changed\n');
    return controller.signal.aborted ? 130 : 1;
  }

  const events = new WgplayEvents();
  events.on('host:phase', ({ host, phase }) => process.stdout.write(`[${host}] ${phase}\n`));
  events.on('task:done', ({ host, name, outcome }) => process.stdout.write(`[${host}] ${name}: ${outcome}\n`));
  const applied = await apply(planned, { events, signal: controller.signal });
  printSummary('applied:', applied, true);
  for (const host of applied.hosts) {
    if (host.cancelled === 'during-apply') process.stdout.write(`  ${host.host}: cancelled while its apply ran: it was let finish (${host.status})\n`);
    if (host.drift) process.stdout.write(`  ${host.host}: changed since the plan, refused:\n    ${host.drift.join('\n    ')}\n`);
  }
  return applied.exitCode === 0 ? 0 : controller.signal.aborted ? 130 : 1;
}

process.exitCode = await main();
