import { isMap, isScalar, type Node, type Pair, type YAMLMap } from 'yaml';
import type { GroupRecord, InventoryBuilder } from './builder.js';
import { expandHostPattern } from './hostPattern.js';
import { kind, YamlFile } from './yamlFile.js';

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
// Top-level keys other than `all` are groups (children of all), as in Ansible.

const GROUP_KEYS = ['hosts', 'children', 'vars'];

/** True when `text` is a YAML mapping: what Ansible's yaml plugin takes (else it tries INI). */
export function looksLikeYamlInventory(text: string, path: string): boolean {
  const file = new YamlFile(path, text);
  return file.problems.length === 0 && isMap(file.root);
}

export function readYamlInventory(builder: InventoryBuilder, path: string, text: string): void {
  new YamlInventory(builder, new YamlFile(path, text)).read();
}

class YamlInventory {
  constructor(
    private readonly builder: InventoryBuilder,
    private readonly file: YamlFile,
  ) {}

  private problem(node: Parameters<YamlFile['where']>[0], message: string): void {
    this.builder.problem(this.file.where(node), message);
  }

  read(): void {
    const file = this.file;
    if (file.problems.length > 0) {
      this.builder.problems.push(...file.problems);
      return;
    }
    const root = file.root;
    if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) {
      this.builder.problem(file.path, 'the inventory is empty (it should start with "all:")');
      return;
    }
    if (!isMap(root)) {
      this.problem(root, `the inventory must be a mapping starting with "all:" (or an INI inventory), not ${kind(root)}`);
      return;
    }
    for (const pair of (root as YAMLMap).items) {
      const name = this.keyName(pair, 'group name');
      if (name === undefined) continue;
      if (name === 'all') {
        this.groupBody('all', pair.value as Node | null, pair.key as Node);
      } else if (GROUP_KEYS.includes(name)) {
        this.problem(pair.key as Node, `unknown top-level key "${name}": put hosts, children and vars under "all:"`);
      } else {
        const value = file.deref(pair.value as Node | null);
        if (value !== null && !isMap(value) && !(isScalar(value) && value.value === null)) {
          this.problem(
            pair.key as Node,
            `unknown top-level key "${name}": a top-level key is "all" or a group (a mapping with hosts, children or vars), not ${kind(value)}`,
          );
          continue;
        }
        // A top-level group is a child of all only if it ends up with no other parent
        // (Ansible's reconcile), unlike one written under all.children.
        if (this.builder.checkGroupName(name, file.where(pair.key as Node))) this.groupBody(name, value, pair.key as Node);
      }
    }
    this.builder.problems.push(...file.problems);
  }

  private keyName(pair: Pair, what: string): string | undefined {
    const key = this.file.deref(pair.key as Node | null);
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

  private groupBody(name: string, rawNode: Node | null, at: Node): void {
    const file = this.file;
    const node = file.deref(rawNode);
    const group = this.builder.group(name, file.where(at));
    if (file.isEmpty(node)) return;
    if (!isMap(node)) {
      this.problem(node, `group "${name}" must be a mapping with hosts, children or vars, not ${kind(node)}`);
      return;
    }
    for (const pair of (node as YAMLMap).items) {
      const key = this.keyName(pair, 'key (hosts, children or vars)');
      if (key === undefined) continue;
      const value = file.deref(pair.value as Node | null);
      switch (key) {
        case 'hosts':
          this.hostsOf(group, value, pair.key as Node);
          break;
        case 'children':
          if (file.isEmpty(value)) break;
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
            if (this.builder.addChild(name, childName, file.where(child.key as Node))) {
              this.groupBody(childName, child.value as Node | null, child.key as Node);
            }
          }
          break;
        case 'vars':
          if (file.isEmpty(value)) break;
          if (!isMap(value)) {
            this.problem(value, `vars of group "${name}" must be a mapping, not ${kind(value)}`);
            break;
          }
          for (const v of file.variables(value, `group "${name}"`)) this.builder.setGroupVar(group, v.name, v.value, v.position);
          break;
        default:
          this.problem(pair.key as Node, `unknown key "${key}" in group "${name}" (expected hosts, children or vars)`);
      }
    }
  }

  private hostsOf(group: GroupRecord, node: Node | null, at: Node): void {
    const file = this.file;
    if (file.isEmpty(node)) return;
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
      let expanded: { names: string[]; port?: number };
      try {
        expanded = expandHostPattern(pattern);
      } catch (e) {
        this.problem(keyNode, (e as Error).message);
        continue;
      }
      const value = file.deref(pair.value as Node | null);
      if (!file.isEmpty(value) && !isMap(value)) {
        const hint = isScalar(value) ? ` (to give its address, write "${pattern}: { ansible_host: ${String(value.value)} }")` : '';
        this.problem(value, `host "${pattern}" must be a mapping of variables or empty, not ${kind(value)}${hint}`);
        continue;
      }
      const vars = value === null || file.isEmpty(value) ? [] : file.variables(value, `host "${pattern}"`);
      for (const name of expanded.names) {
        const host = this.builder.addHost(group.name, name, file.where(keyNode), expanded.port);
        for (const v of vars) this.builder.setHostVar(host, v.name, v.value, v.position);
      }
    }
  }
}
