// `wgplay doc [TASK] [--markdown]`: every task's and module's arguments, read from their
// schemas (descriptions, types, defaults), like ansible-doc. docs/TASKS.md is its
// --markdown output (`npm run docs`).
import { findModule, findTask, knownTaskNames } from '../catalog.js';
import type { JsonSchema } from '../tasks/types.js';

interface Argument {
  /** "peers[].public_key" */
  path: string;
  type: string;
  required: boolean;
  default?: unknown;
  description: string;
}

const USAGE = `usage: wgplay doc [TASK] [--markdown]

Without TASK: every task and module a playbook can name, with what it does.
With TASK: its arguments (type, default, what they mean).
--markdown: the whole reference as Markdown (docs/TASKS.md is this).
`;

function typeOf(schema: JsonSchema): string {
  if (Array.isArray(schema.enum)) return schema.enum.map((value) => JSON.stringify(value)).join(' | ');
  if ('const' in schema) return JSON.stringify(schema.const);
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as JsonSchema[]).map(typeOf).join(' | ');
  const range =
    schema.minimum !== undefined && schema.maximum !== undefined ? ` ${schema.minimum}..${schema.maximum}` : '';
  const type = Array.isArray(schema.type) ? schema.type.join(' or ') : String(schema.type ?? 'any');
  if (type === 'array') {
    const items = schema.items as JsonSchema | undefined;
    return `list of ${items?.type === 'object' && items.properties ? 'mappings' : items ? typeOf(items) : 'values'}`;
  }
  if (type === 'object') {
    const values = schema.additionalProperties;
    return values && typeof values === 'object' ? `mapping of names to ${typeOf(values as JsonSchema)}` : 'mapping';
  }
  return `${type}${range}`;
}

/** Every argument, nested ones with their path ("ssh.port", "customers[].name"). */
function argumentsOf(schema: JsonSchema, prefix = ''): Argument[] {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  return Object.entries(properties).flatMap(([name, property]) => {
    const path = `${prefix}${name}`;
    const own: Argument = {
      path,
      type: typeOf(property),
      required: required.has(name),
      ...('default' in property && { default: property.default }),
      description: String(property.description ?? ''),
    };
    const items = property.items as JsonSchema | undefined;
    const nested = property.properties
      ? argumentsOf(property, `${path}.`)
      : items?.properties
        ? argumentsOf(items, `${path}[].`)
        : [];
    return [own, ...nested];
  });
}

function owner(name: string) {
  return findTask(name) ?? findModule(name);
}

/** Every argument of a task or module (for docs, and the test that all are described). */
export function documentedArguments(name: string): Argument[] {
  const found = owner(name);
  return found ? argumentsOf(found.schema) : [];
}

const requirement = (argument: Argument) =>
  argument.required ? 'required' : argument.default !== undefined ? `default ${JSON.stringify(argument.default)}` : 'optional';

function taskText(name: string): string {
  const found = owner(name)!;
  const lines = [`${name}: ${found.summary}`, ''];
  for (const argument of argumentsOf(found.schema)) {
    lines.push(`  ${argument.path}  (${argument.type}; ${requirement(argument)})`, `      ${argument.description}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The whole reference as Markdown: docs/TASKS.md. */
export function tasksMarkdown(): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  const out = [
    '# Tasks and modules',
    '',
    'Generated from the schemas by `wgplay doc --markdown` (`npm run docs`); `wgplay doc TASK` prints the same.',
    '',
  ];
  for (const name of knownTaskNames()) {
    const found = owner(name)!;
    out.push(`## ${name}`, '', found.summary, '', '| argument | type | required or default | what it is |', '| --- | --- | --- | --- |');
    for (const argument of argumentsOf(found.schema)) {
      out.push(`| \`${argument.path}\` | ${cell(argument.type)} | ${cell(requirement(argument))} | ${cell(argument.description)} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

export function runDoc(argv: string[]): number {
  const markdown = argv.includes('--markdown');
  const names = argv.filter((arg) => arg !== '--markdown');
  if (names.includes('--help') || names.includes('-h') || names.length > 1) {
    (names.length > 1 ? process.stderr : process.stdout).write(USAGE);
    return names.length > 1 ? 1 : 0;
  }
  if (markdown) {
    process.stdout.write(tasksMarkdown());
    return 0;
  }
  const [name] = names;
  if (name === undefined) {
    const width = Math.max(...knownTaskNames().map((known) => known.length));
    process.stdout.write(knownTaskNames().map((known) => `${known.padEnd(width)}  ${owner(known)!.summary}\n`).join(''));
    return 0;
  }
  if (!owner(name)) {
    process.stderr.write(`wgplay doc: no task or module named "${name}"; known: ${knownTaskNames().join(', ')}\n`);
    return 1;
  }
  process.stdout.write(taskText(name));
  return 0;
}
