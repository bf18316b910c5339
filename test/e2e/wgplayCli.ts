// Runs the built CLI (bin/wgplay.js -> dist/) as an operator would, in a child process.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { assertReportFollowsSchema } from '../reportSchema.js';

const BIN = new URL('../../bin/wgplay.js', import.meta.url).pathname;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Everything every wgplay command of this test file printed (text, --json, errors). */
const printed: string[] = [];

/**
 * Fails naming the command when any output of this file's wgplay runs holds one of the
 * private keys (whole, or 20 characters of it: a tool may cut a key it quotes).
 */
export function expectNoPrivateKeyPrinted(privateKeys: string[]): void {
  const keys = privateKeys.map((key) => key.trim()).filter((key) => key.length === 44);
  if (keys.length === 0) throw new Error('no private keys to look for: the test read none from the lab');
  for (const output of printed) {
    for (const key of keys) {
      for (const piece of [key, key.slice(0, 20), key.slice(20, 40)]) {
        if (output.includes(piece)) throw new Error(`a private key (or part of one) was printed:\n${output.slice(0, 300)}`);
      }
    }
  }
}

export function wgplay(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      printed.push(`wgplay ${args.join(' ')}\n${stdout}\n${stderr}`);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

export interface JsonReport {
  format: 1;
  command: string;
  mode: string;
  exitCode: number;
  summary: { hosts: number; create: number; change: number; delete: number; statuses: Record<string, number> };
  hosts: {
    host: string;
    status: string;
    error?: string;
    drift?: string[];
    summary: { create: number; change: number; delete: number };
    tasks: { name: string; module: string; error?: string; changes: { resource: string; action: string; diff: string }[] }[];
  }[];
}

/**
 * wgplay with --json; the parsed report plus the raw output. Every report must follow
 * docs/report.schema.json and carry the process's exit code.
 */
export async function wgplayJson(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult & { report: JsonReport }> {
  const result = await wgplay([...args, '--json'], env);
  let report: JsonReport;
  try {
    report = JSON.parse(result.stdout) as JsonReport;
  } catch {
    throw new Error(`wgplay ${args.join(' ')} printed no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
  assertReportFollowsSchema(report, `wgplay ${args.join(' ')}`);
  if (report.exitCode !== result.code) throw new Error(`wgplay ${args.join(' ')}: report says exit ${report.exitCode}, the process exited ${result.code}`);
  return { ...result, report };
}

/** Every change of a report as "resource" strings, for exact assertions. */
export function changedResources(report: JsonReport): string[] {
  return report.hosts.flatMap((host) => host.tasks.flatMap((task) => task.changes.map((change) => change.resource)));
}

/** Writes a playbook (a list of plays) to a fresh temporary folder and returns its path. */
export function writePlaybook(plays: unknown[], name = 'playbook.yaml'): string {
  const dir = mkdtempSync(join(tmpdir(), 'wgplay-playbook-'));
  const path = join(dir, name);
  writeFileSync(path, stringify(plays));
  return path;
}
