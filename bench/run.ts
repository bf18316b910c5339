// wgplay benchmarks: prints numbers, asserts nothing. Run as root: `npm run bench`.
// See bench/README.md for what every number means and the numbers last measured.
//
//   1. Real hosts (disposable network + mount namespaces with sshd, test/e2e/harness.ts):
//      for N customers of `wireguard_gateway`, on a FRESH host each time, the real CLI's
//      full apply, no-op plan, no-op re-apply; on ANOTHER fresh host, the same compiled
//      apply script through one OpenSSH session (the "hand-written script" baseline),
//      with a breakdown of where wgplay's time goes.
//   2. Pure planning without a host (synthetic facts) for 100 and 1000 customers, and
//      CLI startup + `wgplay validate` for 1000 customers.
//
// Options: `node dist/bench/run.js [--sizes 1,10,100] [--plan-sizes 100,1000] [--skip-hosts] [--trace] [--json FILE]`
// (--trace: the baseline script runs under `set -x` with timestamps and the slowest
// commands are printed per size; it slows the baseline a little.
// --wireguard-go-probe: on one more fresh host, how long one `ip -batch` of 300 rule and
// route changes takes with 0, 10, 50, 100 idle wireguard-go daemons running.)
// Progress goes to stderr, tables to stdout.

import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem, release } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { blankFacts } from '../src/facts/blankFacts.js';
import { compileApplyScript, PHASE_MARKER } from '../src/engine/compile.js';
import { gatherFacts, planTasks, prepareTasks, type ScriptRunner } from '../src/engine/run.js';
import { loadRun } from '../src/engine/runPlaybook.js';
import { buildFactScript } from '../src/facts/factScript.js';
import { openTransport } from '../src/transport/index.js';
import { startTestHost, type TestHost } from '../test/e2e/harness.js';

// dist/bench/run.js -> the repository root.
const ROOT = new URL('../../', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/wgplay.js');

// ---------------------------------------------------------------- options

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const sizes = (option('--sizes') ?? '1,10,100').split(',').map(Number);
const planSizes = (option('--plan-sizes') ?? '100,1000').split(',').map(Number);
const skipHosts = process.argv.includes('--skip-hosts');
const jsonOut = option('--json');
/** Run the baseline script under `set -x` with timestamps and print the slowest commands (skews the baseline a little). */
const trace = process.argv.includes('--trace');
/** Time 300 ip rule/route changes with 0..100 idle wireguard-go daemons running on the host. */
const wireguardGoProbe = process.argv.includes('--wireguard-go-probe');

// ---------------------------------------------------------------- helpers

const progress = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const ms = (value: number | undefined, digits = 0) => (value === undefined || Number.isNaN(value) ? '-' : value.toFixed(digits));

function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((row) => row.map(String))];
  const widths = headers.map((_, c) => Math.max(...cells.map((row) => (row[c] ?? '').length)));
  const line = (row: string[]) => `| ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(' | ')} |`;
  return [line(headers), `|${widths.map((w, c) => (c === 0 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

interface Proc {
  code: number;
  stdout: string;
  stderr: string;
  wallMs: number;
}

function runProcess(command: string, args: string[], stdinFile?: string, onStdout?: (chunk: string, atMs: number) => void): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const fd = stdinFile ? openSync(stdinFile, 'r') : undefined;
    const started = performance.now();
    const child = spawn(command, args, { stdio: [fd ?? 'ignore', 'pipe', 'pipe'] });
    if (fd !== undefined) closeSync(fd);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk) => {
      stdout += chunk;
      onStdout?.(String(chunk), performance.now() - started);
    });
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, wallMs: performance.now() - started }));
  });
}

const wgplay = (args: string[]) => runProcess(process.execPath, [BIN, ...args]);

interface JsonHost {
  host: string;
  status: string;
  error?: string;
  roundTrips?: number;
  durationMs?: number;
  tasks: { changes: unknown[] }[];
}

interface CliRun {
  wallMs: number;
  code: number;
  status: string;
  roundTrips?: number;
  durationMs?: number;
  changes: number;
  error?: string;
}

async function wgplayJson(args: string[]): Promise<CliRun> {
  const result = await wgplay([...args, '--json']);
  let host: JsonHost | undefined;
  try {
    host = (JSON.parse(result.stdout) as { hosts: JsonHost[] }).hosts[0];
  } catch {
    return { wallMs: result.wallMs, code: result.code, status: 'no JSON', changes: 0, error: `${result.stdout}\n${result.stderr}`.trim().slice(0, 2000) };
  }
  return {
    wallMs: result.wallMs,
    code: result.code,
    status: host?.status ?? 'no host',
    roundTrips: host?.roundTrips,
    durationMs: host?.durationMs,
    changes: host?.tasks.reduce((n, task) => n + task.changes.length, 0) ?? 0,
    error: host?.error?.slice(0, 2000),
  };
}

// ---------------------------------------------------------------- the playbook

/** A made-up but valid WireGuard public key (32 bytes, base64), distinct per customer. */
const fakeKey = (i: number) => createHash('sha256').update(`wgplay-bench-customer-${i}`).digest('base64');

function gatewayPlaybook(customers: number, publicInterface: string): unknown[] {
  return [
    {
      name: 'bench gateway',
      hosts: 'all',
      tasks: [
        {
          name: 'gateway',
          wireguard_gateway: {
            public_interface: publicInterface,
            public_address: '203.0.113.2',
            ssh: { interfaces: 'any' },
            services: [{ protocol: 'tcp', port: 8080 }],
            pools: {
              listen_ports: '51000-51999',
              tables: '1000-2999',
              our_addresses: '10.200.0.0/16',
              customer_addresses: '10.100.0.0/16',
            },
            customers: Array.from({ length: customers }, (_, i) => ({
              name: `c${i}`,
              public_key: fakeKey(i),
              address: '10.0.0.1',
              our_address: '10.0.0.2',
            })),
          },
        },
      ],
    },
  ];
}

const workDir = mkdtempSync('/tmp/wgplay-bench-');

function writePlaybook(customers: number, publicInterface: string): string {
  const path = join(workDir, `gateway-${customers}-${publicInterface}.yaml`);
  writeFileSync(path, stringify(gatewayPlaybook(customers, publicInterface)));
  return path;
}

/** An inventory that needs no host at all (loadRun never contacts one anyway). */
function localInventory(): string {
  const path = join(workDir, 'local.inventory.yaml');
  writeFileSync(path, stringify({ all: { hosts: { gateway: { ansible_connection: 'local' } } } }));
  return path;
}


// ---------------------------------------------------------------- hosts and cleanup

const liveHosts = new Set<TestHost>();

// CPU time, robust against other load on the machine (wall time is not): processes'
// user+sys once their parent has reaped them (cutime+cstime in /proc/PID/stat).
//  - local:  this process's reaped children (the wgplay CLI, the ssh client).
//  - remote: the test host's listening sshd's reaped children = every session and all
//    it ran (bash, wg, ip, nft, mv...). Not counted: daemons that detach from the
//    session (wireguard-go) after they have forked away.
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

function reapedCpuMs(pid: number | 'self'): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3 (state)
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLK_TCK; // cutime (16), cstime (17)
}

function sshdPid(host: TestHost): number {
  const record = JSON.parse(readFileSync(join(host.host.stateDir, 'host.json'), 'utf8')) as { sshd?: { pid: number } };
  if (!record.sshd) throw new Error(`no sshd recorded for ${host.netns}`);
  return record.sshd.pid;
}

interface Cpu {
  localCpuMs: number;
  remoteCpuMs: number;
}

/** Runs fn and returns its result with the local and remote (host) CPU time it caused. */
async function withCpu<T>(host: TestHost, fn: () => Promise<T>): Promise<T & Cpu> {
  const sshd = sshdPid(host);
  const local0 = reapedCpuMs('self');
  const remote0 = reapedCpuMs(sshd);
  const result = await fn();
  // sshd reaps a finished connection's process asynchronously: wait until it is counted.
  let remote = reapedCpuMs(sshd);
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const again = reapedCpuMs(sshd);
    if (again === remote && i >= 2) break;
    remote = again;
  }
  return { ...result, localCpuMs: reapedCpuMs('self') - local0, remoteCpuMs: remote - remote0 };
}

async function freshHost(name: string): Promise<TestHost> {
  const started = performance.now();
  const host = await startTestHost({ name });
  liveHosts.add(host);
  progress(`  host ${host.netns} up (${ms(performance.now() - started)} ms), ssh ${host.ssh.host}:${host.ssh.port}`);
  return host;
}

async function destroyHost(host: TestHost): Promise<void> {
  liveHosts.delete(host);
  const started = performance.now();
  await host.destroy();
  progress(`  host ${host.netns} destroyed (${ms(performance.now() - started)} ms)`);
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    progress(`${signal}: destroying ${liveHosts.size} test host(s)...`);
    Promise.allSettled([...liveHosts].map((host) => host.destroy()))
      .then(() => rmSync(workDir, { recursive: true, force: true }))
      .finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------- 1. real hosts

interface HostBench {
  customers: number;
  apply: CliRun & Cpu;
  plan: CliRun & Cpu;
  reapply: CliRun & Cpu;
  baseline: {
    sshNoopMs: number;
    sshNoopHostCpuMs: number;
    connectMs: number;
    factsMs: number;
    factsRoundTrips: number;
    expandPlanMs: number;
    compileMs: number;
    scriptBytes: number;
    scriptLines: number;
    changes: number;
    applyMs: number;
    applyCode: number;
    applyLocalCpuMs: number;
    applyRemoteCpuMs: number;
    applyStderr: string;
    /** Phase name -> ms from the start of the ssh process to its marker line, in order ("done" last). */
    phaseMarks: [string, number][];
    /** With --trace: per command name, total ms and count, slowest first. */
    commands?: { command: string; ms: number; count: number }[];
    /** With --trace: the same for the fact script on the converged host. */
    factCommands?: { command: string; ms: number; count: number }[];
    /** The fact script alone through one OpenSSH session: on the fresh host, on the converged host. */
    factsFreshOpenSsh: { wallMs: number; hostCpuMs: number };
    /** "kernel" or "wireguard-go" (the host kernel has no WireGuard), daemons and their total RSS after the apply. */
    wireguard: { kind: string; daemons: number; rssMiB: number };
    factsConvergedOpenSsh: { wallMs: number; hostCpuMs: number };
    verifyMs: number;
    verifyPlanMs: number;
    leftover: number;
  };
}

function sshArgs(host: TestHost): string[] {
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

/** Wraps a runner and times each remote command. */
function timed(runner: ScriptRunner): ScriptRunner & { calls: { label?: string; ms: number }[] } {
  const calls: { label?: string; ms: number }[] = [];
  return {
    calls,
    async run(script, options) {
      const started = performance.now();
      try {
        return await runner.run(script, options);
      } finally {
        calls.push({ label: options?.label, ms: performance.now() - started });
      }
    },
  };
}

async function benchHosts(customers: number): Promise<HostBench> {
  progress(`${customers} customer(s): wgplay CLI on a fresh host`);
  const pb = writePlaybook(customers, 'mgmt0');

  let apply: CliRun & Cpu, plan: CliRun & Cpu, reapply: CliRun & Cpu;
  const a = await freshHost(`bench-a${customers}`);
  try {
    const inventory = a.writeInventory();
    apply = await withCpu(a, () => wgplayJson(['apply', pb, '-i', inventory]));
    progress(`  apply:    ${ms(apply.wallMs)} ms wall, exit ${apply.code}, ${apply.roundTrips} round trips, ${apply.changes} changes${apply.error ? `\n${apply.error}` : ''}`);
    plan = await withCpu(a, () => wgplayJson(['plan', pb, '-i', inventory]));
    progress(`  plan:     ${ms(plan.wallMs)} ms wall, exit ${plan.code}, ${plan.roundTrips} round trips, ${plan.changes} changes${plan.error ? `\n${plan.error}` : ''}`);
    reapply = await withCpu(a, () => wgplayJson(['apply', pb, '-i', inventory]));
    progress(`  re-apply: ${ms(reapply.wallMs)} ms wall, exit ${reapply.code}, ${reapply.roundTrips} round trips, ${reapply.changes} changes${reapply.error ? `\n${reapply.error}` : ''}`);
  } finally {
    await destroyHost(a);
  }

  progress(`${customers} customer(s): baseline (wgplay's compiled script, one OpenSSH session) on another fresh host`);
  const b = await freshHost(`bench-b${customers}`);
  try {
    const inventory = b.writeInventory();
    const ssh = sshArgs(b);

    // What one OpenSSH session costs by itself (connect, key exchange, auth, `true`).
    const noops: number[] = [];
    const noopCpu: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await withCpu(b, () => runProcess('ssh', [...ssh, 'true']));
      if (r.code !== 0) throw new Error(`ssh ${b.ssh.host}:${b.ssh.port} true: exit ${r.code}: ${r.stderr}`);
      noops.push(r.wallMs);
      noopCpu.push(r.remoteCpuMs);
    }

    // wgplay's own pipeline through the library, timed step by step (what the CLI does).
    const run = loadRun(pb, inventory);
    const { host, tasks: invocations } = run.hosts[0]!;
    let started = performance.now();
    const transport = await openTransport(host);
    const connectMs = performance.now() - started;
    let script: string;
    let factsMs: number, factsRoundTrips: number, expandPlanMs: number, compileMs: number, changes: number;
    let verifyMs: number, verifyPlanMs: number, leftover: number;
    let applyResult: Proc & Cpu;
    const phaseMarks: [string, number][] = [];
    let commands: { command: string; ms: number; count: number }[] | undefined;
    let factCommands: { command: string; ms: number; count: number }[] | undefined;
    let factsFreshOpenSsh: { wallMs: number; hostCpuMs: number } | undefined;
    let wireguard: { kind: string; daemons: number; rssMiB: number } | undefined;
    let factsConvergedOpenSsh: { wallMs: number; hostCpuMs: number } | undefined;
    try {
      const runner = timed(transport);
      started = performance.now();
      const gathered = await gatherFacts(runner, invocations);
      factsMs = performance.now() - started;
      factsRoundTrips = runner.calls.length;
      started = performance.now();
      const tasks = prepareTasks(invocations, gathered.facts);
      const planned = planTasks(tasks, gathered.facts);
      expandPlanMs = performance.now() - started;
      const all = planned.flatMap((task) => task.changes);
      changes = all.length;
      started = performance.now();
      script = compileApplyScript(all);
      compileMs = performance.now() - started;
      const scriptPath = join(workDir, `apply-${customers}.sh`);
      // --trace: xtrace with a timestamp per command to fd 9, sent back on stderr at the end.
      writeFileSync(scriptPath, trace ? traceWrap(script) : script, { mode: 0o600 });

      // The fact script alone through OpenSSH (wall and host CPU), fresh host.
      const factPath = join(workDir, `facts-${customers}.sh`);
      writeFileSync(factPath, buildFactScript(gathered.request), { mode: 0o600 });
      const factsFresh = await withCpu(b, () => runProcess('ssh', [...ssh, 'bash -s'], factPath));
      factsFreshOpenSsh = { wallMs: factsFresh.wallMs, hostCpuMs: factsFresh.remoteCpuMs };

      // THE BASELINE: the same work as a hand-written script, one SSH session.
      progress(`  baseline: ssh ... bash -s < ${scriptPath} (${script.length} bytes)`);
      // Phase markers (printf by the script as it enters each phase) timed as they arrive.
      let pending = '';
      applyResult = await withCpu(b, () =>
        runProcess('ssh', [...ssh, 'bash -s'], scriptPath, (chunk, atMs) => {
          const lines = (pending + chunk).split('\n');
          pending = lines.pop()!;
          for (const line of lines) if (line.startsWith(PHASE_MARKER)) phaseMarks.push([line.slice(PHASE_MARKER.length), atMs]);
        }),
      );
      progress(`  baseline: ${ms(applyResult.wallMs)} ms wall, exit ${applyResult.code}`);
      if (trace) commands = traceCommands(applyResult.stderr);
      if (trace) applyResult.stderr = applyResult.stderr.split('\n').filter((line) => !/^\++\d+\.\d+ /.test(line)).join('\n');

      // Which WireGuard the host got (wireguard-go makes TUN devices), and what the daemons weigh.
      const impl = await b.exec(
        `if [ -e /sys/class/net/wg-c0/tun_flags ]; then echo wireguard-go; else echo kernel; fi; ` +
          // Only this host's daemons: the PID namespace is the machine's.
          `self=$(readlink /proc/self/ns/net); for p in $(pgrep -x wireguard-go); do ` +
          `[ "$(readlink /proc/$p/ns/net 2>/dev/null)" = "$self" ] && ps -o rss= -p $p; done | awk '{ s += $1; n++ } END { print n + 0, s + 0 }'`,
      );
      const [kind, daemons] = impl.stdout.trim().split('\n');
      const [count, rssKiB] = (daemons ?? '0 0').split(' ').map(Number);
      wireguard = { kind: kind ?? '?', daemons: count ?? 0, rssMiB: (rssKiB ?? 0) / 1024 };

      const factsDone = await withCpu(b, () => runProcess('ssh', [...ssh, 'bash -s'], factPath));
      factsConvergedOpenSsh = { wallMs: factsDone.wallMs, hostCpuMs: factsDone.remoteCpuMs };
      if (trace) {
        const tracedFactPath = join(workDir, `facts-${customers}-traced.sh`);
        writeFileSync(tracedFactPath, traceWrap(buildFactScript(gathered.request)), { mode: 0o600 });
        factCommands = traceCommands((await runProcess('ssh', [...ssh, 'bash -s'], tracedFactPath)).stderr);
      }

      // wgplay's verify step on the converged host: facts again, plan must be empty.
      const before = runner.calls.length;
      started = performance.now();
      // (No earlier request passed: gatherFacts's third parameter is changing; a converged host needs no second command anyway.)
      const verified = await gatherFacts(runner, invocations);
      verifyMs = performance.now() - started;
      if (runner.calls.length - before !== 1) progress(`  note: verify took ${runner.calls.length - before} remote commands`);
      const verifyPlans: number[] = [];
      let after = planTasks(verified.tasks, verified.facts);
      for (let i = 0; i < 5; i++) {
        started = performance.now();
        after = planTasks(prepareTasks(invocations, verified.facts), verified.facts);
        verifyPlans.push(performance.now() - started);
      }
      verifyPlanMs = median(verifyPlans);
      leftover = after.reduce((n, task) => n + task.changes.length, 0);
      // Anything left means the host did not converge: name it, it is a bug to chase.
      for (const change of after.flatMap((task) => task.changes)) progress(`  NOT CONVERGED: ${change.resource}: ${change.diff.split('\n').join(' | ')}`);
    } finally {
      await transport.close().catch(() => undefined);
    }
    return {
      customers,
      apply,
      plan,
      reapply,
      baseline: {
        sshNoopMs: median(noops),
        sshNoopHostCpuMs: median(noopCpu),
        connectMs,
        factsMs,
        factsRoundTrips,
        expandPlanMs,
        compileMs,
        scriptBytes: Buffer.byteLength(script),
        scriptLines: script.split('\n').length - 1,
        changes,
        applyMs: applyResult.wallMs,
        applyCode: applyResult.code,
        applyLocalCpuMs: applyResult.localCpuMs,
        applyRemoteCpuMs: applyResult.remoteCpuMs,
        applyStderr: applyResult.stderr.trim().slice(0, 2000),
        phaseMarks,
        commands,
        factCommands,
        factsFreshOpenSsh: factsFreshOpenSsh!,
        wireguard: wireguard!,
        factsConvergedOpenSsh: factsConvergedOpenSsh!,
        verifyMs,
        verifyPlanMs,
        leftover,
      },
    };
  } finally {
    await destroyHost(b);
  }
}

/** The script under `set -x` with a timestamp per command; the trace comes back on stderr at exit. */
function traceWrap(script: string): string {
  return (
    `exec 9>/tmp/wgplay-bench-trace; trap 'set +x; cat /tmp/wgplay-bench-trace >&2; rm -f /tmp/wgplay-bench-trace' EXIT\n` +
    `BASH_XTRACEFD=9; PS4='+\${EPOCHREALTIME} '; set -x\n${script}`
  );
}

/** xtrace lines "+1732523.123456 cmd args" (more "+" inside functions): time until the next line, summed per command. */
function traceCommands(stderr: string): { command: string; ms: number; count: number }[] {
  const events = stderr
    .split('\n')
    .map((line) => /^\++(\d+\.\d+) (\S+)/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ at: Number(m[1]) * 1000, command: m[2]! }));
  const totals = new Map<string, { command: string; ms: number; count: number }>();
  events.forEach((event, i) => {
    const next = events[i + 1];
    if (!next) return;
    const entry = totals.get(event.command) ?? { command: event.command, ms: 0, count: 0 };
    entry.ms += next.at - event.at;
    entry.count += 1;
    totals.set(event.command, entry);
  });
  return [...totals.values()].sort((a, b) => b.ms - a.ms);
}

/**
 * Every netlink change wakes every wireguard-go daemon (each listens to route and link
 * events): the same `ip -batch` (100 rules + 200 routes on veth devices, nothing to do
 * with WireGuard) with more and more idle daemons running.
 */
async function probeWireguardGo(): Promise<{ daemons: number; addMs: number; delMs: number }[]> {
  progress('wireguard-go probe: ip -batch of 300 rule/route changes with 0, 10, 50, 100 wireguard-go daemons');
  const host = await freshHost('bench-wggo');
  try {
    let links = '';
    let add = '';
    for (let i = 0; i < 100; i++) {
      links += `link add bv${i} type veth peer name bp${i}\nlink set bv${i} up\nlink set bp${i} up\n`;
      add += `route replace 10.0.0.1 dev bv${i} table ${1000 + i}\nrule add from 10.200.0.${i + 1} table ${1000 + i} priority 100\nroute replace 10.100.0.${i + 1} dev bv${i} table main\n`;
    }
    const del = add.replace(/route replace/g, 'route del').replace(/rule add/g, 'rule del');
    await host.host.writeFile('/run/bench-links', links, 0o600);
    await host.host.writeFile('/run/bench-add', add, 0o600);
    await host.host.writeFile('/run/bench-del', del, 0o600);
    const out = await host.run(`
ip -batch /run/bench-links
t() { local s=$EPOCHREALTIME; ip -batch "$1" >/dev/null; echo $(( (\${EPOCHREALTIME/./} - \${s/./}) / 1000 )); }
n=0
for want in 0 10 50 100; do
  while [ $n -lt $want ]; do wireguard-go bwg$n </dev/null >/dev/null 2>&1; n=$((n + 1)); done
  echo "$want $(t /run/bench-add) $(t /run/bench-del)"
done`);
    return out
      .trim()
      .split('\n')
      .map((line) => line.split(' ').map(Number))
      .map(([daemons, addMs, delMs]) => ({ daemons: daemons!, addMs: addMs!, delMs: delMs! }));
  } finally {
    await destroyHost(host);
  }
}

// ---------------------------------------------------------------- 2. planning without a host

interface PlanBench {
  customers: number;
  runs: number;
  loadRunMs: number;
  expandMs: number;
  planMs: number;
  compileMs: number;
  tasks: number;
  changes: number;
  scriptBytes: number;
}

function benchPlanning(customers: number): PlanBench {
  const pb = writePlaybook(customers, 'eth0');
  const inventory = localInventory();
  const runs = customers >= 1000 ? 7 : 11;
  const loads: number[] = [];
  const expands: number[] = [];
  const plans: number[] = [];
  const compiles: number[] = [];
  let tasks = 0;
  let changes = 0;
  let scriptBytes = 0;
  // One untimed warm-up run (JIT, module caches), then `runs` timed ones.
  for (let i = 0; i <= runs; i++) {
    let started = performance.now();
    const loaded = loadRun(pb, inventory);
    const loadMs = performance.now() - started;
    const invocations = loaded.hosts[0]!.tasks;
    const facts = blankFacts();
    started = performance.now();
    const prepared = prepareTasks(invocations, facts);
    const expandMs = performance.now() - started;
    started = performance.now();
    const planned = planTasks(prepared, facts);
    const planMs = performance.now() - started;
    const errors = planned.filter((task) => task.error);
    if (errors.length) throw new Error(`planning ${customers} customers failed: ${errors[0]!.name}: ${errors[0]!.error}`);
    started = performance.now();
    const script = compileApplyScript(planned.flatMap((task) => task.changes));
    const compileMs = performance.now() - started;
    if (i === 0) continue;
    loads.push(loadMs);
    expands.push(expandMs);
    plans.push(planMs);
    compiles.push(compileMs);
    tasks = prepared.length;
    changes = planned.reduce((n, task) => n + task.changes.length, 0);
    scriptBytes = Buffer.byteLength(script);
  }
  return { customers, runs, loadRunMs: median(loads), expandMs: median(expands), planMs: median(plans), compileMs: median(compiles), tasks, changes, scriptBytes };
}

async function benchCli(customers: number): Promise<{ customers: number; runs: number; versionMs: number; validateMs: number; validateCode: number; validateOutput: string }> {
  const pb = writePlaybook(customers, 'eth0');
  const inventory = localInventory();
  const runs = 5;
  const versions: number[] = [];
  const validates: number[] = [];
  let last: Proc | undefined;
  await wgplay(['--version']); // warm the file cache
  for (let i = 0; i < runs; i++) {
    versions.push((await wgplay(['--version'])).wallMs);
    last = await wgplay(['validate', pb, '-i', inventory]);
    validates.push(last.wallMs);
  }
  return {
    customers,
    runs,
    versionMs: median(versions),
    validateMs: median(validates),
    validateCode: last!.code,
    validateOutput: `${last!.stdout}${last!.stderr}`.trim().slice(0, 500),
  };
}

// ---------------------------------------------------------------- main

function machine(): string[] {
  const sh = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '?';
    }
  };
  return [
    `date:     ${new Date().toISOString()}`,
    `load:     ${loadavg().map((l) => l.toFixed(2)).join(' ')} (1/5/15 min load average at start; other work on the machine skews every number)`,
    `machine:  nproc ${sh('nproc', [])} (availableParallelism ${availableParallelism()}), ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, kernel ${release()}`,
    `node:     ${process.version}; ${sh('ssh', ['-V']) || sh('sh', ['-c', 'ssh -V 2>&1'])}`,
    `wgplay:   commit ${sh('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'])}${sh('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no', 'src']) ? ' (src modified)' : ''}`,
  ];
}

async function main(): Promise<void> {
  const started = performance.now();
  const header = machine();
  console.log(`# wgplay bench\n\n${header.join('\n')}\n`);

  // 2 first: fast, and needs no root.
  progress(`planning without a host: ${planSizes.join(', ')} customers`);
  const planning = planSizes.map((n) => {
    const result = benchPlanning(n);
    progress(`  ${n} customers: expand ${ms(result.expandMs, 1)} ms, plan ${ms(result.planMs, 1)} ms`);
    return result;
  });
  const cliSize = Math.max(...planSizes);
  progress(`CLI startup and validate: ${cliSize} customers`);
  const cli = await benchCli(cliSize);

  const hosts: HostBench[] = [];
  if (!skipHosts) {
    if (process.getuid?.() !== 0) throw new Error('the host benchmarks need root (network namespaces); run as root or pass --skip-hosts');
    for (const n of sizes) {
      if (interrupted) break;
      hosts.push(await benchHosts(n));
    }
  }

  const probe = wireguardGoProbe && !interrupted ? await probeWireguardGo() : undefined;

  if (hosts.length) {
    console.log('## 1. Real host over SSH: wgplay CLI vs. one OpenSSH session running the same script\n');
    console.log('Wall = child process start to exit (node startup included). RT = remote commands (hosts[].roundTrips). Each column on a fresh host except the no-op runs.\n');
    console.log(
      table(
        ['customers', 'apply wall ms', 'apply RT', 'apply durationMs', 'no-op plan wall ms', 'plan RT', 'plan exit', 'no-op apply wall ms', 're-apply RT', 'baseline wall ms (1 session)', 'apply / baseline'],
        hosts.map((h) => [
          h.customers,
          `${ms(h.apply.wallMs)}${h.apply.code === 0 ? '' : ` (exit ${h.apply.code})`}`,
          h.apply.roundTrips ?? '-',
          ms(h.apply.durationMs),
          ms(h.plan.wallMs),
          h.plan.roundTrips ?? '-',
          h.plan.code,
          `${ms(h.reapply.wallMs)}${h.reapply.code === 0 ? '' : ` (exit ${h.reapply.code})`}`,
          h.reapply.roundTrips ?? '-',
          `${ms(h.baseline.applyMs)}${h.baseline.applyCode === 0 ? '' : ` (exit ${h.baseline.applyCode})`}`,
          `${(h.apply.wallMs / h.baseline.applyMs).toFixed(2)}x`,
        ]),
      ),
    );
    console.log('\n### CPU time (ms): robust against other load on the machine, unlike wall time\n');
    console.log('local = this machine (wgplay CLI incl. node startup, or the ssh client); host = everything the SSH sessions ran on the test host (not wireguard-go once detached).\n');
    console.log(
      table(
        ['customers', 'apply local', 'apply host', 'no-op plan local', 'no-op plan host', 'no-op apply local', 'no-op apply host', 'baseline local', 'baseline host', 'apply / baseline (local+host)', 'ssh `true` host', 'fact script host: fresh / converged'],
        hosts.map((h) => [
          h.customers,
          ms(h.apply.localCpuMs),
          ms(h.apply.remoteCpuMs),
          ms(h.plan.localCpuMs),
          ms(h.plan.remoteCpuMs),
          ms(h.reapply.localCpuMs),
          ms(h.reapply.remoteCpuMs),
          ms(h.baseline.applyLocalCpuMs),
          ms(h.baseline.applyRemoteCpuMs),
          `${((h.apply.localCpuMs + h.apply.remoteCpuMs) / (h.baseline.applyLocalCpuMs + h.baseline.applyRemoteCpuMs)).toFixed(2)}x`,
          ms(h.baseline.sshNoopHostCpuMs),
          `${ms(h.baseline.factsFreshOpenSsh.hostCpuMs)} / ${ms(h.baseline.factsConvergedOpenSsh.hostCpuMs)}`,
        ]),
      ),
    );
    console.log('\n### Where the time goes (library, step by step, on the baseline host)\n');
    console.log(
      table(
        ['customers', 'WireGuard (daemons, RSS)', 'changes', 'script KiB', 'ssh `true` ms', 'ssh2 connect ms', 'facts ms (RT)', 'fact script alone ms (OpenSSH)', 'expand+plan ms', 'compile ms', 'apply script ms (OpenSSH)', 'verify facts ms', 'fact script alone, converged ms (OpenSSH)', 'no-op expand+plan ms', 'left after apply'],
        hosts.map((h) => {
          const b = h.baseline;
          return [
            h.customers,
            b.wireguard.kind === 'wireguard-go' ? `wireguard-go (${b.wireguard.daemons}, ${b.wireguard.rssMiB.toFixed(0)} MiB)` : b.wireguard.kind,
            b.changes,
            (b.scriptBytes / 1024).toFixed(1),
            ms(b.sshNoopMs),
            ms(b.connectMs),
            `${ms(b.factsMs)} (${b.factsRoundTrips})`,
            ms(b.factsFreshOpenSsh.wallMs),
            ms(b.expandPlanMs, 1),
            ms(b.compileMs, 1),
            ms(b.applyMs),
            ms(b.verifyMs),
            ms(b.factsConvergedOpenSsh.wallMs),
            ms(b.verifyPlanMs, 1),
            b.leftover,
          ];
        }),
      ),
    );
    console.log('\n### Baseline apply script by phase (ms, from its phase markers as they arrive over OpenSSH)\n');
    console.log('"session" = ssh start to the first marker (connect, auth, bash start); "exit" = the done marker to ssh exit.\n');
    const phaseNames = ['prepare', 'links', 'routing', 'firewall', 'teardown'];
    console.log(
      table(
        ['customers', 'session', ...phaseNames, 'exit', 'total'],
        hosts.map((h) => {
          const marks = h.baseline.phaseMarks;
          const spans = new Map<string, number>();
          marks.forEach(([phase, at], i) => {
            if (phase !== 'done') spans.set(phase, (marks[i + 1]?.[1] ?? h.baseline.applyMs) - at);
          });
          const done = marks.find(([phase]) => phase === 'done')?.[1];
          return [
            h.customers,
            ms(marks[0]?.[1]),
            ...phaseNames.map((phase) => ms(spans.get(phase))),
            ms(done === undefined ? undefined : h.baseline.applyMs - done),
            ms(h.baseline.applyMs),
          ];
        }),
      ),
    );
    for (const h of hosts.filter((h) => h.baseline.commands)) {
      console.log(`\n### --trace: the ${h.customers}-customer baseline script's slowest commands (xtrace; time until the next traced command)\n`);
      console.log(table(['command', 'count', 'total ms', 'ms each'], h.baseline.commands!.slice(0, 12).map((c) => [c.command, c.count, ms(c.ms), ms(c.ms / c.count, 1)])));
      console.log(`\n### --trace: the ${h.customers}-customer fact script on the converged host, slowest commands\n`);
      console.log(table(['command', 'count', 'total ms', 'ms each'], (h.baseline.factCommands ?? []).slice(0, 12).map((c) => [c.command, c.count, ms(c.ms), ms(c.ms / c.count, 1)])));
    }
    const failures = hosts.flatMap((h) => [
      ...(h.apply.error ? [`${h.customers} customers, apply: ${h.apply.error}`] : []),
      ...(h.plan.error ? [`${h.customers} customers, plan: ${h.plan.error}`] : []),
      ...(h.reapply.error ? [`${h.customers} customers, re-apply: ${h.reapply.error}`] : []),
      ...(h.baseline.applyCode !== 0 ? [`${h.customers} customers, baseline script exit ${h.baseline.applyCode}: ${h.baseline.applyStderr}`] : []),
    ]);
    if (failures.length) console.log(`\nFAILURES (numbers above are not comparable):\n${failures.join('\n')}`);
    console.log('');
  }

  if (probe) {
    console.log('## --wireguard-go-probe: one `ip -batch` of 100 rules + 200 routes (veth devices) with idle wireguard-go daemons running\n');
    console.log(table(['wireguard-go daemons', 'add ms', 'delete ms'], probe.map((p) => [p.daemons, p.addMs, p.delMs])));
    console.log('');
  }

  console.log('## 2. Planning without a host (synthetic facts of a fresh host), in-process\n');
  console.log('Median of the timed runs after one warm-up. loadRun = parse inventory + playbook, template, validate (ajv + gateway checks).\n');
  console.log(
    table(
      ['customers', 'runs', 'loadRun ms', 'expand ms', 'planTasks ms', 'expand+plan ms', 'compile ms', 'primitive tasks', 'changes', 'script KiB'],
      planning.map((p) => [p.customers, p.runs, ms(p.loadRunMs, 1), ms(p.expandMs, 1), ms(p.planMs, 1), ms(p.expandMs + p.planMs, 1), ms(p.compileMs, 1), p.tasks, p.changes, (p.scriptBytes / 1024).toFixed(1)]),
    ),
  );
  console.log('\n## CLI (child process, median of 5)\n');
  console.log(
    table(
      ['customers', '`wgplay --version` ms (startup)', '`wgplay validate` ms', 'validate exit'],
      [[cli.customers, ms(cli.versionMs), ms(cli.validateMs), cli.validateCode]],
    ),
  );
  if (cli.validateCode !== 0) console.log(`\nvalidate said:\n${cli.validateOutput}`);
  console.log(`\ntotal bench time: ${((performance.now() - started) / 1000).toFixed(1)} s; load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

  if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ header, hosts, planning, cli, probe }, null, 2));
}

main()
  .catch((error) => {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? error}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await Promise.allSettled([...liveHosts].map((host) => host.destroy()));
    rmSync(workDir, { recursive: true, force: true });
  });
