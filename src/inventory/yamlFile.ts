import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Document,
  type Node,
  type Tags,
  type YAMLMap,
} from 'yaml';
import type { Problem } from '../errors.js';
import { MAX_ALIAS_COUNT, parseLimited, yamlLimitProblems } from '../yamlLimits.js';
import type { ValuePosition } from './types.js';

// One YAML file as Ansible reads it (PyYAML, YAML 1.1), with the position of every
// value: inventory files and group_vars/host_vars files alike.

// PyYAML's YAML 1.1 booleans (what Ansible reads): not the single letters y/n, which
// the yaml package's 1.1 schema also takes as booleans.
const PY_TRUE = /^(?:[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON)$/;
const PY_FALSE = /^(?:[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/;

/** A value written `!vault |`: encrypted with ansible-vault, which wgplay cannot open. */
class VaultedValue {
  toJSON(): string {
    return '(encrypted with ansible-vault)';
  }
}

export const VAULT_MESSAGE = 'encrypted with ansible-vault: not supported; pass it with -e or an environment lookup';

const vaultTag = {
  tag: '!vault',
  resolve: () => new VaultedValue(),
};

function ansibleTags(tags: Tags): Tags {
  const adjusted = tags.map((tag) => {
    if (typeof tag === 'string') return tag;
    // A date stays the text written (Ansible prints a date as it is written).
    if (tag.tag === 'tag:yaml.org,2002:timestamp') return { ...tag, resolve: (text: string) => text };
    if (tag.tag !== 'tag:yaml.org,2002:bool') return tag;
    if (!('test' in tag) || !(tag.test instanceof RegExp)) return tag;
    return { ...tag, test: tag.test.test('true') ? PY_TRUE : PY_FALSE };
  });
  return [...adjusted, vaultTag] as Tags;
}

type Ranged = { range?: [number, number, number] | null } | null | undefined;

export class YamlFile {
  readonly problems: Problem[] = [];
  readonly doc: Document.Parsed;
  private readonly lines = new LineCounter();

  constructor(
    readonly path: string,
    text: string,
  ) {
    this.doc = parseLimited(text, this.path, {
      version: '1.1',
      customTags: ansibleTags,
      lineCounter: this.lines,
      prettyErrors: false,
      uniqueKeys: false,
    });
    for (const error of this.doc.errors) {
      const { line, col } = this.lines.linePos(error.pos[0]);
      this.problems.push({ where: `${this.path}:${line}:${col}`, message: `malformed YAML: ${error.message.split('\n')[0]}` });
    }
    if (this.problems.length > 0) return;
    this.problems.push(...yamlLimitProblems(this.doc, this.lines, this.path, 'malformed YAML: '));
  }

  where(node: Ranged): string {
    const offset = node?.range?.[0];
    if (offset === undefined) return this.path;
    const { line, col } = this.lines.linePos(offset);
    return `${this.path}:${line}:${col}`;
  }

  get root(): Node | null {
    return this.deref(this.doc.contents as Node | null);
  }

  deref(node: Node | null | undefined): Node | null {
    let n: unknown = node ?? null;
    for (let i = 0; i < 100 && isAlias(n); i++) n = n.resolve(this.doc) ?? null;
    return (n as Node | null) ?? null;
  }

  toJS(node: Node | null): unknown {
    return node === null ? null : node.toJS(this.doc, { maxAliasCount: MAX_ALIAS_COUNT });
  }

  isEmpty(node: Node | null): boolean {
    return node === null || (isScalar(node) && node.value === null);
  }

  /**
   * The variables of a mapping node, each with its position; a problem for each
   * vaulted value (naming the variable and where it is, never the ciphertext).
   */
  variables(node: Node, owner: string): { name: string; value: unknown; position: ValuePosition }[] {
    const values = this.toJS(node);
    if (values === null || typeof values !== 'object' || Array.isArray(values)) return [];
    const fields = this.positionOfValue(node, this.where(node)).fields;
    const out: { name: string; value: unknown; position: ValuePosition }[] = [];
    for (const [name, value] of Object.entries(values as Record<string, unknown>)) {
      const position = fields?.get(name)?.value ?? { where: this.where(node) };
      const vaulted = vaultedPath(value);
      if (vaulted !== undefined) {
        this.problems.push({
          where: locate(position, vaulted),
          message: `variable "${[name, ...vaulted].join('.')}" of ${owner}: ${VAULT_MESSAGE}`,
        });
        continue;
      }
      out.push({ name, value, position });
    }
    return out;
  }

  /**
   * Where `node` (as written: an alias is where the alias is) and each of its parts
   * are. Parts reached through an alias are where the anchored node writes them; merge
   * keys (<<) bring the merged mapping's fields, as toJS does (the mapping's own keys
   * win, then the first merged mapping).
   */
  positionOfValue(node: Node | null, fallback: string, depth = 0): ValuePosition {
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
}

/** The path to the first vaulted value inside `value`, or undefined. */
function vaultedPath(value: unknown, depth = 0): (string | number)[] | undefined {
  if (value instanceof VaultedValue) return [];
  if (depth > 100 || value === null || typeof value !== 'object') return undefined;
  for (const [key, item] of Array.isArray(value) ? value.entries() : Object.entries(value)) {
    const inner = vaultedPath(item, depth + 1);
    if (inner) return [key, ...inner];
  }
  return undefined;
}

function locate(position: ValuePosition, path: (string | number)[]): string {
  let p: ValuePosition | undefined = position;
  for (const segment of path) {
    const next: ValuePosition | undefined =
      typeof segment === 'number' ? p?.items?.[segment] : p?.fields?.get(String(segment))?.value;
    if (!next) break;
    p = next;
  }
  return p?.where ?? position.where;
}

/** A YAML 1.1 merge key: a plain `<<`, which the yaml package resolves to a symbol. */
function isMergeKey(key: { value: unknown }): boolean {
  return typeof key.value === 'symbol' && key.value.description === '<<';
}

export function kind(node: unknown): string {
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
