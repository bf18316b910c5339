import type { InventoryBuilder } from './builder.js';
import { expandHostPattern } from './hostPattern.js';
import { pythonValue } from './pythonLiteral.js';
import { shellSplit } from './shellWords.js';

// Ansible's INI inventory (its ini plugin), line by line:
//
//   bastion ansible_host=192.0.2.1        # before any section: group "ungrouped"
//   [gateways]                            # hosts, each with key=value variables
//   gw[01:03] ansible_user=admin
//   gw9:2222                              # a port
//   [gateways:vars]                       # group variables, one key = value a line
//   ansible_become = true
//   [eu:children]                         # child groups, declared anywhere in the file
//   gateways
//
// Values are Python literals where they parse as one (3, True, [1, 2], 'text'), the
// text otherwise. A well-kept INI parser does not read this dialect (host lines are
// shell words, sections have kinds, values are Python), hence this small reader.

const SECTION = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$/;
const GROUP_NAME = /^([^:\]\s]+)\s*(?:#.*)?$/;

interface Pending {
  line: number;
  kind: 'vars' | 'children';
  /** For a child group: the groups that list it. */
  parents: string[];
}

export function readIniInventory(builder: InventoryBuilder, path: string, text: string): void {
  const pending = new Map<string, Pending>();
  let group = 'ungrouped';
  let kind: 'hosts' | 'vars' | 'children' = 'hosts';
  const lines = text.split('\n');
  const at = (line: number, col = 1) => `${path}:${line}:${col}`;

  for (let index = 0; index < lines.length; index++) {
    const number = index + 1;
    const raw = lines[index]!;
    const line = raw.trim();
    const col = raw.length - raw.trimStart().length + 1;
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;

    const section = SECTION.exec(line);
    if (section) {
      group = section[1]!;
      const tag = section[2] ?? 'hosts';
      if (tag !== 'hosts' && tag !== 'vars' && tag !== 'children') {
        builder.problem(at(number, col), `section [${group}:${tag}] has an unknown kind "${tag}" (expected [${group}], [${group}:vars] or [${group}:children])`);
        kind = 'hosts';
        group = '';
        continue;
      }
      kind = tag;
      if (!builder.checkGroupName(group, at(number, col + 1))) {
        group = '';
        continue;
      }
      if (!builder.groups.has(group)) {
        // [g:vars] alone does not declare g: it must be declared somewhere in the file.
        if (kind === 'vars' && !pending.has(group)) pending.set(group, { line: number, kind: 'vars', parents: [] });
        builder.group(group, at(number, col));
      }
      const waiting = pending.get(group);
      if (waiting && kind !== 'vars') {
        if (waiting.kind === 'children') addPendingChildren(builder, group, pending, at(number, col));
        else pending.delete(group);
      }
      continue;
    }
    if (line.startsWith('[') && line.endsWith(']')) {
      builder.problem(at(number, col), `invalid section "${line}": a section is [name], [name:vars] or [name:children], without spaces`);
      group = '';
      continue;
    }
    if (group === '') continue; // the lines of a refused section

    if (kind === 'hosts') {
      let words: string[];
      try {
        words = shellSplit(line);
      } catch (e) {
        builder.problem(at(number, col), `cannot read the host line: ${(e as Error).message}`);
        continue;
      }
      if (words.length === 0) continue;
      const pattern = words[0]!;
      let expanded: { names: string[]; port?: number };
      try {
        expanded = expandHostPattern(pattern);
      } catch (e) {
        builder.problem(at(number, col), (e as Error).message);
        continue;
      }
      if (expanded.names.some((name) => name.trim() === '---')) {
        builder.problem(at(number, col), 'host "---" is not a host name: this looks like a YAML file that did not parse as YAML');
        continue;
      }
      const vars: [string, unknown, string][] = [];
      let bad = false;
      for (const word of words.slice(1)) {
        const eq = word.indexOf('=');
        const wordCol = col + Math.max(0, raw.trimStart().indexOf(word.split('=')[0]!));
        if (eq <= 0) {
          builder.problem(at(number, wordCol), `expected key=value after the host name, got "${word}"`);
          bad = true;
          continue;
        }
        vars.push([word.slice(0, eq), pythonValue(word.slice(eq + 1)), at(number, wordCol)]);
      }
      if (bad) continue;
      for (const name of expanded.names) {
        const host = builder.addHost(group, name, at(number, col), expanded.port);
        for (const [key, value, where] of vars) builder.setHostVar(host, key, value, { where });
      }
    } else if (kind === 'vars') {
      const eq = line.indexOf('=');
      if (eq < 0) {
        builder.problem(at(number, col), `expected key=value in [${group}:vars], got "${line}"`);
        continue;
      }
      const key = line.slice(0, eq).trim();
      if (key === '') {
        builder.problem(at(number, col), `expected key=value in [${group}:vars], got "${line}"`);
        continue;
      }
      const valueText = line.slice(eq + 1).trim();
      const valueCol = col + eq + 1 + (line.slice(eq + 1).length - line.slice(eq + 1).trimStart().length);
      builder.setGroupVar(builder.group(group, at(number, col)), key, pythonValue(valueText), { where: at(number, valueCol) });
    } else {
      const m = GROUP_NAME.exec(line);
      if (!m) {
        builder.problem(at(number, col), `expected a group name in [${group}:children], got "${line}"`);
        continue;
      }
      const child = m[1]!;
      if (builder.groups.has(child)) {
        builder.addChild(group, child, at(number, col));
      } else {
        const waiting = pending.get(child);
        if (waiting) waiting.parents.push(group);
        else pending.set(child, { line: number, kind: 'children', parents: [group] });
      }
    }
  }
  for (const [name, waiting] of pending) {
    builder.problem(
      at(waiting.line),
      waiting.kind === 'vars'
        ? `section [${name}:vars] is for a group that this file never declares (add a [${name}] or [${name}:children] section)`
        : `section [${waiting.parents.at(-1)}:children] names the group "${name}", which this file never declares (add a [${name}] section)`,
    );
  }
}

function addPendingChildren(builder: InventoryBuilder, group: string, pending: Map<string, Pending>, where: string): void {
  const waiting = pending.get(group)!;
  pending.delete(group);
  for (const parent of waiting.parents) {
    builder.addChild(parent, group, where);
    const parentWaiting = pending.get(parent);
    if (parentWaiting && parentWaiting.kind === 'children') addPendingChildren(builder, parent, pending, where);
  }
}
