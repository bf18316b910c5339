// Data-driven task cases (in the style of pyinfra's tests/operations/<op>/<case>.json):
// fixtures/tasks/<task>/<case>.json holds a task's arguments, the host's facts as the
// fact script printed them (a capture from fixtures/facts/, with sections replaced by
// other real command output), and the changes a plan must make, or none.
// The arguments go through the playbook path (schema with defaults, checks), the facts
// through the real parsers, the plan through the engine's expand + plan.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gatherFacts, planTasks, type ScriptRunner } from '../../src/engine/run.js';
import { WgplayError } from '../../src/errors.js';
import { shellQuote } from '../../src/shell.js';
import { parsePlaybook, resolvePlaybook } from '../../src/playbook/index.js';
import type { Change, Step, TaskInvocation } from '../../src/tasks/types.js';

const CASES = new URL('../../fixtures/tasks/', import.meta.url).pathname;
const CAPTURES = new URL('../../fixtures/facts/', import.meta.url).pathname;

/** A file as the fact script reports it (stat, sha256, base64 content). */
interface FileOutput {
  file: { type?: 'file' | 'directory'; mode?: string; owner?: string; group?: string; content?: string; secret?: boolean; wgPubkey?: string; wgKeyMatches?: boolean };
}
/** Replacement for one section of the fact output: its body (text, lines, or JSON as `ip -j`/`nft -j` print it), or a file. */
export type SectionOutput = string | string[] | { lines: string[]; rc?: number } | { rc: number } | FileOutput | unknown;

export interface TaskCase {
  /** What a user would notice, in one sentence. */
  description: string;
  /** The task (or module) name as a playbook writes it. */
  task?: string;
  args: unknown;
  facts: {
    /** fixtures/facts/facts-<capture>.txt: "empty" (a fresh host) or "populated" (a gateway). */
    capture: 'empty' | 'populated';
    /** fixtures/facts/nft/<nft>.json and .txt (real nft's listing of <nft>.nft) as the ruleset. */
    nft?: string;
    /** Sections replaced or added: "ip-rule inet", "nft-json", "file /etc/x", "sysctl net.ipv4.ip_forward". */
    output?: Record<string, SectionOutput>;
  };
  /** The changes, in order; [] = nothing to do. */
  changes?: ExpectedChange[];
  /** Only the changes' "action resource" lines (for module expansions with many changes). */
  resources?: string[];
  /** Texts no diff may contain (secrets). */
  diffNeverContains?: string[];
  /** The plan fails with a message containing this. */
  error?: string;
  /** Validation refuses the arguments with messages containing these, in order. */
  invalid?: string[];
}

export interface ExpectedChange {
  resource: string;
  action: Change['action'];
  /** The diff, one string per line. */
  diff: string[];
  /** Each step as [phase, kind, ...lines]. */
  steps: string[][];
}

export function loadCases(): { task: string; name: string; file: string; data: TaskCase }[] {
  return readdirSync(CASES, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((folder) =>
      readdirSync(join(CASES, folder.name))
        .filter((name) => name.endsWith('.json'))
        .sort()
        .map((name) => {
          const file = join(CASES, folder.name, name);
          return { task: folder.name, name: name.replace(/\.json$/, ''), file, data: JSON.parse(readFileSync(file, 'utf8')) as TaskCase };
        }),
    );
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

function fileLines({ file }: FileOutput): string[] {
  const content = file.content ?? '';
  const lines = [`type ${file.type ?? 'file'}`, `mode ${file.mode ?? '644'}`, `owner ${file.owner ?? 'root'}`, `group ${file.group ?? 'root'}`, `size ${Buffer.byteLength(content)}`];
  if ((file.type ?? 'file') !== 'file') return lines;
  lines.push(`sha256 ${sha256(content)}`);
  if (file.wgKeyMatches !== undefined) lines.push(`wg-key-matches ${file.wgKeyMatches ? 'yes' : 'no'}`);
  if (file.wgPubkey) lines.push(`wg-pubkey ${file.wgPubkey}`);
  // The script sends content only for files that are not secret.
  if (!file.secret) lines.push('content', Buffer.from(content, 'utf8').toString('base64'));
  return lines;
}

function bodyOf(value: SectionOutput): { lines: string[]; rc?: number } {
  if (typeof value === 'string') return { lines: value.split('\n') };
  if (Array.isArray(value) && value.length > 0 && value.every((line) => typeof line === 'string')) return { lines: value as string[] };
  if (value && typeof value === 'object' && 'file' in value) return { lines: fileLines(value as FileOutput) };
  if (value && typeof value === 'object' && ('lines' in value || 'rc' in value) && !Array.isArray(value)) {
    const { lines = [], rc } = value as { lines?: string[]; rc?: number };
    return { lines, rc };
  }
  return { lines: [JSON.stringify(value)] };
}

/** "file /etc/x" -> `file "/etc/x"` (the script JSON-quotes file and sysctl arguments). */
function markerOf(key: string): string {
  const [name, ...rest] = key.split(' ');
  const argument = rest.join(' ');
  if (name === 'file' || name === 'sysctl') return `${name} ${JSON.stringify(argument)}`;
  return key;
}

/** The captured fact output with sections replaced, as text the fact parser reads. */
export function factOutput(facts: TaskCase['facts']): string {
  const text = readFileSync(join(CAPTURES, `facts-${facts.capture}.txt`), 'utf8');
  const blocks: { marker: string; lines: string[]; rc?: string }[] = [];
  for (const line of text.replace(/\n$/, '').split('\n')) {
    if (line.startsWith('@@wgplay rc ')) blocks.at(-1)!.rc = line.slice('@@wgplay rc '.length);
    else if (line.startsWith('@@wgplay ')) blocks.push({ marker: line.slice('@@wgplay '.length), lines: [] });
    else blocks.at(-1)!.lines.push(line);
  }
  const nft = (extension: string) => readFileSync(join(CAPTURES, 'nft', `${facts.nft}.${extension}`), 'utf8').replace(/\n$/, '');
  const output = { ...(facts.nft ? { 'nft-json': nft('json'), 'nft-text': nft('txt') } : {}), ...facts.output };
  for (const [key, value] of Object.entries(output)) {
    const marker = markerOf(key);
    const body = bodyOf(value);
    const isFile = key.startsWith('file ');
    const block = { marker, lines: body.lines, rc: isFile ? undefined : String(body.rc ?? 0) };
    const index = blocks.findIndex((candidate) => candidate.marker === marker);
    if (index >= 0) blocks[index] = block;
    else blocks.splice(blocks.length - 1, 0, block); // before "end"
  }
  return blocks.map((block) => [`@@wgplay ${block.marker}`, ...block.lines, ...(block.rc !== undefined ? [`@@wgplay rc ${block.rc}`] : [])].join('\n')).join('\n') + '\n';
}

/**
 * The output a fact script prints from the case's host: the sections every script prints
 * (ip, nft, wg, programs...), and of the per-item ones (a file, a sysctl, a table's boot
 * file or canonical text) only those the script asks for, as the real script would. A
 * task that forgets to request a fact it reads then plans against a host that lacks it.
 */
function answerOf(output: string, script: string): string {
  const perItem = /^@@wgplay (file|sysctl|nft-boot|nft-canonical) (.*)$/;
  const kept: string[] = [];
  let keep = true;
  for (const line of output.replace(/\n$/, '').split('\n')) {
    const item = perItem.exec(line);
    // The script holds each item's JSON marker argument inside single quotes.
    if (item) keep = script.includes(shellQuote(item[2]!).slice(1, -1));
    else if (line.startsWith('@@wgplay ') && !line.startsWith('@@wgplay rc ')) keep = true;
    if (keep) kept.push(line);
  }
  return `${kept.join('\n')}\n`;
}

/** The invocation as a one-task playbook yields it: validated, defaults filled in. */
export function invocationOf(task: string, args: unknown): TaskInvocation[] {
  const playbook = parsePlaybook(`- name: case\n  hosts: all\n  tasks:\n    - name: case\n      ${task}: ${JSON.stringify(args)}\n`, 'case.yaml');
  return resolvePlaybook(playbook, [{ name: 'gw', vars: {} }], () => ['gw']).get('gw') ?? [];
}

export function validationProblems(task: string, args: unknown): string[] {
  try {
    invocationOf(task, args);
    return [];
  } catch (error) {
    if (error instanceof WgplayError) return error.problems.map((p) => `${p.where}: ${p.message}`);
    throw error;
  }
}

const stepOf = (step: Step): string[] => [
  step.phase,
  step.kind,
  ...(step.kind === 'shell' ? step.script.split('\n') : step.line.split('\n')),
];

export const changeOf = (change: Change): ExpectedChange => ({
  resource: change.resource,
  action: change.action,
  diff: change.diff === '' ? [] : change.diff.split('\n'),
  steps: change.steps.map(stepOf),
});

/**
 * Plans the case: every change of every primitive task it expands to, or the plan's error.
 * The facts are gathered the engine's way (gatherFacts), from a host that answers each
 * fact script with what it asks for.
 */
export async function planCase(task: string, data: TaskCase): Promise<{ changes: Change[]; error?: string }> {
  const output = factOutput(data.facts);
  const host: ScriptRunner = { run: async (script) => ({ stdout: answerOf(output, script), stderr: '', code: 0 }) };
  const invocations = invocationOf(task, data.args);
  const { facts, tasks } = await gatherFacts(host, invocations);
  const results = planTasks(tasks, facts);
  const failed = results.find((result) => result.error);
  return { changes: results.flatMap((result) => result.changes), error: failed?.error };
}
