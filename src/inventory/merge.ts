import type { GroupRecord, InventoryBuilder } from './builder.js';
import type { Inventory, InventoryGroup, InventoryHost, ValuePosition } from './types.js';
import type { VarsFileReader, VarsLayer } from './varsFiles.js';

// Ansible's reconcile (ungrouped, children of all, depths) and its variable
// precedence for a host, lowest first (VariableManager.get_vars with the default
// VARIABLE_PRECEDENCE):
//
//   inventory file: group all < its other groups (by depth, ansible_group_priority, name)
//   < group_vars/all beside each inventory source < group_vars/all beside the playbook
//   < group_vars/GROUP beside each source < group_vars/GROUP beside the playbook
//   < inventory file host vars < host_vars/ beside each source < beside the playbook
//   < extra vars (-e)
//
// (play vars come between host_vars and -e; the playbook resolves those.)

interface MergeOptions {
  /** Folders whose group_vars/ and host_vars/ belong to the inventory: each source's. */
  inventoryDirs: string[];
  /** The playbook's folder (or --playbook-dir), when there is one. */
  playbookDir?: string;
  /** -e variables: above everything the inventory says. */
  extraVars?: VarsLayer;
  /** The sources as given, for Inventory.path. */
  path: string;
}

function reconcile(builder: InventoryBuilder): void {
  for (const g of builder.groups.values()) {
    if (g.name !== 'all' && g.parents.length === 0) builder.addChild('all', g.name, g.origin);
  }
  const ungrouped = builder.groups.get('ungrouped')!;
  for (const host of builder.hosts.values()) {
    const member = membership(builder, host.direct);
    const others = [...member].filter((g) => g !== 'all' && g !== 'ungrouped');
    if (others.length > 0 && member.has('ungrouped') && host.direct.includes('ungrouped')) {
      host.direct.splice(host.direct.indexOf('ungrouped'), 1);
      ungrouped.hosts.splice(ungrouped.hosts.indexOf(host.name), 1);
    } else if (others.length === 0 && !member.has('ungrouped')) {
      builder.addHost('ungrouped', host.name, host.origin);
    }
  }
}

/** Every group a host is in: those it is written under and all their ancestors, plus all. */
function membership(builder: InventoryBuilder, direct: string[]): Set<string> {
  const member = new Set<string>(['all']);
  const stack = [...direct];
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (member.has(name) && name !== 'all') continue;
    member.add(name);
    stack.push(...builder.groups.get(name)!.parents);
  }
  return member;
}

function depths(builder: InventoryBuilder): Map<string, number> {
  const depthOf = new Map<string, number>();
  const depth = (name: string): number => {
    const known = depthOf.get(name);
    if (known !== undefined) return known;
    const g = builder.groups.get(name)!;
    const d = name === 'all' || g.parents.length === 0 ? 0 : Math.max(...g.parents.map((p) => depth(p) + 1));
    depthOf.set(name, d);
    return d;
  };
  for (const g of builder.groups.values()) depth(g.name);
  return depthOf;
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function mergeInventory(builder: InventoryBuilder, reader: VarsFileReader, options: MergeOptions): Inventory {
  reconcile(builder);
  const depthOf = depths(builder);
  const sortGroups = (groups: GroupRecord[]) =>
    groups.sort((a, b) => depthOf.get(a.name)! - depthOf.get(b.name)! || a.priority - b.priority || byName(a.name, b.name));

  const groups = new Map<string, InventoryGroup>();
  for (const g of builder.groups.values()) {
    groups.set(g.name, {
      name: g.name,
      hosts: g.hosts,
      children: g.children,
      vars: g.vars,
      varOrigins: g.varOrigins,
      depth: depthOf.get(g.name)!,
      origin: g.origin || options.path,
    });
  }

  const inventoryDirs = [...new Set(options.inventoryDirs)];
  const groupLayers = (dir: string, names: string[]) =>
    names.map((name) => reader.layer(`${dir}/group_vars`, name, 'group'));

  const hosts = new Map<string, InventoryHost>();
  for (const h of builder.hosts.values()) {
    const member = membership(builder, h.direct);
    const all = builder.groups.get('all')!;
    const others = sortGroups([...member].filter((name) => name !== 'all').map((name) => builder.groups.get(name)!));
    const names = others.map((g) => g.name);
    const layers: VarsLayer[] = [
      { vars: all.vars, origins: all.varOrigins },
      ...others.map((g) => ({ vars: g.vars, origins: g.varOrigins })),
      ...inventoryDirs.flatMap((dir) => groupLayers(dir, ['all'])),
      ...(options.playbookDir ? groupLayers(options.playbookDir, ['all']) : []),
      ...inventoryDirs.flatMap((dir) => groupLayers(dir, names)),
      ...(options.playbookDir ? groupLayers(options.playbookDir, names) : []),
      { vars: h.vars, origins: h.varOrigins },
      ...inventoryDirs.map((dir) => reader.layer(`${dir}/host_vars`, h.name, 'host')),
      ...(options.playbookDir ? [reader.layer(`${options.playbookDir}/host_vars`, h.name, 'host')] : []),
      ...(options.extraVars ? [options.extraVars] : []),
    ];
    // Positions merge like the values: the definition that wins is the one pointed at.
    const vars: Record<string, unknown> = {};
    const varOrigins = new Map<string, ValuePosition>();
    for (const layer of layers) {
      Object.assign(vars, layer.vars);
      for (const [name, position] of layer.origins) varOrigins.set(name, position);
    }
    hosts.set(h.name, { name: h.name, vars, groups: ['all', ...names], origin: h.origin, varOrigins });
  }
  return { path: options.path, hosts, groups };
}
