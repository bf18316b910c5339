// Adding customers beside running ones (the netlink pacing of src/engine/netlinkPacing.ts):
// on a fresh gateway, the first apply of N customers, then the apply of 2N (N more beside
// the N whose daemons run). Prints numbers, asserts nothing. As root:
//
//   node dist/bench/beside.js [--customers 100] [--runs 3] [--bin LABEL=PATH/bin/wgplay.js ...]
//
// Each --bin is another build of the CLI measured in the same runs (say main's, built in a
// worktree of its own), interleaved with this one, the order rotating from run to run;
// medians of the runs.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { daemonsAlive, destroyAll, freshHost, inventoryFor, progress, raiseInotifyLimit } from './hosts.js';
import { writeWorkload } from './workload.js';
import { BIN, helpRequested, option } from './cli.js';

helpRequested(`node dist/bench/beside.js [--customers 100] [--runs 3] [--bin LABEL=PATH/bin/wgplay.js ...]
As root. What it measures: bench/README.md ("Customers added beside running ones").`);

const customers = Number(option('--customers') ?? 100);
const runs = Number(option('--runs') ?? 3);
const builds = [
  { label: 'this build', bin: BIN },
  ...process.argv.flatMap((arg, i) => (arg === '--bin' ? [process.argv[i + 1]!] : [])).map((spec) => {
    const [label, bin] = spec.split('=');
    if (!label || !bin) throw new Error(`--bin ${spec}: write LABEL=PATH/bin/wgplay.js`);
    return { label, bin };
  }),
];
for (const n of [customers, runs]) if (!Number.isInteger(n) || n < 1) throw new Error(`bad number in the options: ${n}`);

const workDir = mkdtempSync('/tmp/wgplay-bench-beside-');
const first = writeWorkload(workDir, customers).playbook;
// The same N customers (same names and keys) and N more.
const doubled = writeWorkload(workDir, 2 * customers).playbook;

interface Apply {
  seconds: number;
  code: number;
  phases: string;
  error?: string;
}

function apply(bin: string, playbook: string, inventory: string): Promise<Apply> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [bin, 'apply', playbook, '-i', inventory, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      try {
        const host = (JSON.parse(stdout) as { hosts: { error?: string; phaseSeconds?: Record<string, number> }[] }).hosts[0]!;
        const phases = Object.entries(host.phaseSeconds ?? {})
          .map(([phase, s]) => `${phase} ${s.toFixed(2)}`)
          .join(', ');
        resolve({ seconds, code: code ?? -1, phases, error: host.error?.slice(0, 300) });
      } catch {
        resolve({ seconds, code: code ?? -1, phases: '', error: `no JSON report: ${stdout.slice(0, 300)}` });
      }
    });
  });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function main(): Promise<void> {
  progress(raiseInotifyLimit(2 * customers));
  const results = builds.map(() => ({ first: [] as number[], beside: [] as number[], alive: [] as number[], failures: [] as string[] }));
  for (let run = 0; run < runs; run++) {
    const order = builds.map((_, i) => (i + run) % builds.length);
    for (const b of order) {
      const { label, bin } = builds[b]!;
      const host = await freshHost(`beside-${b}`);
      try {
        const inventory = inventoryFor(join(workDir, `inv-${run}-${b}`), [host]);
        const one = await apply(bin, first, inventory);
        const two = await apply(bin, doubled, inventory);
        const alive = daemonsAlive(host);
        progress(
          `run ${run + 1} ${label}: first apply N=${customers} ${one.seconds.toFixed(2)} s exit ${one.code} (${one.phases}); ` +
            `${customers} more beside them ${two.seconds.toFixed(2)} s exit ${two.code} (${two.phases}); ${alive} of ${2 * customers} daemons alive`,
        );
        const r = results[b]!;
        r.first.push(one.seconds);
        r.beside.push(two.seconds);
        r.alive.push(alive);
        for (const failed of [one, two]) if (failed.code !== 0) r.failures.push(failed.error ?? `exit ${failed.code}`);
      } finally {
        await host.destroy();
      }
    }
  }
  console.log(`\ncustomers added beside running ones: N=${customers}, ${runs} runs, medians (load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
  console.log('| build | first apply N s | N more beside N s | daemons alive (min) | failed applies |');
  console.log('|---|---|---|---|---|');
  builds.forEach((build, b) => {
    const r = results[b]!;
    console.log(`| ${build.label} | ${median(r.first).toFixed(2)} | ${median(r.beside).toFixed(2)} | ${Math.min(...r.alive)} of ${2 * customers} | ${r.failures.length}${r.failures.length ? `: ${r.failures[0]}` : ''} |`);
  });
}

const stop = () => void destroyAll().finally(() => process.exit(130));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
main()
  .catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  })
  .finally(() => destroyAll());
