import type { Problem } from '../errors.js';
import { checkConnectionVar } from './connection.js';
import type { ValuePosition } from './types.js';

// What every inventory source (YAML, INI, a directory of them, several -i) adds to,
// in the order Ansible parses them: groups, hosts, their memberships and their
// inventory-file variables. Ansible's InventoryData, without the variables files
// (varsFiles.ts) and the merge (merge.ts).

/** Characters that would make a group unreachable from a host pattern. */
const BAD_GROUP_CHARS = /[\s:,!&*?[\]~]/;

interface HostRecord {
  name: string;
  /** Where the host is first written: "inventory.yaml:12:7". */
  origin: string;
  /** The host's own variables from inventory files, in the order set. */
  vars: Record<string, unknown>;
  varOrigins: Map<string, ValuePosition>;
  /** Groups the host is written under, directly, in order. */
  direct: string[];
}

export interface GroupRecord {
  name: string;
  origin: string;
  /** Hosts written directly under the group, in order. */
  hosts: string[];
  /** Child group names, in the order they were added. */
  children: string[];
  parents: string[];
  vars: Record<string, unknown>;
  varOrigins: Map<string, ValuePosition>;
  /** ansible_group_priority as written in an inventory source (1 by default). */
  priority: number;
}

export class InventoryBuilder {
  readonly problems: Problem[] = [];
  readonly hosts = new Map<string, HostRecord>();
  readonly groups = new Map<string, GroupRecord>();

  constructor() {
    // As Ansible's InventoryData starts: "all", and "ungrouped" its first child.
    this.group('all', '');
    this.group('ungrouped', '');
    this.addChild('all', 'ungrouped', '');
  }

  problem(where: string, message: string): void {
    this.problems.push({ where, message });
  }

  group(name: string, where: string): GroupRecord {
    let g = this.groups.get(name);
    if (!g) {
      g = { name, origin: where, hosts: [], children: [], parents: [], vars: {}, varOrigins: new Map(), priority: 1 };
      this.groups.set(name, g);
    }
    return g;
  }

  /** True when `descendant` is `ancestor` or below it. */
  isBelow(descendant: string, ancestor: string): boolean {
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

  /** Checks a group name as written; false (with a problem) when unusable. */
  checkGroupName(name: string, where: string): boolean {
    if (BAD_GROUP_CHARS.test(name)) {
      this.problem(where, `group name "${name}" has a character host patterns use (whitespace : , ! & * ? [ ] ~)`);
      return false;
    }
    return true;
  }

  addChild(parent: string, child: string, where: string): boolean {
    if (child === 'all') {
      this.problem(where, `group "all" cannot be a child of "${parent}"`);
      return false;
    }
    if (!this.checkGroupName(child, where)) return false;
    if (this.isBelow(parent, child)) {
      this.problem(where, `group "${child}" under "${parent}" makes a loop ("${parent}" is already below "${child}")`);
      return false;
    }
    const p = this.group(parent, where);
    const c = this.group(child, where);
    if (!p.children.includes(child)) p.children.push(child);
    if (!c.parents.includes(parent)) c.parents.push(parent);
    return true;
  }

  /**
   * The host `name` under `group`. A port written with the host ("gw1:2222") sets
   * ansible_port only where the host is first written, as in Ansible.
   */
  addHost(group: string, name: string, where: string, port?: number): HostRecord {
    let host = this.hosts.get(name);
    if (!host) {
      host = { name, origin: where, vars: {}, varOrigins: new Map(), direct: [] };
      this.hosts.set(name, host);
      if (port !== undefined) this.setHostVar(host, 'ansible_port', port, { where });
    }
    const g = this.group(group, where);
    if (!g.hosts.includes(name)) g.hosts.push(name);
    if (!host.direct.includes(group)) host.direct.push(group);
    return host;
  }

  /** A variable of a host as an inventory source writes it. */
  setHostVar(host: HostRecord, name: string, value: unknown, position: ValuePosition): void {
    const problem = checkConnectionVar(name, value);
    if (problem) this.problem(position.where, problem);
    host.vars[name] = value;
    host.varOrigins.set(name, position);
  }

  /**
   * A variable of a group as an inventory source writes it. ansible_group_priority
   * orders the group among those of its depth and is not a variable (Ansible's
   * Group.set_variable).
   */
  setGroupVar(group: GroupRecord, name: string, value: unknown, position: ValuePosition): void {
    if (name === 'ansible_group_priority') {
      const n = typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isInteger(n)) {
        this.problem(position.where, `ansible_group_priority must be an integer, not ${JSON.stringify(value)}`);
      } else {
        group.priority = n;
      }
      return;
    }
    const problem = checkConnectionVar(name, value);
    if (problem) this.problem(position.where, problem);
    group.vars[name] = value;
    group.varOrigins.set(name, position);
  }
}
