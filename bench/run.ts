// wgplay benchmark (issue 10): prints numbers, asserts nothing. As root: `npm run bench`.
// bench/README.md says what every column means, and holds the numbers last measured.
//
// For each size N (one gateway, N customers of `wireguard_gateway`) and for a fleet of G
// gateways (10 customers each, `--forks G`), in every run, interleaved:
//   wgplay       the real CLI on a FRESH host: first apply; then on that converged host
//                the no-op floor, `plan`, `apply` with nothing to do, and `apply` of the
//                playbook with one customer's key changed;
//   floor_batch  and
//   best order   the hand-written single-session scripts (bench/baselines.ts), each on
//                its own fresh host; afterwards `wgplay plan` on that host must exit 0
//                (the same end state) and every daemon must be alive.
// The variants' order rotates from run to run; medians of the runs, and each ratio is
// taken within one run before its median.
//
//   node dist/bench/run.js [--sizes 2,20,100,1000] [--gateways 50] [--runs 3] [--big-runs 1]
//                          [--quick] [--ansible] [--ansible-sizes 2,20] [--no-baselines 1000] [--timeout 900] [--json FILE]
// Progress goes to stderr, the table to stdout.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { prepareTasks } from '../src/engine/run.js';
import { loadRun } from '../src/engine/runPlaybook.js';
import { blankFacts } from '../src/facts/blankFacts.js';
import { keyFileOf, type WireguardInterfaceArgs } from '../src/tasks/wireguardInterface.js';
import type { TaskInvocation } from '../src/tasks/types.js';
import { ansibleAvailable, ansibleRun, type AnsibleRun } from './ansible.js';
import { bestOrderScript, floorBatchScript, noopFloorScript, type FileBundle } from './baselines.js';
import {
  captureBundle,
  daemonsAlive,
  destroyAll,
  freshFleet,
  freshHost,
  inventoryFor,
  markBeforeApply,
  progress,
  raiseInotifyLimit,
  sentBytes,
  type BenchHost,
} from './hosts.js';
import { writeWorkload, type Workload } from './workload.js';
import { BIN, ROOT, RUSAGE, helpRequested, option } from './cli.js';

// ---------------------------------------------------------------- options

helpRequested(`node dist/bench/run.js [--sizes 2,20,100,1000] [--gateways 50] [--runs 3] [--big-runs 1]
                       [--quick] [--ansible] [--ansible-sizes 2,20] [--no-baselines 1000] [--timeout 900] [--json FILE]
As root. Every option: bench/README.md.`);

const flag = (name: string) => process.argv.includes(name);
const list = (text: string) => text.split(',').filter(Boolean).map(Number);
const quick = flag('--quick');
const sizes = list(option('--sizes') ?? (quick ? '2,20,100' : '2,20,100,1000'));
const gateways = Number(option('--gateways') ?? (quick ? 10 : 50));
const GATEWAY_CUSTOMERS = 10;
const runs = Number(option('--runs') ?? 3);
/** 1000 daemons on one host load the machine for minutes per run: fewer runs for N >= 1000 unless asked. */
const bigRuns = Number(option('--big-runs') ?? 1);
const runsOf = (customers: number) => (customers >= 1000 ? Math.min(runs, bigRuns) : runs);
const withAnsible = flag('--ansible');
/** Sizes measured without the two hand-written baselines (each takes as long as wgplay's apply). */
const noBaselineSizes = list(option('--no-baselines') ?? '');
const ansibleSizes = list(option('--ansible-sizes') ?? '2,20');
const jsonOut = option('--json');
for (const n of [...sizes, gateways, runs, bigRuns]) if (!Number.isInteger(n) || n < 0) throw new Error(`bad number in the options: ${n}`);

// ---------------------------------------------------------------- helpers

function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (!sorted.length) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface Proc {
  code: number;
  stdout: string;
  stderr: string;
  wallMs: number;
}

/** Longest a single wgplay or baseline run may take before it is ended (SIGTERM to its pid): a stuck run must not hold the machine. */
const PROCESS_TIMEOUT_MS = Number(option('--timeout') ?? 900) * 1000;

function runProcess(command: string, args: string[], options: { stdin?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env, timeout: PROCESS_TIMEOUT_MS });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, wallMs: performance.now() - started }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin ?? '');
  });
}

interface CliRun {
  wallMs: number;
  code: number;
  /** Most remote commands any host needed. */
  roundTrips: number;
  changes: number;
  cpuMs: number;
  /** CPU time the whole machine spent meanwhile (every process: the controller, sshd, the hosts' scripts and daemons). */
  machineCpuMs: number;
  maxRssMiB: number;
  /** The first few changes it reported (to name what a baseline left different). */
  changed?: string[];
  /** An apply that ran to its end: seconds per phase of its script on the host, then verify (the first host's). */
  phaseSeconds?: Record<string, number>;
  error?: string;
}

const workDir = mkdtempSync('/tmp/wgplay-bench-');
let cliCount = 0;

/**
 * CPU time the machine's cores have been busy since boot (/proc/stat's "cpu" line: every
 * column but idle and iowait, in USER_HZ ticks of 10 ms). Around a fleet's run it says
 * whether the run was bound by the machine (busy = cores x wall) rather than by wgplay.
 */
function machineBusyMs(): number {
  const ticks = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = ticks;
  return (user + nice + system + irq + softirq + steal) * 10;
}

/** The wgplay CLI as a child process (node startup included), with its JSON report and its own CPU and peak memory. */
async function wgplay(args: string[]): Promise<CliRun> {
  const rusageFile = join(workDir, `rusage-${cliCount++}.json`);
  const machineBefore = machineBusyMs();
  const result = await runProcess(process.execPath, ['--import', RUSAGE, BIN, ...args, '--json'], {
    env: { ...process.env, WGPLAY_BENCH_RUSAGE: rusageFile },
  });
  // No file: the CLI was ended before its exit handlers ran (the timeout).
  const usage = existsSync(rusageFile) ? (JSON.parse(readFileSync(rusageFile, 'utf8')) as { cpuMs: number; maxRssKiB: number }) : { cpuMs: NaN, maxRssKiB: NaN };
  const base = { wallMs: result.wallMs, code: result.code, cpuMs: usage.cpuMs, machineCpuMs: machineBusyMs() - machineBefore, maxRssMiB: usage.maxRssKiB / 1024 };
  try {
    const hosts = (
      JSON.parse(result.stdout) as {
        hosts: { host: string; error?: string; roundTrips?: number; phaseSeconds?: Record<string, number>; tasks: { changes: { resource?: string; diff?: string }[] }[] }[];
      }
    ).hosts;
    const failed = hosts.find((host) => host.error);
    const changed = hosts.flatMap((host) => host.tasks.flatMap((task) => task.changes.map((change) => `${change.resource}: ${(change.diff ?? '').split('\n').slice(0, 6).join(' | ')}`)));
    return {
      ...base,
      changed: changed.slice(0, 5),
      phaseSeconds: hosts[0]?.phaseSeconds,
      roundTrips: Math.max(...hosts.map((host) => host.roundTrips ?? NaN)),
      changes: hosts.reduce((n, host) => n + host.tasks.reduce((m, task) => m + task.changes.length, 0), 0),
      error: failed ? `${failed.host}: ${failed.error}`.slice(0, 1500) : undefined,
    };
  } catch {
    return { ...base, roundTrips: NaN, changes: NaN, error: `no JSON report (exit ${result.code}): ${`${result.stdout}\n${result.stderr}`.trim().slice(0, 1500)}` };
  }
}

/** " (prepare 0.12, links 0.30, ..., verify 0.40 s)" */
const phasesText = (phases: Record<string, number> | undefined) =>
  phases ? ` (${Object.entries(phases).map(([phase, seconds]) => `${phase} ${seconds.toFixed(2)}`).join(', ')} s)` : '';

function sshArgs(host: BenchHost): string[] {
  return [
    '-F', '/dev/null',
    '-i', host.ssh.privateKeyPath,
    '-o', 'IdentitiesOnly=yes',
    '-o', 'BatchMode=yes',
    '-o', `UserKnownHostsFile=${host.ssh.knownHostsPath}`,
    '-o', 'StrictHostKeyChecking=yes',
    '-p', String(host.ssh.port),
    `root@${host.ssh.host}`,
  ];
}

/** A script through one OpenSSH session, with the bytes this machine sent the host meanwhile. */
async function viaSsh(host: BenchHost, script: string): Promise<Proc & { sentBytes: number }> {
  const before = sentBytes(host);
  const result = await runProcess('ssh', [...sshArgs(host), 'bash -s'], { stdin: script });
  return { ...result, sentBytes: sentBytes(host) - before };
}

/** What a wgplay CLI run sent to the hosts, per host on average. */
async function measured(hosts: BenchHost[], args: string[]): Promise<CliRun & { sentBytes: number }> {
  const before = hosts.map(sentBytes);
  const run = await wgplay(args);
  const sent = hosts.reduce((n, host, i) => n + sentBytes(host) - before[i]!, 0) / hosts.length;
  return { ...run, sentBytes: sent };
}

// ---------------------------------------------------------------- one gateway

interface Prepared {
  workload: Workload;
  tasks: TaskInvocation[];
  keyFiles: string[];
  bundle?: FileBundle;
}

/** The primitive tasks wgplay expands the playbook into on a fresh host (what the baselines write). */
function prepare(customers: number): Prepared {
  const workload = writeWorkload(workDir, customers);
  const inventory = join(workDir, 'local.inventory.yaml');
  writeFileSync(inventory, 'all:\n  hosts:\n    gateway:\n      ansible_connection: local\n');
  const loaded = loadRun(workload.playbook, inventory);
  const tasks = prepareTasks(loaded.hosts[0]!.tasks, blankFacts()).map((task) => task.invocation);
  const keyFiles = tasks.filter((task) => task.module === 'wireguard_interface').map((task) => keyFileOf(task.args as WireguardInterfaceArgs));
  return { workload, tasks, keyFiles };
}

interface WgplayRun {
  apply: CliRun & { sentBytes: number };
  alive: number;
  noopFloor: Proc & { sentBytes: number };
  plan: CliRun & { sentBytes: number };
  reapply: CliRun & { sentBytes: number };
  changed: CliRun & { sentBytes: number };
}

interface BaselineRun {
  wallMs: number;
  code: number;
  sentBytes: number;
  alive: number;
  /** `wgplay plan` on the host afterwards: 0 = the same end state as wgplay's. */
  planCode: number;
  planChanges: number;
  /** What that plan would still change. */
  planChanged: string[];
  stderr: string;
}

async function wgplayOnFreshHost(p: Prepared, label: string): Promise<WgplayRun> {
  const host = await freshHost(`bench-w${p.workload.customers}`);
  try {
    const inventory = inventoryFor(join(workDir, `inv-${host.netns}`), [host]);
    const pb = p.workload.playbook;
    await markBeforeApply(host);
    const apply = await measured([host], ['apply', pb, '-i', inventory]);
    progress(`  ${label} wgplay apply ${(apply.wallMs / 1000).toFixed(2)} s exit ${apply.code}${apply.error ? `: ${apply.error}` : ''}${phasesText(apply.phaseSeconds)}`);
    const alive = daemonsAlive(host);
    p.bundle ??= apply.code === 0 ? await captureBundle(host, p.keyFiles) : undefined;
    const noopFloor = await viaSsh(host, noopFloorScript(p.tasks, p.bundle ?? { directories: [], files: [], tarBase64: '' }));
    const plan = await measured([host], ['plan', pb, '-i', inventory]);
    const reapply = await measured([host], ['apply', pb, '-i', inventory]);
    const changed = await measured([host], ['apply', p.workload.changedPlaybook, '-i', inventory]);
    progress(`  ${label} no-op plan ${(plan.wallMs / 1000).toFixed(2)} s (exit ${plan.code}), no-op apply ${(reapply.wallMs / 1000).toFixed(2)} s, floor ${(noopFloor.wallMs / 1000).toFixed(2)} s, one changed ${(changed.wallMs / 1000).toFixed(2)} s; ${alive} daemons alive`);
    return { apply, alive, noopFloor, plan, reapply, changed };
  } finally {
    await host.destroy();
  }
}

async function baselineOnFreshHost(p: Prepared, kind: 'floor_batch' | 'best order', label: string): Promise<BaselineRun> {
  if (!p.bundle) throw new Error(`no file bundle for ${p.workload.customers} customers: wgplay's first apply failed`);
  const host = await freshHost(`bench-${kind === 'floor_batch' ? 'f' : 'b'}${p.workload.customers}`);
  try {
    const script = kind === 'floor_batch' ? floorBatchScript(p.tasks, p.bundle) : bestOrderScript(p.tasks, p.bundle);
    const result = await viaSsh(host, script);
    // Daemons that die of a netlink overflow do so within moments of the burst.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const alive = daemonsAlive(host);
    const inventory = inventoryFor(join(workDir, `inv-${host.netns}`), [host]);
    const check = await wgplay(['plan', p.workload.playbook, '-i', inventory]);
    progress(`  ${label} ${kind} ${(result.wallMs / 1000).toFixed(2)} s exit ${result.code}, ${alive} daemons alive, wgplay plan exit ${check.code} (${check.changes} changes)${result.code ? `: ${result.stderr.slice(0, 500)}` : ''}`);
    return { wallMs: result.wallMs, code: result.code, sentBytes: result.sentBytes, alive, planCode: check.code, planChanges: check.changes, planChanged: check.changed ?? [], stderr: result.stderr.slice(0, 1500) };
  } finally {
    await host.destroy();
  }
}

// ---------------------------------------------------------------- a fleet

/** A fleet's run: what one gateway's has, but the no-op floor (measured per gateway, not per fleet). */
type FleetRun = Omit<WgplayRun, 'noopFloor'>;

async function fleetOnFreshHosts(p: Prepared, count: number, label: string): Promise<FleetRun> {
  const hosts = await freshFleet(count);
  try {
    const inventory = inventoryFor(join(workDir, `inv-fleet-${count}`), hosts);
    const pb = p.workload.playbook;
    const forks = ['--forks', String(count)];
    const apply = await measured(hosts, ['apply', pb, '-i', inventory, ...forks]);
    const alive = hosts.reduce((n, host) => n + daemonsAlive(host), 0);
    progress(`  ${label} ${count} gateways: apply ${(apply.wallMs / 1000).toFixed(2)} s exit ${apply.code}, ${alive} daemons alive${apply.error ? `: ${apply.error}` : ''}`);
    const plan = await measured(hosts, ['plan', pb, '-i', inventory, ...forks]);
    const reapply = await measured(hosts, ['apply', pb, '-i', inventory, ...forks]);
    const changed = await measured(hosts, ['apply', p.workload.changedPlaybook, '-i', inventory, ...forks]);
    progress(`  ${label} ${count} gateways: no-op plan ${(plan.wallMs / 1000).toFixed(2)} s (exit ${plan.code}), no-op apply ${(reapply.wallMs / 1000).toFixed(2)} s, one changed ${(changed.wallMs / 1000).toFixed(2)} s`);
    return { apply, alive, plan, reapply, changed };
  } finally {
    await Promise.allSettled(hosts.map((host) => host.destroy()));
  }
}

// ---------------------------------------------------------------- the machine

function machine(): string[] {
  const sh = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    } catch {
      return '?';
    }
  };
  const dirty = sh('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no', 'src']);
  return [
    `date:    ${new Date().toISOString()}`,
    `machine: nproc ${sh('nproc', [])}, ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, kernel ${release()}, node ${process.version}`,
    `load:    ${loadavg().map((l) => l.toFixed(2)).join(' ')} at the start (1/5/15 min; the machine is shared, compare ratios)`,
    `wgplay:  commit ${sh('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'])}${dirty ? ' (src modified)' : ''}`,
    `runs:    ${runs} interleaved per row (${Math.min(runs, bigRuns)} for N >= 1000), sizes ${sizes.join(', ')}${gateways ? `, ${gateways} gateways x ${GATEWAY_CUSTOMERS} customers` : ''}`,
  ];
}

// ---------------------------------------------------------------- the table

const s = (ms: number) => (Number.isFinite(ms) ? (ms / 1000).toFixed(2) : '-');
const x = (ratio: number) => (Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : '-');
const kib = (bytes: number) => (Number.isFinite(bytes) ? (bytes / 1024).toFixed(0) : '-');
const med = <T>(items: T[], f: (item: T) => number) => median(items.map(f));

function table(headers: string[], rows: string[][]): string {
  const cells = [headers, ...rows];
  const widths = headers.map((_, c) => Math.max(...cells.map((row) => (row[c] ?? '').length)));
  const line = (row: string[]) => `| ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(' | ')} |`;
  return [line(headers), `|${widths.map((w, c) => `${'-'.repeat(w + 1)}${c === 0 ? '-' : ':'}`).join('|')}|`, ...rows.map(line)].join('\n');
}

interface SizeResult {
  customers: number;
  wgplay: WgplayRun[];
  floor: BaselineRun[];
  best: BaselineRun[];
  ansible: { apply: AnsibleRun; noop: AnsibleRun; alive: number; planCode: number }[];
}

// ---------------------------------------------------------------- main

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    progress(`${signal}: destroying the test hosts...`);
    destroyAll()
      .then(() => rmSync(workDir, { recursive: true, force: true }))
      .finally(() => process.exit(130));
  });
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the bench needs root (network namespaces): run it as root');
  const started = performance.now();
  const header = machine();
  const inotify = raiseInotifyLimit(Math.max(...sizes, gateways * GATEWAY_CUSTOMERS));
  console.log(`# wgplay bench\n\n${header.join('\n')}\n${inotify}\n`);
  progress(inotify);
  if (withAnsible && !ansibleAvailable()) throw new Error('--ansible: ansible-playbook is not installed (scripts/install-deps.sh installs it)');

  // The fleet compares with ONE gateway of the same size, measured in the same runs.
  const allSizes = [...new Set([...sizes, ...(gateways ? [GATEWAY_CUSTOMERS] : [])])].sort((a, b) => a - b);
  const prepared = new Map(allSizes.map((n) => [n, prepare(n)]));
  const results = new Map<number, SizeResult>(allSizes.map((n) => [n, { customers: n, wgplay: [], floor: [], best: [], ansible: [] }]));
  const fleet: FleetRun[] = [];

  for (let run = 0; run < runs && !interrupted; run++) {
    for (const n of allSizes) {
      if (interrupted) break;
      if (run >= runsOf(n)) continue;
      const p = prepared.get(n)!;
      const r = results.get(n)!;
      const label = `run ${run + 1}/${runs}, ${n} customers:`;
      // wgplay first in the first run (its apply yields the baselines' file bundle), then rotated.
      const baselines = noBaselineSizes.includes(n) ? [] : ['floor_batch', 'best order'];
      const order = ['wgplay', ...baselines, ...(withAnsible && ansibleSizes.includes(n) ? ['ansible'] : [])];
      const rotated = [...order.slice(run % order.length), ...order.slice(0, run % order.length)];
      if (!p.bundle) rotated.sort((a, b) => (a === 'wgplay' ? -1 : b === 'wgplay' ? 1 : 0));
      for (const variant of rotated) {
        if (interrupted) break;
        if (variant === 'wgplay') r.wgplay.push(await wgplayOnFreshHost(p, label));
        else if (variant === 'ansible') r.ansible.push(await ansibleOnFreshHost(p, label));
        else if (p.bundle) (variant === 'floor_batch' ? r.floor : r.best).push(await baselineOnFreshHost(p, variant as 'floor_batch' | 'best order', label));
      }
    }
    if (gateways && !interrupted) fleet.push(await fleetOnFreshHosts(prepared.get(GATEWAY_CUSTOMERS)!, gateways, `run ${run + 1}/${runs}:`));
  }

  // ---- the table
  const cores = cpus().length;
  /** "58.1 (97 %)": the machine's CPU seconds during the run, and that as a share of cores x wall. */
  const machineCpu = (runs: CliRun[]) =>
    `${s(median(runs.map((v) => v.machineCpuMs)))} (${(median(runs.map((v) => v.machineCpuMs / (v.wallMs * cores))) * 100).toFixed(0)} %)`;
  const rows: string[][] = [];
  const one = results.get(GATEWAY_CUSTOMERS);
  for (const n of allSizes) {
    const r = results.get(n)!;
    const w = r.wgplay;
    const perRun = (i: number) => ({ w: w[i], f: r.floor[i], b: r.best[i] });
    const paired = Array.from({ length: w.length }, (_, i) => perRun(i));
    rows.push([
      `1 x ${n}${sizes.includes(n) ? '' : ' (fleet reference)'}`,
      s(med(w, (v) => v.apply.wallMs)),
      s(med(r.floor, (v) => v.wallMs)),
      s(med(r.best, (v) => v.wallMs)),
      x(med(paired, (v) => (v.f ? v.w!.apply.wallMs / v.f.wallMs : NaN))),
      x(med(paired, (v) => (v.b ? v.w!.apply.wallMs / v.b.wallMs : NaN))),
      s(med(w, (v) => v.plan.wallMs)),
      s(med(w, (v) => v.reapply.wallMs)),
      s(med(w, (v) => v.noopFloor.wallMs)),
      x(med(w, (v) => v.plan.wallMs / v.noopFloor.wallMs)),
      x(med(w, (v) => v.reapply.wallMs / v.noopFloor.wallMs)),
      s(med(w, (v) => v.changed.wallMs)),
      `${med(w, (v) => v.apply.roundTrips)}/${med(w, (v) => v.plan.roundTrips)}/${med(w, (v) => v.reapply.roundTrips)}/${med(w, (v) => v.changed.roundTrips)}`,
      `${kib(med(w, (v) => v.apply.sentBytes))}/${kib(med(w, (v) => v.plan.sentBytes))}/${kib(med(w, (v) => v.changed.sentBytes))} (${kib(med(r.floor, (v) => v.sentBytes))}/${kib(med(r.best, (v) => v.sentBytes))})`,
      `${[w, r.floor, r.best].map((variant) => (variant.length ? Math.min(...variant.map((v) => v.alive)) : '-')).join('/')} of ${n}`,
      `${r.floor.filter((v) => v.code === 0 && v.planCode === 0).length}/${r.floor.length}, ${r.best.filter((v) => v.code === 0 && v.planCode === 0).length}/${r.best.length}`,
      `${s(med(w, (v) => v.apply.cpuMs))}/${s(med(w, (v) => v.plan.cpuMs))}`,
      `${machineCpu(w.map((v) => v.apply))}/${machineCpu(w.map((v) => v.plan))}`,
      `${med(w, (v) => v.apply.maxRssMiB).toFixed(0)}/${med(w, (v) => v.plan.maxRssMiB).toFixed(0)}`,
    ]);
  }
  if (fleet.length) {
    const ratio = (f: (v: FleetRun) => number, g: (v: WgplayRun) => number) =>
      x(median(fleet.map((v, i) => (one?.wgplay[i] ? f(v) / g(one.wgplay[i]!) : NaN))));
    rows.push([
      `${gateways} x ${GATEWAY_CUSTOMERS} (--forks ${gateways})`,
      `${s(med(fleet, (v) => v.apply.wallMs))} (${ratio((v) => v.apply.wallMs, (v) => v.apply.wallMs)} of 1 x ${GATEWAY_CUSTOMERS})`,
      '-',
      '-',
      '-',
      '-',
      `${s(med(fleet, (v) => v.plan.wallMs))} (${ratio((v) => v.plan.wallMs, (v) => v.plan.wallMs)})`,
      `${s(med(fleet, (v) => v.reapply.wallMs))} (${ratio((v) => v.reapply.wallMs, (v) => v.reapply.wallMs)})`,
      '-',
      '-',
      '-',
      s(med(fleet, (v) => v.changed.wallMs)),
      `${med(fleet, (v) => v.apply.roundTrips)}/${med(fleet, (v) => v.plan.roundTrips)}/${med(fleet, (v) => v.reapply.roundTrips)}/${med(fleet, (v) => v.changed.roundTrips)}`,
      `${kib(med(fleet, (v) => v.apply.sentBytes))}/${kib(med(fleet, (v) => v.plan.sentBytes))}/${kib(med(fleet, (v) => v.changed.sentBytes))}`,
      `${Math.min(...fleet.map((v) => v.alive))} of ${gateways * GATEWAY_CUSTOMERS}`,
      '-',
      `${s(med(fleet, (v) => v.apply.cpuMs))}/${s(med(fleet, (v) => v.plan.cpuMs))}`,
      `${machineCpu(fleet.map((v) => v.apply))}/${machineCpu(fleet.map((v) => v.plan))}`,
      `${med(fleet, (v) => v.apply.maxRssMiB).toFixed(0)}/${med(fleet, (v) => v.plan.maxRssMiB).toFixed(0)}`,
    ]);
  }
  console.log(
    table(
      [
        'gateways x customers',
        'first apply s',
        'floor_batch s',
        'best order s',
        'apply / floor_batch',
        'apply / best order',
        'no-op plan s',
        'no-op apply s',
        'no-op floor s',
        'plan / floor',
        'no-op apply / floor',
        'one changed s',
        'RT apply/plan/no-op apply/changed',
        'KiB sent per host: apply/no-op/changed (floor_batch/best)',
        'daemons alive (min): wgplay/floor/best',
        'baselines converged: floor, best',
        'controller CPU s: apply/no-op',
        'machine CPU s (busy share of all cores): apply/no-op',
        'controller peak MiB: apply/no-op',
      ],
      rows,
    ),
  );

  const ansibleRows = [...results.values()].filter((r) => r.ansible.length);
  if (ansibleRows.length) {
    console.log('\nAnsible (ansible-core, pipelining, ControlPersist) doing the same job, same runs:\n');
    console.log(
      table(
        ['gateways x customers', 'Ansible first apply s', 'wgplay first apply s', 'Ansible no-op s', 'wgplay no-op apply s', 'Ansible converged (wgplay plan exit 0)', 'daemons alive (min)'],
        ansibleRows.map((r) => [
          `1 x ${r.customers}`,
          s(med(r.ansible, (v) => v.apply.wallMs)),
          s(med(r.wgplay, (v) => v.apply.wallMs)),
          s(med(r.ansible, (v) => v.noop.wallMs)),
          s(med(r.wgplay, (v) => v.reapply.wallMs)),
          `${r.ansible.filter((v) => v.apply.code === 0 && v.planCode === 0).length}/${r.ansible.length}`,
          `${Math.min(...r.ansible.map((v) => v.alive))} of ${r.customers}`,
        ]),
      ),
    );
  }

  // ---- where wgplay's first apply goes: its script's phases on the host, then verify
  const phaseLines = [...results.values()].flatMap((r) => {
    const timed = r.wgplay.map((v) => v.apply.phaseSeconds).filter((p): p is Record<string, number> => p !== undefined);
    if (!timed.length) return [];
    const names = [...new Set(timed.flatMap((p) => Object.keys(p)))];
    const medians = Object.fromEntries(names.map((name) => [name, median(timed.map((p) => p[name] ?? 0))]));
    const total = med(r.wgplay, (v) => v.apply.wallMs) / 1000;
    const script = names.filter((name) => name !== 'verify').reduce((sum, name) => sum + medians[name]!, 0);
    return [`- 1 x ${r.customers}: ${s(total * 1000)} s = script ${script.toFixed(2)} s${phasesText(medians)}, the rest (node, loading, connect, lock, facts, plan) ${(total - script - (medians.verify ?? 0)).toFixed(2)} s`];
  });
  if (phaseLines.length) console.log(`\nWhere the first apply goes (medians; the script's phases on the host, verify on the controller):\n${phaseLines.join('\n')}`);

  // ---- the targets of issue 10, read off the same numbers
  const at = (n: number) => results.get(n);
  const targets: string[] = [];
  const verdict = (ok: boolean) => (ok ? 'MET' : 'NOT MET');
  const r100 = at(100);
  if (r100?.wgplay.length) {
    const wf = median(r100.wgplay.map((v, i) => (r100.floor[i] ? v.apply.wallMs / r100.floor[i]!.wallMs : NaN)));
    const wb = median(r100.wgplay.map((v, i) => (r100.best[i] ? v.apply.wallMs / r100.best[i]!.wallMs : NaN)));
    const plan = med(r100.wgplay, (v) => v.plan.wallMs);
    const reapply = med(r100.wgplay, (v) => v.reapply.wallMs);
    const pf = med(r100.wgplay, (v) => Math.max(v.plan.wallMs, v.reapply.wallMs) / v.noopFloor.wallMs);
    targets.push(`first apply N=100 <= 0.7x floor_batch: ${x(wf)} ${verdict(wf <= 0.7)}`);
    targets.push(`first apply N=100 <= 1.1x best order: ${x(wb)} ${verdict(wb <= 1.1)}`);
    targets.push(`no-op N=100 <= 0.6 s: plan ${s(plan)} s, apply ${s(reapply)} s ${verdict(Math.max(plan, reapply) <= 600)}`);
    targets.push(`no-op N=100 <= 1.4x one ssh + fact dump: ${x(pf)} (the slower of plan and apply) ${verdict(pf <= 1.4)}`);
  }
  const r1000 = at(1000);
  if (r1000?.wgplay.length) {
    const alive = Math.min(...r1000.wgplay.map((v) => v.alive));
    const converged = r1000.wgplay.every((v) => v.apply.code === 0);
    const noop = Math.max(med(r1000.wgplay, (v) => v.plan.wallMs), med(r1000.wgplay, (v) => v.reapply.wallMs));
    targets.push(`N=1000 first apply converges, every daemon alive: ${converged ? 'converged' : 'FAILED'}, ${alive} of 1000 alive ${verdict(converged && alive === 1000)}`);
    targets.push(`N=1000 no-op <= 1.5 s: ${s(noop)} s ${verdict(noop <= 1500)}`);
  }
  if (fleet.length && one?.wgplay.length) {
    const ratio = (f: (v: FleetRun) => number, g: (v: WgplayRun) => number) => median(fleet.map((v, i) => (one.wgplay[i] ? f(v) / g(one.wgplay[i]!) : NaN)));
    const noop = ratio((v) => Math.max(v.plan.wallMs, v.reapply.wallMs), (v) => Math.max(v.plan.wallMs, v.reapply.wallMs));
    const apply = ratio((v) => v.apply.wallMs, (v) => v.apply.wallMs);
    targets.push(`${gateways} gateways no-op <= 2x one gateway's: ${x(noop)} ${verdict(noop <= 2)}`);
    targets.push(`${gateways} gateways first apply <= 3x one gateway's: ${x(apply)} ${verdict(apply <= 3)}`);
  }
  const allRuns = [...results.values()].flatMap((r) => r.wgplay);
  const rtOk = allRuns.every((v) => v.apply.roundTrips === 3 && v.changed.roundTrips === 3 && v.plan.roundTrips === 1 && v.reapply.roundTrips === 1);
  targets.push(`3 round trips per apply, 1 per no-op, whatever N: ${verdict(rtOk)}`);
  console.log(`\nTargets of issue 10 (medians of the runs; ratios within each run):\n${targets.map((t) => `- ${t}`).join('\n')}`);

  const failures = [...results.values()].flatMap((r) => [
    ...r.wgplay.flatMap((v) => [v.apply, v.plan, v.reapply, v.changed].filter((c) => c.error).map((c) => `${r.customers} customers, wgplay: ${c.error}`)),
    ...[...r.floor, ...r.best].filter((v) => v.code !== 0 || v.planCode !== 0).map((v) => `${r.customers} customers, baseline exit ${v.code}, wgplay plan exit ${v.planCode} (${v.planChanges} changes: ${v.planChanged.join('; ')}) ${v.stderr}`),
  ]);
  for (const f of fleet) for (const c of [f.apply, f.plan, f.reapply, f.changed]) if (c.error) failures.push(`fleet: ${c.error}`);
  if (failures.length) console.log(`\nFAILURES (their numbers are not comparable):\n${[...new Set(failures)].join('\n')}`);
  console.log(`\ntotal bench time ${((performance.now() - started) / 1000).toFixed(0)} s; load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ header, inotify, results: [...results.values()], fleet }, null, 2));
}

async function ansibleOnFreshHost(p: Prepared, label: string): Promise<SizeResult['ansible'][number]> {
  const host = await freshHost(`bench-a${p.workload.customers}`);
  try {
    const result = await ansibleRun(host, p.tasks, p.bundle, workDir);
    const alive = daemonsAlive(host);
    const check = await wgplay(['plan', p.workload.playbook, '-i', inventoryFor(join(workDir, `inv-${host.netns}`), [host])]);
    progress(`  ${label} ansible apply ${s(result.apply.wallMs)} s exit ${result.apply.code}, no-op ${s(result.noop.wallMs)} s, ${alive} alive, wgplay plan exit ${check.code}${check.changed?.length ? ` (${check.changed.join('; ')})` : ''}`);
    if (result.apply.code !== 0) progress(result.apply.output);
    return { ...result, alive, planCode: check.code };
  } finally {
    await host.destroy();
  }
}

main()
  .catch((error) => {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? error}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await destroyAll();
    rmSync(workDir, { recursive: true, force: true });
  });
