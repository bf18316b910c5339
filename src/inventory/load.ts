import { readFileSync } from 'node:fs';
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type Node,
  type Pair,
  type Tags,
  type YAMLMap,
} from 'yaml';
import { WgplayError, type Problem } from '../errors.js';
import { checkConnectionVar } from './connection.js';
import type { Inventory, InventoryGroup, InventoryHost, ValuePosition } from './types.js';

// Ansible's YAML inventory format:
//
//   all:
//     vars: { ansible_user: admin }
//     hosts:
//       gw1: { ansible_host: 192.0.2.10 }
//     children:
//       gateways:
//         vars: { ansible_become: true }
//         hosts: { gw2: , gw[3:5]: }
//         children: { eu: { hosts: { gw6: } } }
//
// Top-level keys other than `all` are groups (children of all), as in Ansible. Parsed
// as YAML 1.1, like Ansible does (yes/no are booleans).

const GROUP_KEYS = ['hosts', 'children', 'vars'];

// PyYAML's YAML 1.1 booleans (what Ansible reads): not the single letters y/n, which
// the yaml package's 1.1 schema also takes as booleans.
const PY_TRUE = /^(?:[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON)$/;
const PY_FALSE = /^(?:[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/;

function ansibleTags(tags: Tags): Tags {
  return tags.map((tag) => {
    if (typeof tag === 'string' || tag.tag !== 'tag:yaml.org,2002:bool') return tag;
    if (!('test' in tag) || !(tag.test instanceof RegExp)) return tag;
    return { ...tag, test: tag.test.test('true') ? PY_TRUE : PY_FALSE };
  }) as Tags;
}
/** Characters that would make a group unreachable from a host pattern. */
const BAD_GROUP_CHARS = /[\s:,!&*?[\]~]/;

interface HostRecord {
  name: string;
  origin: string;
  vars: Record<string, unknown>;
  varOrigins: Map<string, ValuePosition>;
  /** Groups the host is written under, directly. */
  direct: Set<string>;
}

interface GroupRecord extends InventoryGroup {
  parents: Set<string>;
  priority: number;
}

class Loader {
  readonly problems: Problem[] = [];
  readonly hosts = new Map<string, HostRecord>();
  readonly groups = new Map<string, GroupRecord>();
  private readonly lines = new LineCounter();
  private doc!: Document.Parsed;

  constructor(
    private readonly path: string,
    private readonly text: string,
  ) {}

  where(node: { range?: [number, number, number] | null } | null | undefined): string {
    const offset = node?.range?.[0];
    if (offset === undefined) return this.path;
    const { line, col } = this.lines.linePos(offset);
    return `${this.path}:${line}:${col}`;
  }

  problem(node: { range?: [number, number, number] | null } | null | undefined, message: string): void {
    this.problems.push({ where: this.where(node), message });
  }

  load(): void {
    this.doc = parseDocument(this.text, {
      version: '1.1',
      customTags: ansibleTags,
      lineCounter: this.lines,
      prettyErrors: false,
    });
    for (const error of this.doc.errors) {
      const { line, col } = this.lines.linePos(error.pos[0]);
      this.problems.push({
        where: `${this.path}:${line}:${col}`,
        message: `malformed YAML: ${error.message.split('\n')[0]}`,
      });
    }
    if (this.problems.length > 0) return;

    this.group('all', null);
    const root = this.deref(this.doc.contents);
    if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) {
      this.problems.push({ where: this.path, message: 'the inventory is empty (it should start with "all:")' });
      return;
    }
    if (!isMap(root)) {
      this.problem(root, `the inventory must be a mapping starting with "all:", not ${kind(root)}`);
      return;
    }
    for (const pair of (root as YAMLMap).items) {
      const name = this.keyName(pair, 'group name');
      if (name === undefined) continue;
      if (name === 'all') {
        this.groupBody('all', pair.value as Node | null, pair.key as Node);
      } else if (GROUP_KEYS.includes(name)) {
        this.problem(
          pair.key as Node,
          `unknown top-level key "${name}": put hosts, children and vars under "all:"`,
        );
      } else {
        const value = this.deref(pair.value as Node | null);
        if (value !== null && !isMap(value) && !(isScalar(value) && value.value === null)) {
          this.problem(
            pair.key as Node,
            `unknown top-level key "${name}": a top-level key is "all" or a group (a mapping with hosts, children or vars), not ${kind(value)}`,
          );
          continue;
        }
        this.addChild('all', name, pair.key as Node);
        this.groupBody(name, value, pair.key as Node);
      }
    }
  }

  private deref(node: Node | null | undefined): Node | null {
    let n: unknown = node ?? null;
    for (let i = 0; i < 100 && isAlias(n); i++) n = n.resolve(this.doc) ?? null;
    return (n as Node | null) ?? null;
  }

  private toJS(node: Node | null): unknown {
    return node === null ? null : node.toJS(this.doc, { maxAliasCount: 1000 });
  }

  private isEmpty(node: Node | null): boolean {
    return node === null || (isScalar(node) && node.value === null);
  }

  private keyName(pair: Pair, what: string): string | undefined {
    const key = this.deref(pair.key as Node | null);
    if (!isScalar(key) || key.value === null || typeof key.value === 'object') {
      this.problem(key ?? (pair.value as Node | null), `expected a ${what}, not ${kind(key)}`);
      return undefined;
    }
    const name = String(key.value);
    if (name.trim() === '') {
      this.problem(key, `expected a ${what}, not an empty string`);
      return undefined;
    }
    return name;
  }

  private group(name: string, at: Node | null): GroupRecord {
    let g = this.groups.get(name);
    if (!g) {
      g = {
        name,
        hosts: [],
        children: [],
        vars: {},
        varOrigins: new Map(),
        depth: 0,
        origin: at ? this.where(at) : this.path,
        parents: new Set(),
        priority: 1,
      };
      this.groups.set(name, g);
    }
    return g;
  }

  /** True when `descendant` is `ancestor` or below it. */
  private isBelow(descendant: string, ancestor: string): boolean {
    if (descendant === ancestor) return true;
    const seen = new Set<string>();
    const stack = [ancestor];
    while (stack.length > 0) {
      const g = this.groups.get(stack.pop()!);
      if (!g || seen.has(g.name)) continue;
      seen.add(g.name);
      for (const child of g.children) {
        if (child === descendant) return true;
        stack.push(child);
      }
    }
    return false;
  }

  private addChild(parent: string, child: string, at: Node): boolean {
    if (child === 'all') {
      this.problem(at, `group "all" cannot be a child of "${parent}"`);
      return false;
    }
    if (BAD_GROUP_CHARS.test(child)) {
      this.problem(at, `group name "${child}" has a character host patterns use (whitespace : , ! & * ? [ ] ~)`);
      return false;
    }
    if (this.isBelow(parent, child)) {
      this.problem(at, `group "${child}" under "${parent}" makes a loop ("${parent}" is already below "${child}")`);
      return false;
    }
    const p = this.group(parent, at);
    const c = this.group(child, at);
    if (!p.children.includes(child)) p.children.push(child);
    c.parents.add(parent);
    return true;
  }

  private groupBody(name: string, rawNode: Node | null, at: Node): void {
    const node = this.deref(rawNode);
    const group = this.group(name, at);
    if (this.isEmpty(node)) return;
    if (!isMap(node)) {
      this.problem(node, `group "${name}" must be a mapping with hosts, children or vars, not ${kind(node)}`);
      return;
    }
    for (const pair of (node as YAMLMap).items) {
      const key = this.keyName(pair, 'key (hosts, children or vars)');
      if (key === undefined) continue;
      const value = this.deref(pair.value as Node | null);
      const keyNode = pair.key as Node;
      switch (key) {
        case 'hosts':
          this.hostsOf(group, value, keyNode);
          break;
        case 'children':
          if (this.isEmpty(value)) break;
          if (!isMap(value)) {
            this.problem(
              value,
              `children of group "${name}" must be a mapping of group names (each followed by ":"), not ${kind(value)}`,
            );
            break;
          }
          for (const child of (value as YAMLMap).items) {
            const childName = this.keyName(child, 'group name');
            if (childName === undefined) continue;
            if (this.addChild(name, childName, child.key as Node)) {
              this.groupBody(childName, child.value as Node | null, child.key as Node);
            }
          }
          break;
        case 'vars':
          this.varsOf(`group "${name}"`, value, group.vars, group.varOrigins, true, group);
          break;
        default:
          this.problem(
            keyNode,
            `unknown key "${key}" in group "${name}" (expected hosts, children or vars)`,
          );
      }
    }
  }

  private hostsOf(group: GroupRecord, node: Node | null, at: Node): void {
    if (this.isEmpty(node)) return;
    if (!isMap(node)) {
      this.problem(
        node ?? at,
        `hosts of group "${group.name}" must be a mapping of host names (each followed by ":"), not ${kind(node)}`,
      );
      return;
    }
    for (const pair of (node as YAMLMap).items) {
      const pattern = this.keyName(pair, 'host name');
      if (pattern === undefined) continue;
      const keyNode = pair.key as Node;
      let names: string[];
      try {
        names = expandHostRange(pattern);
      } catch (e) {
        this.problem(keyNode, (e as Error).message);
        continue;
      }
      const value = this.deref(pair.value as Node | null);
      if (!this.isEmpty(value) && !isMap(value)) {
        const hint = isScalar(value)
          ? ` (to give its address, write "${pattern}: { ansible_host: ${String(value.value)} }")`
          : '';
        this.problem(value, `host "${pattern}" must be a mapping of variables or empty, not ${kind(value)}${hint}`);
        continue;
      }
      const vars: Record<string, unknown> = {};
      const origins = new Map<string, ValuePosition>();
      this.varsOf(`host "${pattern}"`, value, vars, origins, false);
      for (const name of names) {
        let host = this.hosts.get(name);
        if (!host) {
          host = { name, origin: this.where(keyNode), vars: {}, varOrigins: new Map(), direct: new Set() };
          this.hosts.set(name, host);
        }
        Object.assign(host.vars, vars);
        for (const [k, position] of origins) host.varOrigins.set(k, position);
        host.direct.add(group.name);
        if (!group.hosts.includes(name)) group.hosts.push(name);
      }
    }
  }

  private varsOf(
    owner: string,
    node: Node | null,
    into: Record<string, unknown>,
    origins: Map<string, ValuePosition>,
    isGroup: boolean,
    group?: GroupRecord,
  ): void {
    if (this.isEmpty(node)) return;
    if (!isMap(node)) {
      this.problem(node, `vars of ${owner} must be a mapping, not ${kind(node)}`);
      return;
    }
    const values = this.toJS(node);
    if (values === null || typeof values !== 'object' || Array.isArray(values)) return;
    const positions = this.positionOfValue(node, this.where(node)).fields;
    const map = node as YAMLMap;
    const positionOf = (name: string): Node => {
      for (const pair of map.items) {
        const key = this.deref(pair.key as Node | null);
        if (isScalar(key) && String(key.value) === name) return (pair.value as Node | null) ?? (pair.key as Node);
      }
      return node!;
    };
    for (const [name, value] of Object.entries(values as Record<string, unknown>)) {
      const problem = checkConnectionVar(name, value);
      if (problem) this.problem(positionOf(name), problem);
      if (isGroup && name === 'ansible_group_priority') {
        if (typeof value !== 'number' || !Number.isInteger(value)) {
          this.problem(positionOf(name), `ansible_group_priority must be an integer, not ${JSON.stringify(value)}`);
        } else if (group) {
          group.priority = value;
        }
      }
      into[name] = value;
      origins.set(name, positions?.get(name)?.value ?? { where: this.where(positionOf(name)) });
    }
  }

  /**
   * Where `node` (as written: an alias is where the alias is) and each of its parts
   * are. Parts reached through an alias are where the anchored node writes them; merge
   * keys (<<) bring the merged mapping's fields, as toJS does (the mapping's own keys
   * win, then the first merged mapping).
   */
  private positionOfValue(node: Node | null, fallback: string, depth = 0): ValuePosition {
    const where = node?.range ? this.where(node) : fallback;
    const target = this.deref(node);
    if (target === null || depth > 100) return { where };
    if (isSeq(target)) {
      return { where, items: target.items.map((item) => this.positionOfValue(item as Node | null, where, depth + 1)) };
    }
    if (!isMap(target)) return { where };
    const fields = new Map<string, { keyWhere: string; value: ValuePosition }>();
    const merged: Map<string, { keyWhere: string; value: ValuePosition }>[] = [];
    for (const pair of (target as YAMLMap).items) {
      const key = this.deref(pair.key as Node | null);
      if (!isScalar(key)) continue;
      if (isMergeKey(key)) {
        const source = this.deref(pair.value as Node | null);
        const sources = isSeq(source) ? source.items.map((item) => item as Node | null) : [pair.value as Node | null];
        for (const s of sources) {
          const fieldsOfSource = this.positionOfValue(s, where, depth + 1).fields;
          if (fieldsOfSource) merged.push(fieldsOfSource);
        }
        continue;
      }
      const keyWhere = this.where(key);
      fields.set(String(key.value), { keyWhere, value: this.positionOfValue(pair.value as Node | null, keyWhere, depth + 1) });
    }
    for (const source of merged) {
      for (const [name, field] of source) if (!fields.has(name)) fields.set(name, field);
    }
    return { where, fields };
  }

  /** Ansible's reconcile: ungrouped, parents, depths, merged vars. */
  finish(): Inventory {
    const all = this.groups.get('all')!;
    this.group('ungrouped', null);
    for (const g of this.groups.values()) {
      if (g.name !== 'all' && g.parents.size === 0) {
        all.children.push(g.name);
        g.parents.add('all');
      }
    }
    const ungrouped = this.groups.get('ungrouped')!;
    for (const host of this.hosts.values()) {
      const others = [...host.direct].filter((g) => g !== 'all' && g !== 'ungrouped');
      if (others.length === 0) {
        if (!ungrouped.hosts.includes(host.name)) ungrouped.hosts.push(host.name);
        host.direct.add('ungrouped');
      } else if (host.direct.has('ungrouped')) {
        host.direct.delete('ungrouped');
        ungrouped.hosts.splice(ungrouped.hosts.indexOf(host.name), 1);
      }
    }

    // depth = 1 + the deepest parent (Ansible sets kid.depth = max(parent.depth + 1, kid.depth)).
    const depthOf = new Map<string, number>();
    const depth = (name: string): number => {
      const known = depthOf.get(name);
      if (known !== undefined) return known;
      const g = this.groups.get(name)!;
      const d = name === 'all' ? 0 : Math.max(...[...g.parents].map((p) => depth(p) + 1));
      depthOf.set(name, d);
      return d;
    };
    for (const g of this.groups.values()) g.depth = depth(g.name);

    const groups = new Map<string, InventoryGroup>();
    for (const g of this.groups.values()) {
      groups.set(g.name, {
        name: g.name,
        hosts: g.hosts,
        children: g.children,
        vars: g.vars,
        varOrigins: g.varOrigins,
        depth: g.depth,
        origin: g.origin,
      });
    }

    const hosts = new Map<string, InventoryHost>();
    for (const h of this.hosts.values()) {
      const member = new Set<string>(['all']);
      const stack = [...h.direct];
      while (stack.length > 0) {
        const name = stack.pop()!;
        if (member.has(name) && name !== 'all') continue;
        member.add(name);
        stack.push(...this.groups.get(name)!.parents);
      }
      const ordered = [...member]
        .map((name) => this.groups.get(name)!)
        .sort(
          (a, b) =>
            a.depth - b.depth ||
            a.priority - b.priority ||
            (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
        );
      // Positions merge like the values: the definition that wins is the one pointed at.
      const vars: Record<string, unknown> = {};
      const varOrigins = new Map<string, ValuePosition>();
      for (const g of [...ordered, h]) {
        Object.assign(vars, g.vars);
        for (const [name, position] of g.varOrigins) varOrigins.set(name, position);
      }
      hosts.set(h.name, { name: h.name, vars, groups: ordered.map((g) => g.name), origin: h.origin, varOrigins });
    }
    return { path: this.path, hosts, groups };
  }
}

/** A YAML 1.1 merge key: a plain `<<`, which the yaml package resolves to a symbol. */
function isMergeKey(key: { value: unknown }): boolean {
  return typeof key.value === 'symbol' && key.value.description === '<<';
}

function kind(node: unknown): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'nothing';
    if (typeof v === 'string') return `a string (${JSON.stringify(v)})`;
    return `${typeof v} ${String(v)}`;
  }
  return 'something else';
}

/**
 * Ansible's host ranges: "web[01:03]" -> web01 web02 web03, "db-[a:c]" -> db-a db-b
 * db-c, "[1:9:2]" with a stride. Several ranges multiply out.
 */
export function expandHostRange(pattern: string): string[] {
  const open = pattern.indexOf('[');
  if (open < 0) {
    if (pattern.includes(']')) throw new Error(`host name "${pattern}" has an unmatched "]"`);
    return [pattern];
  }
  const close = pattern.indexOf(']', open);
  if (close < 0) throw new Error(`host name "${pattern}" has an unmatched "["`);
  const head = pattern.slice(0, open);
  const inner = pattern.slice(open + 1, close);
  const tail = pattern.slice(close + 1);
  const m = /^([0-9]+|[a-zA-Z]):([0-9]+|[a-zA-Z])(?::([0-9]+))?$/.exec(inner);
  if (!m) {
    throw new Error(`host name "${pattern}": "[${inner}]" is not a range like [1:3], [01:10] or [a:f]`);
  }
  const [, begin, end, strideText] = m;
  const stride = strideText === undefined ? 1 : Number(strideText);
  if (stride < 1) throw new Error(`host name "${pattern}": the range's step must be at least 1`);
  const values: string[] = [];
  const numeric = /^[0-9]+$/.test(begin!);
  if (numeric !== /^[0-9]+$/.test(end!)) {
    throw new Error(`host name "${pattern}": a range is between two numbers or two letters`);
  }
  if (numeric) {
    const from = Number(begin);
    const to = Number(end);
    if (from > to) throw new Error(`host name "${pattern}": the range's start is after its end`);
    const width = begin!.length > 1 && begin!.startsWith('0') ? begin!.length : 0;
    if ((to - from) / stride > 100_000) throw new Error(`host name "${pattern}": the range is too large`);
    for (let i = from; i <= to; i += stride) values.push(String(i).padStart(width, '0'));
  } else {
    const from = begin!.charCodeAt(0);
    const to = end!.charCodeAt(0);
    if (from > to) throw new Error(`host name "${pattern}": the range's start is after its end`);
    for (let i = from; i <= to; i += stride) values.push(String.fromCharCode(i));
  }
  return values.flatMap((v) => expandHostRange(`${head}${v}${tail}`));
}

/** Parses inventory text; `path` is used in messages. Throws WgplayError with every problem. */
export function parseInventory(text: string, path: string): Inventory {
  const loader = new Loader(path, text);
  loader.load();
  if (loader.problems.length > 0) throw new WgplayError(loader.problems);
  const inventory = loader.finish();
  if (loader.problems.length > 0) throw new WgplayError(loader.problems);
  return inventory;
}

/** Loads an Ansible-style YAML inventory. Throws WgplayError with every problem. */
export function loadInventory(path: string): Inventory {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const message =
      code === 'ENOENT'
        ? 'inventory file not found'
        : code === 'EISDIR'
          ? 'the inventory is a directory; give the path of a YAML inventory file'
          : code === 'EACCES'
            ? 'cannot read the inventory file: permission denied'
            : `cannot read the inventory file: ${(e as Error).message}`;
    throw new WgplayError([{ where: path, message }]);
  }
  return parseInventory(text, path);
}
