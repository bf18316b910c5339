/**
 * Argument validation: a module's JSON schema (ajv, compiled once per schema) then its
 * check(); problems come back with JSON pointers and human messages, ready to be placed
 * with a SourceMap.
 */
import type { ErrorObject } from 'ajv';
import { validatorOf } from './argumentAjv.js';
import { WgplayError, type Problem } from '../errors.js';
import { findModule, findTask, knownTaskNames } from '../catalog.js';
import type { ArgumentProblem, JsonSchema, TaskInvocation } from '../tasks/types.js';
import { closest, didYouMean } from './suggest.js';
import { escapePointer, kindOf } from './template.js';

export interface ArgumentIssue {
  /** JSON pointer of the offending value ("" = the arguments as a whole). */
  pointer: string;
  /** Point at the mapping key at `pointer` rather than its value (unknown properties). */
  key?: boolean;
  /** The message; `got` (if any) is appended by the caller with where the value came from. */
  message: string;
  /** A preview of the offending value, already redacted if it may be a secret. */
  got?: string;
  /** A close allowed value: "add" for "ad". */
  hint?: string;
}

/**
 * Validates (and, with schema defaults, completes: ajv's useDefaults) `args` in place.
 * Returns [] when valid.
 */
export function validateArgs(
  module: string,
  schema: JsonSchema,
  check: ((args: any) => ArgumentProblem[]) | undefined,
  args: unknown,
): ArgumentIssue[] {
  const validate = validatorOf(schema);
  if (validate instanceof Error) {
    return [{ pointer: '', message: `internal error: the argument schema of module ${module} is invalid: ${validate.message}` }];
  }
  if (!validate(args)) return schemaIssues(validate.errors ?? [], args);
  if (!check) return [];
  let problems: ArgumentProblem[];
  try {
    problems = check(args);
  } catch (error) {
    return [{ pointer: '', message: `internal error in the checks of module ${module}: ${(error as Error).message}` }];
  }
  return problems.map((p) => {
    const value = valueAt(args, p.path);
    return {
      pointer: p.path,
      message: p.message,
      // A scalar the message does not already quote; a whole mapping says nothing useful.
      got:
        p.path === '' || value === undefined || typeof value === 'object' || p.message.includes(String(value))
          ? undefined
          : preview(value, p.path),
    };
  });
}

function valueAt(root: unknown, pointer: string): unknown {
  if (pointer === '') return root;
  let value = root;
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}

const SECRET_NAME = /(private|secret|pass(word|wd|phrase)?|token|psk|preshared)/i;

/** JSON of a value for messages; never a secret: mappings and lists are only named. */
function preview(value: unknown, pointer: string, parentSchema?: unknown): string {
  if (value === null || typeof value === 'object') return kindOf(value);
  const name = pointer.slice(pointer.lastIndexOf('/') + 1);
  const writeOnly = !!parentSchema && typeof parentSchema === 'object' && (parentSchema as { writeOnly?: unknown }).writeOnly === true;
  if (typeof value === 'string' && (SECRET_NAME.test(name) || writeOnly)) {
    return `a string of ${value.length} characters, not shown`;
  }
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 60 ? `${json.slice(0, 56)}..."` : json;
}

function schemaIssues(errors: ErrorObject[], args: unknown): ArgumentIssue[] {
  // Drop "must match a schema in anyOf/oneOf" and "must match then" when the branches
  // said something more precise about the same value.
  const precise = errors.filter((e) => !['anyOf', 'oneOf', 'if'].includes(e.keyword));
  // A value of one branch's type that fails that branch (table "x0": an integer, or a
  // string matching a pattern) gets that branch's reason only: the other branches'
  // "must be integer" is not what is wrong with a string.
  const branch = (e: ErrorObject) => /^(.*\/(?:anyOf|oneOf))\/\d+\/[^/]+$/.exec(e.schemaPath)?.[1];
  const typeMatched = new Set(precise.filter((e) => e.keyword !== 'type' && branch(e)).map((e) => `${e.instancePath}\0${branch(e)}`));
  const kept = errors.filter((e) => {
    if (e.keyword === 'type' && typeMatched.has(`${e.instancePath}\0${branch(e)}`)) return false;
    if (!['anyOf', 'oneOf', 'if'].includes(e.keyword)) return true;
    return !precise.some((p) => p.instancePath.startsWith(e.instancePath) && p.schemaPath.startsWith(e.schemaPath.replace(/\/(anyOf|oneOf|if)$/, '')));
  });

  // "must be string" + "must be integer" on one value -> "must be string or integer".
  const types = new Map<string, string[]>();
  for (const e of kept) {
    if (e.keyword !== 'type') continue;
    const list = types.get(e.instancePath) ?? [];
    for (const t of String(e.params.type).split(',')) if (!list.includes(t)) list.push(t);
    types.set(e.instancePath, list);
  }

  const issues: ArgumentIssue[] = [];
  const seen = new Set<string>();
  const push = (issue: ArgumentIssue): void => {
    const id = `${issue.pointer}\0${issue.key}\0${issue.message}`;
    if (seen.has(id)) return;
    seen.add(id);
    issues.push(issue);
  };

  for (const e of kept) {
    const pointer = e.instancePath;
    const got = preview(e.data, pointer, e.parentSchema);
    const params = e.params as Record<string, any>;
    switch (e.keyword) {
      case 'type': {
        const list = types.get(pointer)!;
        push({ pointer, message: `must be ${list.map(typeName).join(' or ')}`, got });
        break;
      }
      case 'required':
        push({ pointer, message: `missing required argument "${params.missingProperty}"` });
        break;
      case 'additionalProperties': {
        const property = String(params.additionalProperty);
        const allowed = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
        const hint = didYouMean(property, allowed);
        const listing = !hint && allowed.length > 0 && allowed.length <= 12 ? `; allowed: ${allowed.join(', ')}` : '';
        push({ pointer: `${pointer}/${escapePointer(property)}`, key: true, message: `additional property "${property}" is not allowed${hint}${listing}` });
        break;
      }
      case 'enum': {
        const allowed = (params.allowedValues as unknown[]) ?? [];
        const hint =
          typeof e.data === 'string'
            ? closest(e.data, allowed.filter((a): a is string => typeof a === 'string'))
            : undefined;
        push({
          pointer,
          message: `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`,
          got,
          hint,
        });
        break;
      }
      case 'const':
        push({ pointer, message: `must be ${JSON.stringify(params.allowedValue)}`, got });
        break;
      case 'minLength':
        push({ pointer, message: params.limit === 1 ? 'must not be empty' : `must be at least ${params.limit} characters long`, got });
        break;
      case 'maxLength':
        push({ pointer, message: `must be at most ${params.limit} characters long`, got });
        break;
      case 'minItems':
        push({ pointer, message: `must have at least ${params.limit} item${params.limit === 1 ? '' : 's'}`, got });
        break;
      case 'maxItems':
        push({ pointer, message: `must have at most ${params.limit} item${params.limit === 1 ? '' : 's'}`, got });
        break;
      case 'minProperties':
      case 'maxProperties':
        push({ pointer, message: e.message ?? e.keyword });
        break;
      case 'pattern':
        push({ pointer, message: `must match the pattern ${params.pattern}`, got });
        break;
      case 'format':
        push({ pointer, message: `must be a valid ${params.format}`, got });
        break;
      case 'uniqueItems':
        push({ pointer, message: `must not contain duplicates (items ${params.j} and ${params.i} are the same)` });
        break;
      case 'dependentRequired':
      case 'dependencies':
        push({ pointer, message: `"${params.property}" requires "${params.missingProperty}" as well` });
        break;
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
      case 'multipleOf':
        push({ pointer, message: e.message ?? e.keyword, got });
        break;
      case 'net':
        // The message quotes the value already.
        push({ pointer, message: e.message ?? 'is not a valid value' });
        break;
      case 'propertyNames':
        push({ pointer: `${pointer}/${escapePointer(String(params.propertyName))}`, key: true, message: `invalid name "${params.propertyName}"` });
        break;
      default:
        push({ pointer, message: e.message ?? `fails ${e.keyword}`, got: e.data !== undefined && e.data !== args ? got : undefined });
    }
  }
  return issues;
}

function typeName(type: string): string {
  switch (type) {
    case 'object':
      return 'a mapping';
    case 'array':
      return 'a list';
    case 'null':
      return 'null';
    default:
      return type;
  }
}

/**
 * The same validation for a task built in code (the library path, and the tasks that
 * expanding modules make): problems are placed by a JSON pointer into the arguments
 * instead of file:line. Returns the invocation with its arguments validated, completed
 * with defaults and canonical (a copy: the caller's object is left as it was).
 */
export function checkInvocation(invocation: TaskInvocation): { invocation: TaskInvocation; problems: Problem[] } {
  const result = checkInvocationCopy(invocation);
  if (result.problems.length === 0 && result.invocation.args !== null && typeof result.invocation.args === 'object') checked.add(result.invocation.args);
  return result;
}

/**
 * The argument objects checkInvocation made and validated: a copy only the engine holds
 * (it replaces endpoint names in them by addresses, nothing else), so expanding them
 * again need not validate them again (isCheckedCopy).
 */
const checked = new WeakSet<object>();

/** Whether `args` is an argument copy checkInvocation made and validated. */
export const isCheckedCopy = (args: unknown): boolean => args !== null && typeof args === 'object' && checked.has(args);

function checkInvocationCopy(invocation: TaskInvocation): { invocation: TaskInvocation; problems: Problem[] } {
  const owner = findTask(invocation.module) ?? findModule(invocation.module);
  const label = `task "${invocation.name}"`;
  if (!owner) {
    const hint = didYouMean(invocation.module, knownTaskNames());
    return { invocation, problems: [{ where: invocation.origin ?? label, message: `unknown module "${invocation.module}"${hint}` }] };
  }
  let args: unknown;
  try {
    args = structuredClone(invocation.args);
  } catch {
    return { invocation, problems: [{ where: invocation.origin ?? label, message: `${invocation.module} arguments must be plain data (mappings, lists, strings, numbers, booleans)` }] };
  }
  const issues = validateArgs(invocation.module, owner.schema, owner.check?.bind(owner), args);
  const problems = issues.map((issue) => {
    const pointer = issue.pointer;
    let details = issue.got !== undefined ? `got ${issue.got}` : '';
    if (issue.hint !== undefined) details += `${details ? '; ' : ''}did you mean ${JSON.stringify(issue.hint)}?`;
    return {
      where: `${invocation.origin ? `${invocation.origin}: ` : ''}${label}, ${invocation.module} arguments ${pointer || '(the whole)'}`,
      message: `${issue.message}${details ? ` (${details})` : ''}`,
    };
  });
  return { invocation: { ...invocation, args }, problems };
}

/** Every invocation checked (see checkInvocation); throws one WgplayError listing every problem. */
export function checkInvocations(invocations: TaskInvocation[]): TaskInvocation[] {
  const problems: Problem[] = [];
  const checked = invocations.map((invocation) => {
    const result = checkInvocation(invocation);
    problems.push(...result.problems);
    return result.invocation;
  });
  if (problems.length > 0) throw new WgplayError(problems);
  return checked;
}

/**
 * The string values of `data` whose schema declares `net: kind`, with where they sit,
 * so a later step (endpoint names resolved on the controller) can replace them.
 */
export function netValuesOf(schema: unknown, data: unknown, kind: string): { parent: any; key: string | number; value: string; pointer: string }[] {
  const found: { parent: any; key: string | number; value: string; pointer: string }[] = [];
  const walk = (node: any, value: unknown, parent: any, key: string | number | undefined, pointer: string): void => {
    if (!node || typeof node !== 'object') return;
    if (node.net === kind && typeof value === 'string' && parent !== undefined && key !== undefined) found.push({ parent, key, value, pointer });
    for (const branch of [...(node.anyOf ?? []), ...(node.oneOf ?? []), ...(node.allOf ?? [])]) walk(branch, value, parent, key, pointer);
    if (Array.isArray(value) && node.items) value.forEach((item, index) => walk(node.items, item, value, index, `${pointer}/${index}`));
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [name, item] of Object.entries(value)) {
        const child = node.properties?.[name] ?? (typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined);
        walk(child, item, value, name, `${pointer}/${escapePointer(name)}`);
      }
    }
  };
  walk(schema, data, undefined, undefined, '');
  // anyOf branches may reach one value twice.
  return found.filter((entry, index) => found.findIndex((other) => other.parent === entry.parent && other.key === entry.key) === index);
}
