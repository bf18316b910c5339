// Throwaway: main's code as it was (loadInventory of the first -i) in the oracle's shapes.
import { join } from 'node:path';
import { connectionOf, loadInventory } from '../../src/inventory/index.js';
import type { Connection } from './ansibleOracle.js';

function load(dir: string, args: string[]) {
  return loadInventory(join(dir, args[args.indexOf('-i') + 1]!));
}
export async function wgplayList(dir: string, args: string[]) {
  try {
    const inv = load(dir, args);
    const list: Record<string, any> = { _meta: { hostvars: {} } };
    for (const h of inv.hosts.values()) if (Object.keys(h.vars).length) list._meta.hostvars[h.name] = h.vars;
    for (const g of inv.groups.values()) {
      const e: Record<string, unknown> = {};
      if (g.name !== 'all' && g.hosts.length) e.hosts = g.hosts;
      if (g.children.length) e.children = g.children;
      if (Object.keys(e).length) list[g.name] = e;
    }
    return { list };
  } catch (e) {
    return { list: undefined, error: (e as Error).message.split('\n')[0] };
  }
}
export async function wgplayHost(dir: string, args: string[], host: string) {
  try { return load(dir, args).hosts.get(host)?.vars; } catch { return undefined; }
}
export async function wgplayMagic(dir: string, args: string[]) {
  const out = new Map<string, unknown>();
  try {
    const inv = load(dir, args);
    const groups: Record<string, string[]> = {};
    for (const g of inv.groups.values()) groups[g.name] = [...inv.hosts.values()].filter((h) => h.groups.includes(g.name)).map((h) => h.name);
    for (const h of inv.hosts.values()) out.set(h.name, { inventory_hostname: h.name, group_names: h.groups, groups });
  } catch { /* nothing */ }
  return out;
}
export async function wgplayConnections(dir: string, args: string[]) {
  const out = new Map<string, Connection>();
  try {
    for (const h of load(dir, args).hosts.values()) {
      const c = connectionOf(h);
      const conn: Connection = { user: c.user, address: c.address, port: c.port };
      if (c.privateKeyFile) conn.key = c.privateKeyFile;
      out.set(h.name, conn);
    }
  } catch { /* nothing */ }
  return out;
}
