import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatProblem, WgplayError, type Problem } from '../errors.js';
import { renderJsonErrors, type ReportCommand } from '../report/json.js';
import { redact } from '../report/redact.js';
import { EXIT } from '../report/summary.js';

export class UsageError extends Error {}

/** util.parseArgs with errors that end in the command's usage. */
type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'] & {};

export function parseCommandLine<T extends Options>(argv: string[], options: T): { values: any; positionals: string[] } {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/**
 * Prints an error the way every command does, and returns its exit code. With `json`
 * (the command's --json), the error is a JSON report on stdout instead.
 */
export function reportError(error: unknown, usage: string, json?: ReportCommand): number {
  if (json) {
    const problems: Problem[] = error instanceof WgplayError ? error.problems : [{ where: error instanceof UsageError ? 'command line' : '', message: (error as Error).message ?? String(error) }];
    process.stdout.write(renderJsonErrors(json, problems, EXIT.error));
    return EXIT.error;
  }
  if (error instanceof UsageError) {
    process.stderr.write(`wgplay: ${error.message}\n\n${usage}`);
    return EXIT.error;
  }
  if (error instanceof WgplayError) {
    process.stderr.write(redact(`wgplay: nothing was changed on any host:\n${error.problems.map((p) => `  ${formatProblem(p)}`).join('\n')}\n`));
    return EXIT.error;
  }
  process.stderr.write(redact(`wgplay: ${(error as Error).stack ?? String(error)}\n`));
  return EXIT.error;
}

/** Whether the command line asks for JSON, even when it does not parse. */
export const wantsJson = (argv: string[]) => argv.includes('--json');

export function requirePositionals(positionals: string[], names: string[]): string[] {
  if (positionals.length !== names.length) {
    throw new UsageError(`expected ${names.join(' and ')}, got ${positionals.length ? positionals.join(' ') : 'nothing'}`);
  }
  return positionals;
}

const PLAYBOOK_OPTIONS = {
  inventory: { type: 'string', short: 'i' },
  limit: { type: 'string', short: 'l' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/**
 * The command line of a command that works on a playbook and an inventory (-i, -l,
 * -h plus its own options). Undefined when it printed its --help.
 */
export function parsePlaybookCommand(argv: string[], names: string[], usage: string, options: Options = {}) {
  const { values, positionals } = parseCommandLine(argv, { ...PLAYBOOK_OPTIONS, ...options });
  if (values.help) {
    process.stdout.write(usage);
    return undefined;
  }
  const args = requirePositionals(positionals, names);
  if (!values.inventory) throw new UsageError('missing -i INVENTORY');
  return { values, args, inventory: values.inventory as string, limit: values.limit as string | undefined };
}

/** A saved plan's record of an input file: its path and the hash of what was read. */
export function hashInput(path: string): { name: string; sha256: string } {
  return { name: path, sha256: createHash('sha256').update(readFileSync(path)).digest('hex') };
}
