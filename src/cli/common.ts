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

/** A usage error that names the option and the --help to read, instead of the whole usage. */
class UnknownOptionError extends UsageError {}

export function parseCommandLine<T extends Options>(
  argv: string[],
  options: T,
  command = 'COMMAND',
): { values: any; positionals: string[] } {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    const message = (error as Error).message;
    const unknown = /^Unknown option '([^']*)'/.exec(message);
    if (unknown) throw new UnknownOptionError(`unknown option ${unknown[1]}: see "wgplay ${command} --help" for the options`);
    throw new UsageError(message);
  }
}

/** An operator reads the first problems and fixes them; thousands (one mistake repeated by a generator) would bury them. */
export const MAX_PROBLEMS_SHOWN = 50;

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
  if (error instanceof UnknownOptionError) {
    process.stderr.write(`wgplay: ${error.message}\n`);
    return EXIT.error;
  }
  if (error instanceof UsageError) {
    process.stderr.write(`wgplay: ${error.message}\n\n${usage}`);
    return EXIT.error;
  }
  if (error instanceof WgplayError) {
    const shown = error.problems.slice(0, MAX_PROBLEMS_SHOWN).map((p) => `  ${formatProblem(p)}\n`);
    const more = error.problems.length - shown.length;
    if (more > 0) shown.push(`  ... and ${more} more problem${more === 1 ? '' : 's'} (the first ${MAX_PROBLEMS_SHOWN} are shown; --json lists them all)\n`);
    process.stderr.write(redact(`wgplay: nothing was changed on any host:\n${shown.join('')}`));
    return EXIT.error;
  }
  // No stack trace for the operator: the message, and where to report it.
  process.stderr.write(redact(`wgplay: internal error: ${(error as Error)?.message ?? String(error)} (please report this with the command that caused it)\n`));
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

/** The options every command that reads an inventory takes. */
export const INVENTORY_OPTIONS = {
  inventory: { type: 'string', short: 'i', multiple: true },
  'extra-vars': { type: 'string', short: 'e', multiple: true },
  verbose: { type: 'boolean', short: 'v', multiple: true },
  'ssh-config': { type: 'string', short: 'F' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/**
 * -e values plus -F FILE, which is the variable wgplay_ssh_config for every host
 * (under any -e that sets it).
 */
export function extraVarsOf(values: { 'extra-vars'?: string[]; 'ssh-config'?: string }): string[] {
  const sshConfig = values['ssh-config'] === undefined ? [] : [JSON.stringify({ wgplay_ssh_config: values['ssh-config'] })];
  return [...sshConfig, ...(values['extra-vars'] ?? [])];
}

/** Their lines in a command's usage. */
export const INVENTORY_USAGE = `  -i, --inventory PATH   an Ansible inventory: YAML or INI file, or a folder of them
                         (required; several -i are merged in order)
  -e, --extra-vars VARS  key=value ..., @FILE (YAML/JSON) or JSON; over every other variable
  -F, --ssh-config FILE  the ssh_config to read (default ~/.ssh/config; or wgplay_ssh_config)
  -v, --verbose          each host's connection (-vv: also known_hosts, become)`;

const PLAYBOOK_OPTIONS = {
  ...INVENTORY_OPTIONS,
  limit: { type: 'string', short: 'l' },
  'list-hosts': { type: 'boolean', default: false },
} as const;

/**
 * The command line of a command that works on a playbook and an inventory (-i, -e,
 * -l, -v, --list-hosts, -h plus its own options). Undefined when it printed its --help.
 */
export function parsePlaybookCommand(argv: string[], names: string[], usage: string, options: Options = {}) {
  const command = /^usage: wgplay (\S+)/.exec(usage)?.[1] ?? 'COMMAND';
  const { values, positionals } = parseCommandLine(argv, { ...PLAYBOOK_OPTIONS, ...options }, command);
  if (values.help) {
    process.stdout.write(usage);
    return undefined;
  }
  const args = requirePositionals(positionals, names);
  if (!values.inventory?.length) throw new UsageError('missing -i INVENTORY');
  return {
    values,
    args,
    inventory: values.inventory as string[],
    extraVars: extraVarsOf(values),
    verbosity: ((values.verbose ?? []) as boolean[]).length,
    listHosts: values['list-hosts'] as boolean,
    limit: values.limit as string | undefined,
  };
}

/** A saved plan's record of an input file: its path and the hash of what was read. */
export function hashInput(path: string): { name: string; sha256: string } {
  return { name: path, sha256: createHash('sha256').update(readFileSync(path)).digest('hex') };
}
