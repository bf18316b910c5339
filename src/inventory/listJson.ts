import type { Inventory, InventoryHost } from './types.js';

// What `ansible-inventory --list` and `--host` print, and the magic variables
// inventory_hostname, group_names and groups as Ansible gives them to a play.

/** `--list`: every group reachable from all (hosts written under it, child groups), and _meta.hostvars. */
export function inventoryListJson(inventory: Inventory): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const seen = new Set<string>();
  const visit = (name: string) => {
    seen.add(name);
    const group = inventory.groups.get(name)!;
    const entry: Record<string, unknown> = {};
    if (name !== 'all' && group.hosts.length > 0) entry.hosts = [...group.hosts];
    if (group.children.length > 0) entry.children = [...group.children];
    if (Object.keys(entry).length > 0) out[name] = entry;
    for (const child of group.children) if (!seen.has(child)) visit(child);
  };
  visit('all');
  const hostvars: Record<string, unknown> = {};
  for (const host of inventory.hosts.values()) {
    if (Object.keys(host.vars).length > 0) hostvars[host.name] = host.vars;
  }
  return { _meta: { hostvars }, ...out };
}

/** `--host H`: the host's variables. */
export function hostJson(host: InventoryHost): Record<string, unknown> {
  return host.vars;
}

/** Ansible's group_names: the host's groups but all, sorted by name. */
export function groupNamesOf(host: Pick<InventoryHost, 'groups'>): string[] {
  return host.groups.filter((g) => g !== 'all').sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Ansible's groups: every group (empty ones too) -> its hosts, its own first, then
 * those of its child groups level by level, each once.
 */
export function groupsVariable(inventory: Inventory): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const group of inventory.groups.values()) {
    const hosts: string[] = [];
    const seenHosts = new Set<string>();
    const seenGroups = new Set<string>([group.name]);
    let level = [group.name];
    while (level.length > 0) {
      const next: string[] = [];
      for (const name of level) {
        const g = inventory.groups.get(name)!;
        for (const host of g.hosts) {
          if (!seenHosts.has(host)) {
            seenHosts.add(host);
            hosts.push(host);
          }
        }
        for (const child of g.children) {
          if (!seenGroups.has(child)) {
            seenGroups.add(child);
            next.push(child);
          }
        }
      }
      level = next;
    }
    out[group.name] = hosts;
  }
  return out;
}

export function magicVariables(inventory: Inventory, host: InventoryHost): Record<string, unknown> {
  return { inventory_hostname: host.name, group_names: groupNamesOf(host), groups: groupsVariable(inventory) };
}
