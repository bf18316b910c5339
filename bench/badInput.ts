// What bad (and big) input costs wgplay to refuse or accept (issue 8: "no input may cost
// more than a second to reject"). Prints numbers, asserts nothing; needs no root.
//
//   node dist/bench/badInput.js [--runs 5] [--json FILE]
//
// Each input is checked by `wgplay validate` as a child process (node startup included),
// `--runs` times, the inputs interleaved in an order that rotates from run to run. Per
// input: the median CPU (user + system, the process's own resourceUsage), the median of
// (CPU - the CPU of a one-line playbook in the same run: the cost of the input beyond
// node and wgplay starting), the median wall time, the exit code and the first line of
// what it printed. bench/README.md ("Bad input") says what each input is.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Lexer } from 'yaml';
import { MAX_INPUT_BYTES, MAX_YAML_TOKENS } from '../src/yamlLimits.js';
import { BIN, RUSAGE, helpRequested, option } from './cli.js';

helpRequested('node dist/bench/badInput.js [--runs 5] [--json FILE]');
const runs = Number(option('--runs') ?? 5);
const jsonOut = option('--json');

const dir = mkdtempSync('/tmp/wgplay-badinput-');
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const INVENTORY = 'all:\n  hosts:\n    gw:\n      ansible_host: 127.0.0.1\n';
const play = (name: string, body: string) => `- name: ${name}\n  hosts: all\n${body}`;
const chain = (n: number) =>
  play('chain', `  vars:\n${Array.from({ length: n }, (_, i) => `    v${i}: "{{ v${i + 1} }}"`).join('\n')}\n    v${n}: 41\n  tasks:\n    - name: rule\n      ip_rule: { table: "{{ v0 }}" }\n`);
const badTasks = (n: number) =>
  play('bad', `  tasks:\n${Array.from({ length: n }, (_, i) => `    - name: t${i}\n      ip_rule: { table: "x${i}", priority: -1 }`).join('\n')}\n`);
/** A flow sequence of quoted addresses about `bytes` long, in a play variable. */
function flowSequence(bytes: number): string {
  const items: string[] = [];
  for (let i = 0, length = 0; length < bytes; i++) {
    const item = `"10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}"`;
    items.push(item);
    length += item.length + 2;
  }
  return play('flow', `  vars:\n    big: [${items.join(', ')}]\n  tasks:\n    - name: rule\n      ip_rule: { table: 41, priority: 100 }\n`);
}
/** The shape the yaml package reads slowest per byte (small flow mappings), as many as fit in `bytes`. */
function flowMappings(bytes: number): string {
  const lines: string[] = [];
  for (let i = 0, length = 0; length < bytes - 200; i++) {
    const line = `      - { table: "x${i}", priority: ${i} }`;
    lines.push(line);
    length += line.length + 1;
  }
  return play('flow mappings', `  vars:\n    big:\n${lines.join('\n')}\n  tasks: []\n`);
}
/** The 1000-customer gateway of the main bench: a big valid playbook, for reference. */
function gateway(customers: number): string {
  const list = Array.from({ length: customers }, (_, i) => `          - name: c${i}\n            public_key: ${createHash('sha256').update(`c${i}`).digest('base64')}\n            address: 10.0.0.1\n            our_address: 10.0.0.2`).join('\n');
  return play(
    'gateway',
    `  tasks:\n    - name: gateway\n      wireguard_gateway:\n        public_interface: mgmt0\n        public_address: 203.0.113.2\n        ssh: { interfaces: any }\n` +
      `        pools: { listen_ports: 51000-52999, tables: 1000-2999, our_addresses: 10.200.0.0/16, customer_addresses: 10.100.0.0/16 }\n        customers:\n${list}\n`,
  );
}

/** Whether wgplay reads `text` (within the size limit and the token budget) rather than refusing it unparsed. */
const isRead = (text: string) => Buffer.byteLength(text) <= MAX_INPUT_BYTES && [...new Lexer().lex(text)].length <= MAX_YAML_TOKENS;
/** Within the size limit alone (the token budget may still refuse it). */
const withinSize = (text: string) => Buffer.byteLength(text) <= MAX_INPUT_BYTES - 1024;

/** The most of `make(n)` that `fits`: by default the costliest input of its shape that wgplay still reads and checks. */
function fitting(make: (n: number) => string, fits: (text: string) => boolean = isRead): string {
  let n = 1;
  while (fits(make(n * 2))) n *= 2;
  for (let step = n >> 1; step >= 1; step >>= 1) if (fits(make(n + step))) n += step;
  return make(n);
}

// The input files of issue 8, then the largest of each shape wgplay still reads (within
// src/yamlLimits.ts MAX_INPUT_BYTES, 256 KiB, and MAX_YAML_TOKENS), then big gateways
// with one mistake.
const thousand = gateway(1000);
const inputs: { name: string; text: string }[] = [
  { name: 'one-line playbook (startup)', text: play('tiny', '  tasks: []\n') },
  { name: 'gateway, 1000 customers (valid)', text: thousand },
  { name: 'gateway, 1000 customers, the last key invalid', text: thousand.replace(/public_key: \S+\n(?![\s\S]*public_key)/, 'public_key: not-a-key\n') },
  { name: 'gateway, 1000 customers, the last name a duplicate', text: thousand.replace(/name: c999\n/, 'name: c998\n') },
  { name: 'invalid tasks, 255 KiB (over the token budget)', text: fitting(badTasks, withinSize) },
  { name: 'chain of 20 000 variables', text: chain(20000) },
  { name: '20 000 invalid tasks', text: badTasks(20000) },
  { name: 'flow sequence, 1.5 MB', text: flowSequence(1.5e6) },
  { name: 'chain, as long as fits', text: fitting(chain) },
  { name: 'invalid tasks, as many as fit', text: fitting(badTasks) },
  { name: 'flow sequence, as long as fits (valid)', text: fitting((n) => flowSequence(n * 100)) },
  { name: 'flow mappings, as many as fit (valid)', text: fitting((n) => flowMappings(n * 100)) },
];
writeFileSync(join(dir, 'inventory.yaml'), INVENTORY);
inputs.forEach((input, i) => writeFileSync(join(dir, `input-${i}.yaml`), input.text));

interface Sample {
  cpuMs: number;
  wallMs: number;
  code: number;
  first: string;
}

function validate(index: number, run: number): Promise<Sample> {
  const usageFile = join(dir, `rusage-${index}-${run}.json`);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', RUSAGE, BIN, 'validate', join(dir, `input-${index}.yaml`), '-i', join(dir, 'inventory.yaml')], {
      env: { ...process.env, WGPLAY_BENCH_RUSAGE: usageFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - started;
      const usage = existsSync(usageFile) ? (JSON.parse(readFileSync(usageFile, 'utf8')) as { cpuMs: number }) : { cpuMs: NaN };
      const first = output.split('\n').find((line) => line.trim() !== '' && !line.startsWith('wgplay: nothing was changed'))?.trim() ?? '';
      resolve({ cpuMs: usage.cpuMs, wallMs, code: code ?? -1, first: first.replace(dir, '…').slice(0, 150) });
    });
  });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const samples: Sample[][] = inputs.map(() => []);
const overStartup: number[][] = inputs.map(() => []);
for (let run = 0; run < runs; run++) {
  const order = inputs.map((_, i) => (i + run) % inputs.length);
  const thisRun = new Map<number, Sample>();
  for (const i of order) {
    process.stderr.write(`run ${run + 1}/${runs}: ${inputs[i]!.name}\n`);
    thisRun.set(i, await validate(i, run));
  }
  for (const [i, sample] of thisRun) {
    samples[i]!.push(sample);
    overStartup[i]!.push(sample.cpuMs - thisRun.get(0)!.cpuMs);
  }
}

console.log(`wgplay validate of bad and big input: ${runs} interleaved runs, medians; ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log('| input | size | CPU ms | CPU ms over startup | wall ms | exit | first line |');
console.log('|---|---:|---:|---:|---:|---:|---|');
inputs.forEach((input, i) => {
  const s = samples[i]!;
  const size = input.text.length >= 1e6 ? `${(input.text.length / 1e6).toFixed(1)} MB` : `${(input.text.length / 1e3).toFixed(0)} KB`;
  console.log(
    `| ${input.name} | ${size} | ${median(s.map((x) => x.cpuMs)).toFixed(0)} | ${i === 0 ? '' : median(overStartup[i]!).toFixed(0)} | ${median(s.map((x) => x.wallMs)).toFixed(0)} | ${s[0]!.code} | ${s[0]!.first.replace(/\|/g, '\\|')} |`,
  );
});
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ inputs: inputs.map((input, i) => ({ name: input.name, bytes: input.text.length, samples: samples[i] })) }, null, 2));
