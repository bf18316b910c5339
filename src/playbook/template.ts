/**
 * Templating: `{{ var }}` and `{{ var.path.0.field }}` (also `var.list[0]`), nothing else.
 *
 * A string that is exactly one template takes the variable's native value; inside a longer
 * string the value is stringified (strings, numbers, booleans only). Variables resolve
 * lazily, per host, with cycle detection. Every rendered value records where it came
 * from (a SourceMap keyed by JSON pointer), so later errors can point at the playbook.
 */
import type { ValuePosition } from '../inventory/types.js';
import type { MapNode, Node } from './types.js';
import { didYouMean } from './suggest.js';

// ---------------------------------------------------------------- parsing

interface TemplateRef {
  /** The path as written, normalised: "customers.1.name". */
  text: string;
  root: string;
  /** Segments after the root: field names or indexes (both as strings). */
  path: string[];
}

type TemplatePart = string | TemplateRef;

const REF = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+|\[\d+\])*$/;
const SEGMENT = /\.([A-Za-z0-9_-]+)|\[(\d+)\]/g;
const parsed = new Map<string, TemplatePart[] | { error: string }>();

/** True when the string holds `{{` and so must be rendered. */
function hasTemplate(s: string): boolean {
  return s.includes('{{');
}

/** Splits a string into literal text and references; `{ error }` for bad syntax. */
export function parseTemplate(s: string): TemplatePart[] | { error: string } {
  const cached = parsed.get(s);
  if (cached) return cached;
  const result = parseUncached(s);
  if (parsed.size > 10_000) parsed.clear();
  parsed.set(s, result);
  return result;
}

/** A string for an error message: quoted, and cut to a readable length. */
const quoted = (s: string) => (s.length > 80 ? `${JSON.stringify(s.slice(0, 80))}... (${s.length} characters)` : JSON.stringify(s));

function parseUncached(s: string): TemplatePart[] | { error: string } {
  const parts: TemplatePart[] = [];
  let at = 0;
  while (at < s.length) {
    const open = s.indexOf('{{', at);
    if (open < 0) {
      parts.push(s.slice(at));
      break;
    }
    if (open > at) parts.push(s.slice(at, open));
    const close = s.indexOf('}}', open + 2);
    if (close < 0) {
      return { error: `unclosed "{{" in ${quoted(s)}: a template is written {{ variable }}` };
    }
    const inner = s.slice(open + 2, close).trim();
    if (!REF.test(inner)) {
      const source = s.slice(open, close + 2);
      const why = inner.includes('|')
        ? 'filters are not supported'
        : inner === ''
          ? 'it names no variable'
          : 'only a variable name with an optional .field / .0 / [0] path is allowed (no filters, expressions or code)';
      return { error: `unsupported template ${quoted(source)}: ${why}` };
    }
    const root = /^[A-Za-z_][A-Za-z0-9_]*/.exec(inner)![0];
    const path: string[] = [];
    for (const m of inner.slice(root.length).matchAll(SEGMENT)) path.push(m[1] ?? m[2]!);
    parts.push({ text: [root, ...path].join('.'), root, path });
    at = close + 2;
  }
  return parts;
}

/** Syntax errors of every template in a node: [where, message]. For load-time checks. */
export function templateSyntaxErrors(node: Node): { where: string; message: string }[] {
  const out: { where: string; message: string }[] = [];
  const walk = (n: Node): void => {
    if (n.kind === 'scalar') {
      if (typeof n.value === 'string' && hasTemplate(n.value)) {
        const result = parseTemplate(n.value);
        if (!Array.isArray(result)) out.push({ where: n.where, message: result.error });
      }
    } else if (n.kind === 'seq') n.items.forEach(walk);
    else n.entries.forEach((e) => walk(e.value));
  };
  walk(node);
  return out;
}

// ---------------------------------------------------------------- source maps

/** Where a variable was defined, for messages. */
export type VarOrigin =
  | { kind: 'play'; play: string }
  /** `located`: its nodes are where the inventory writes them (else all "host X"). */
  | { kind: 'host'; host: string; located: boolean }
  | { kind: 'magic' };

type Via =
  /** The value is the native value of one variable (or a part of it). */
  | { kind: 'var'; ref: string; root: string; origin: VarOrigin; map: SourceMap; base: string }
  /** The value is a string built from a template with text around the references. */
  | { kind: 'interpolated'; template: string };

interface SourceEntry {
  where: string;
  via?: Via;
}

/** Where each part of a rendered value came from, keyed by JSON pointer ("" = root). */
export class SourceMap {
  readonly values = new Map<string, SourceEntry>();
  /** Where mapping keys were written, keyed by the pointer of their value. */
  readonly keys = new Map<string, string>();
}

export interface Located {
  where: string;
  /** How the value got there, innermost last: ["from variable \"x\" of host web1"]. */
  trail: string[];
  /** The variables the value came through, outermost first. */
  hops: Hop[];
  /** The template the innermost value was interpolated from, if it was. */
  interpolated?: string;
}

/** One variable a value came through. */
export interface Hop {
  /** The variable's name ("customers", also for a "{{ customers.1 }}" reference). */
  variable: string;
  /** Where the value is inside the variable: "/1/name". */
  pointer: string;
  origin: VarOrigin;
  /** Where that part of the variable's definition is (or its key's, for key problems). */
  where: string;
}

/**
 * The place that produced the value at `pointer` (or, with `key`, the mapping key of it):
 * the deepest recorded node on the way; through templates, the template string, with a
 * trail naming the variables.
 */
export function locate(map: SourceMap, pointer: string, key = false): Located {
  if (key) {
    const keyWhere = map.keys.get(pointer);
    if (keyWhere !== undefined) return { where: keyWhere, trail: [], hops: [] };
  }
  let p = pointer;
  for (;;) {
    const entry = map.values.get(p);
    if (entry) {
      if (entry.via?.kind === 'var') {
        const innerPointer = entry.via.base + pointer.slice(p.length);
        const inner = locate(entry.via.map, innerPointer, key);
        const hop: Hop = { variable: entry.via.root, pointer: innerPointer, origin: entry.via.origin, where: inner.where };
        return {
          where: entry.where,
          trail: [describeVia(entry.via, inner.where), ...inner.trail],
          hops: [hop, ...inner.hops],
          ...(inner.interpolated !== undefined ? { interpolated: inner.interpolated } : {}),
        };
      }
      if (entry.via?.kind === 'interpolated') {
        const template = entry.via.template;
        return { where: entry.where, trail: [`templated from ${JSON.stringify(template)}`], hops: [], interpolated: template };
      }
      return { where: entry.where, trail: [], hops: [] };
    }
    if (p === '') return { where: '', trail: [], hops: [] };
    p = p.slice(0, p.lastIndexOf('/'));
  }
}

function describeVia(via: Extract<Via, { kind: 'var' }>, innerWhere: string): string {
  switch (via.origin.kind) {
    case 'play':
      return `from variable "${via.ref}" at ${innerWhere}`;
    case 'host':
      return via.origin.located
        ? `from variable "${via.ref}" of host ${via.origin.host} at ${innerWhere}`
        : `from variable "${via.ref}" of host ${via.origin.host}`;
    case 'magic':
      return `from variable "${via.ref}"`;
  }
}

export function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** "/customers/1/listen_port" -> ".customers[1].listen_port" (for messages). */
export function pointerToPath(pointer: string): string {
  if (pointer === '') return '';
  return pointer
    .slice(1)
    .split('/')
    .map(unescapePointer)
    .map((s) => (/^\d+$/.test(s) ? `[${s}]` : /^[A-Za-z_][A-Za-z0-9_-]*$/.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`))
    .join('');
}

// ---------------------------------------------------------------- scopes

export interface VarDef {
  /** The value, untemplated; inventory values are wrapped with toNode. */
  node: Node;
  origin: VarOrigin;
  /** Prefix for problems inside the definition: 'play "gw", vars.port' / 'vars.port'. */
  label: string;
  /** Definition order (host vars first): the variable a reported cycle starts at. */
  order: number;
}

interface Problem {
  where: string;
  message: string;
}

/** A rendered variable: its native value and where each part came from. */
interface Rendered {
  value: unknown;
  map: SourceMap;
}

/** Thrown (internally) when a variable already failed; its problem is already recorded. */
const FAILED_VAR = Symbol('failed variable');

class CycleError extends Error {
  constructor(readonly chain: string[]) {
    super(chain.join(' -> '));
  }
}

/**
 * The variables one host sees in one play. Definitions render on first use and are
 * cached; problems go to `problems` once per variable.
 */
/** How deep variables may refer to variables ({{ a }} -> {{ b }} -> ...). */
export const MAX_VARIABLE_DEPTH = 100;

export class Scope {
  private readonly state = new Map<string, { kind: 'busy' } | { kind: 'failed' } | { kind: 'done'; rendered: Rendered }>();
  private readonly stack: string[] = [];

  constructor(
    private readonly defs: Map<string, VarDef>,
    readonly problems: Problem[],
  ) {}

  names(): string[] {
    return [...this.defs.keys()];
  }

  originOf(name: string): VarOrigin {
    return this.defs.get(name)!.origin;
  }

  /** undefined: no such variable. Throws FAILED_VAR / CycleError (caught by render). */
  get(name: string): Rendered | undefined {
    const state = this.state.get(name);
    if (state?.kind === 'done') return state.rendered;
    if (state?.kind === 'failed') throw FAILED_VAR;
    if (state?.kind === 'busy') throw new CycleError([...this.stack.slice(this.stack.indexOf(name)), name]);
    const def = this.defs.get(name);
    if (!def) return undefined;
    if (this.stack.length >= MAX_VARIABLE_DEPTH) {
      // A chain this long is a generated input, not a playbook: refuse it before the stack runs out.
      const first = this.defs.get(this.stack[0]!)!;
      this.problems.push({
        where: first.node.where,
        message: `${first.label}: variables refer to each other more than ${MAX_VARIABLE_DEPTH} deep (${this.stack.slice(0, 3).join(' -> ')} -> ... -> ${name})`,
      });
      this.state.set(name, { kind: 'failed' });
      throw FAILED_VAR;
    }

    this.state.set(name, { kind: 'busy' });
    this.stack.push(name);
    try {
      const map = new SourceMap();
      const value = renderNode(def.node, '', map, {
        scope: this,
        describe: (pointer) => def.label + pointerToPath(pointer),
      });
      if (value === FAILED) {
        this.state.set(name, { kind: 'failed' });
        throw FAILED_VAR;
      }
      const rendered = { value, map };
      this.state.set(name, { kind: 'done', rendered });
      return rendered;
    } catch (error) {
      this.state.set(name, { kind: 'failed' });
      if (error instanceof CycleError && error.chain[0] === name) {
        this.reportCycle(error.chain);
        throw FAILED_VAR;
      }
      throw error;
    } finally {
      this.stack.pop();
    }
  }

  private reportCycle(chain: string[]): void {
    // Report the same cycle the same way whichever variable was asked for first.
    const members = chain.slice(0, -1);
    let start = 0;
    members.forEach((m, i) => {
      if (this.defs.get(m)!.order < this.defs.get(members[start]!)!.order) start = i;
    });
    const rotated = [...members.slice(start), ...members.slice(0, start)];
    const first = this.defs.get(rotated[0]!)!;
    const message =
      rotated.length === 1
        ? `variable "${rotated[0]}" refers to itself`
        : `variables refer to each other in a cycle: ${[...rotated, rotated[0]].join(' -> ')}`;
    this.problems.push({ where: first.node.where, message: `${first.label}: ${message}` });
  }
}

// ---------------------------------------------------------------- rendering

/** A value that could not be rendered; its problems are recorded. */
export const FAILED: unique symbol = Symbol('failed');

interface RenderContext {
  scope: Scope;
  /** Names the value at a pointer for messages: 'task "x", ip_rule.priority'. */
  describe(pointer: string): string;
}

/**
 * Renders a node into a plain value (fresh objects: callers may mutate them), filling
 * `map` under `pointer`. Returns FAILED after recording problems in ctx.scope.problems;
 * siblings are still rendered so every problem is reported.
 */
export function renderNode(node: Node, pointer: string, map: SourceMap, ctx: RenderContext): unknown {
  switch (node.kind) {
    case 'scalar':
      map.values.set(pointer, { where: node.where });
      if (typeof node.value === 'string' && hasTemplate(node.value)) {
        return renderString(node.value, node.where, pointer, map, ctx);
      }
      return node.value;
    case 'seq': {
      map.values.set(pointer, { where: node.where });
      let failed = false;
      const out = node.items.map((item, i) => {
        const value = renderNode(item, `${pointer}/${i}`, map, ctx);
        if (value === FAILED) failed = true;
        return value;
      });
      return failed ? FAILED : out;
    }
    case 'map':
      return renderMap(node, pointer, map, ctx);
  }
}

function renderMap(node: MapNode, pointer: string, map: SourceMap, ctx: RenderContext): unknown {
  map.values.set(pointer, { where: node.where });
  let failed = false;
  const out: Record<string, unknown> = {};
  for (const entry of node.entries) {
    const childPointer = `${pointer}/${escapePointer(entry.key)}`;
    map.keys.set(childPointer, entry.keyWhere);
    const value = renderNode(entry.value, childPointer, map, ctx);
    if (value === FAILED) failed = true;
    else out[entry.key] = value;
  }
  return failed ? FAILED : out;
}

function renderString(s: string, where: string, pointer: string, map: SourceMap, ctx: RenderContext): unknown {
  const parts = parseTemplate(s);
  const fail = (message: string): typeof FAILED => {
    ctx.scope.problems.push({ where, message: `${ctx.describe(pointer)}: ${message}` });
    return FAILED;
  };
  if (!Array.isArray(parts)) return fail(parts.error);

  if (parts.length === 1 && typeof parts[0] !== 'string') {
    const ref = parts[0]!;
    const found = resolveRef(ref, ctx, fail);
    if (found === FAILED) return FAILED;
    map.values.set(pointer, {
      where,
      via: { kind: 'var', ref: ref.text, root: ref.root, origin: found.origin, map: found.map, base: found.base },
    });
    return structuredClone(found.value);
  }

  let out = '';
  for (const part of parts) {
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    const found = resolveRef(part, ctx, fail);
    if (found === FAILED) return FAILED;
    const v = found.value;
    if (typeof v === 'string') out += v;
    else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') out += String(v);
    else return fail(`cannot interpolate ${kindOf(v)} into a string ("${part.text}" is ${kindOf(v)}; use "{{ ${part.text} }}" alone to pass it as it is)`);
  }
  map.values.set(pointer, { where, via: { kind: 'interpolated', template: s } });
  return out;
}

export function kindOf(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'number' || typeof v === 'bigint') return 'a number';
  if (typeof v === 'boolean') return 'a boolean';
  return typeof v;
}

interface Found {
  value: unknown;
  origin: VarOrigin;
  map: SourceMap;
  base: string;
}

function resolveRef(ref: TemplateRef, ctx: RenderContext, fail: (message: string) => typeof FAILED): Found | typeof FAILED {
  let rendered: Rendered | undefined;
  try {
    rendered = ctx.scope.get(ref.root);
  } catch (error) {
    if (error === FAILED_VAR) return FAILED;
    throw error;
  }
  if (rendered === undefined) {
    return fail(`undefined variable "${ref.root}"${didYouMean(ref.root, ctx.scope.names())}`);
  }
  const def = ctx.scope.originOf(ref.root);
  let value = rendered.value;
  let base = '';
  let walked = ref.root;
  for (const segment of ref.path) {
    if (Array.isArray(value)) {
      if (!/^\d+$/.test(segment)) {
        return fail(`"${walked}" is a list: "${segment}" is not an index (write ${walked}.0, ${walked}[0]...)`);
      }
      const index = Number(segment);
      if (index >= value.length) {
        return fail(`"${walked}" has no item ${index} (it has ${value.length} item${value.length === 1 ? '' : 's'})`);
      }
      value = value[index];
    } else if (value !== null && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      if (!Object.prototype.hasOwnProperty.call(record, segment)) {
        return fail(`"${walked}" has no field "${segment}"${didYouMean(segment, Object.keys(record))}`);
      }
      value = record[segment];
    } else {
      return fail(`"${walked}" is ${kindOf(value)}: it has no field "${segment}"`);
    }
    base += `/${escapePointer(segment)}`;
    walked += `.${segment}`;
  }
  return { value, origin: def, map: rendered.map, base };
}

// ---------------------------------------------------------------- inventory values

/**
 * Wraps a plain value (from the inventory) as a Node: every part where `position` says
 * the inventory writes it, else where its closest known parent is, else at `where`.
 */
export function toNode(value: unknown, where: string, position?: ValuePosition): Node {
  const at = position?.where ?? where;
  if (Array.isArray(value)) return { kind: 'seq', items: value.map((v, i) => toNode(v, at, position?.items?.[i])), where: at };
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return {
      kind: 'map',
      entries: Object.entries(value).map(([key, v]) => {
        const field = position?.fields?.get(key);
        return { key, keyWhere: field?.keyWhere ?? at, value: toNode(v, field?.keyWhere ?? at, field?.value) };
      }),
      where: at,
    };
  }
  return { kind: 'scalar', value, where: at };
}
