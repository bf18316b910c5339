// What commit-confirmed and the detached apply cost an apply, at N customers (default
// 100): on a disposable host converged with N gateway customers, each piece run alone
// over the real SSH connection, against an empty command on the same connection.
// Prints numbers, asserts nothing. Run as root: `node dist/bench/confirm.js [--customers N] [--runs R]`.
//
//   arm       the lines the apply script gains: save wgplay's two tables, rules, routes,
//             addresses, links and the record, write the rollback scripts, start the timer
//   confirm   a NEW SSH connection (TCP, handshake, login) and the confirmation through it
//             (the verify that follows runs through it too, so it costs nothing extra)
//   detached  the apply script stored on the host and run detached, vs. sent as is
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { armScript, confirmScript } from '../src/engine/commitConfirmed.js';
import { detachedApplyScript, newRunId } from '../src/engine/detachedApply.js';
import { connectionOf } from '../src/inventory/connection.js';
import { loadInventory } from '../src/inventory/load.js';
import { runOneHost, loadRun } from '../src/engine/runPlaybook.js';
import { openTransport } from '../src/transport/index.js';
import { startTestHost, testHostGateway } from '../test/e2e/harness.js';
import { helpRequested, option } from './cli.js';

helpRequested('node dist/bench/confirm.js [--customers 100] [--runs 9]   (as root)');
const customers = Number(option('--customers') ?? 100);
const runs = Number(option('--runs') ?? 9);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const key = (i: number) => createHash('sha256').update(`wgplay-confirm-bench-${i}`).digest('base64');

const host = await startTestHost({ name: 'bench-cc' });
try {
  const inventory = host.writeInventory();
  const playbook = `${inventory}.playbook.yaml`;
  writeFileSync(
    playbook,
    stringify(
      testHostGateway(
        'confirm bench',
        Array.from({ length: customers }, (_, i) => ({ name: `c${i}`, public_key: key(i) })),
        { listen_ports: '51000-51999', tables: '1000-2999', our_addresses: '10.200.0.0/16', customer_addresses: '10.100.0.0/16' },
      ),
    ),
  );
  const loaded = loadRun(playbook, inventory);
  const { host: target, tasks } = loaded.hosts[0]!;
  process.stderr.write(`converging ${customers} customers on ${host.netns}...\n`);
  const converged = await runOneHost(target, tasks, { apply: true });
  if (converged.status !== 'changed') throw new Error(`the first apply did not converge: ${converged.error}`);

  const settings = connectionOf(loadInventory(inventory).hosts.get(target.name)!);
  const transport = await openTransport(settings);
  // What an apply that changes these customers saves and may undo.
  const scope = {
    nftTables: [
      { family: 'inet', name: 'wgplay_filter' },
      { family: 'inet', name: 'wgplay_nat' },
    ],
    links: Array.from({ length: customers }, (_, i) => `wg-c${i}`),
    files: ['/var/lib/wgplay/gateway.json'],
  };
  const timed = async (fn: () => Promise<unknown>) => {
    const started = performance.now();
    await fn();
    return performance.now() - started;
  };
  const samples = { connect: [] as number[], empty: [] as number[], arm: [] as number[], confirm: [] as number[], direct: [] as number[], detached: [] as number[] };
  const body = 'set -euo pipefail\nprintf "%s\\n" "@@wgplay-phase done"\n';
  for (let run = 0; run < runs; run++) {
    const id = newRunId();
    samples.empty.push(await timed(() => transport.run('true')));
    samples.connect.push(await timed(async () => void (await openTransport(settings)).close()));
    // The arm lines as the apply script runs them: in a bash whose pid the timer waits for.
    samples.arm.push(await timed(() => transport.run(`set -euo pipefail\n${armScript(scope, 60, id)}\n`)));
    samples.confirm.push(
      await timed(async () => {
        const fresh = await openTransport(settings);
        const result = await fresh.run(confirmScript(id, ''));
        if (!result.stdout.includes('@@wgplay-confirm confirmed')) throw new Error(`not confirmed: ${result.stdout}${result.stderr}`);
        void fresh.close();
      }),
    );
    samples.direct.push(await timed(() => transport.run(body)));
    samples.detached.push(await timed(() => transport.run(detachedApplyScript(body, newRunId(), 'bench'))));
  }
  await transport.close();
  const empty = median(samples.empty);
  const arm = median(samples.arm) - empty;
  const confirm = median(samples.confirm);
  const detached = median(samples.detached) - median(samples.direct);
  const ms = (value: number) => value.toFixed(1);
  console.log(`commit-confirmed and the detached apply, ${customers} customers, median of ${runs} (load ${(await import('node:os')).loadavg()[0]!.toFixed(2)})`);
  console.log('| piece | ms |\n|---|---|');
  console.log(`| empty command on the connection | ${ms(empty)} |`);
  console.log(`| arm (save state, start timer), beyond an empty command | ${ms(arm)} |`);
  console.log(`| confirm: new SSH connection + confirmation | ${ms(confirm)} |`);
  console.log(`|   of which the new SSH connection alone (TCP, handshake, login) | ${ms(median(samples.connect))} |`);
  console.log(`| commit-confirmed total (arm + confirm) | ${ms(arm + confirm)} |`);
  console.log(`| detached run of the apply script, beyond sending it as is | ${ms(detached)} |`);
} finally {
  await host.destroy();
}
