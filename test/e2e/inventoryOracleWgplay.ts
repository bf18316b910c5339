// wgplay's side of the oracle: `wgplay inventory ... --list / --host` run as an
// operator would (same arguments, in the case's folder), and the magic variables and
// connections of the same command line read through the library.
import { isAbsolute, join } from 'node:path';
import { inventoryOfArgs } from '../../src/cli/inventory.js';
import { connectionOf } from '../../src/inventory/connection.js';
import { magicVariables } from '../../src/inventory/listJson.js';
import type { Inventory } from '../../src/inventory/types.js';
import { run, type Connection } from './ansibleOracle.js';

const BIN = new URL('../../bin/wgplay.js', import.meta.url).pathname;

async function cli(dir: string, args: string[]): Promise<{ value?: unknown; error?: string }> {
  const result = await run(process.execPath, [BIN, 'inventory', ...args], dir);
  if (result.code !== 0) return { error: result.stderr.trim() };
  return { value: JSON.parse(result.stdout) };
}

export async function wgplayList(dir: string, args: string[]): Promise<{ list?: unknown; error?: string }> {
  const { value, error } = await cli(dir, [...args, '--list']);
  return { list: value, error };
}

export async function wgplayHost(dir: string, args: string[], host: string): Promise<unknown> {
  const { value, error } = await cli(dir, [...args, '--host', host]);
  return error ?? value;
}

/** The same arguments with the case's paths made absolute (the library reads from this process's cwd). */
function inventoryOf(dir: string, args: string[]): Inventory {
  const absolute = (p: string) => (isAbsolute(p) ? p : join(dir, p));
  const out = args.map((arg, i) => {
    const option = args[i - 1];
    if (option === '-i' || option === '--playbook-dir') return absolute(arg);
    if (option === '-e' && arg.startsWith('@')) return `@${absolute(arg.slice(1))}`;
    return arg;
  });
  return inventoryOfArgs(out);
}

export async function wgplayMagic(dir: string, args: string[]): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  try {
    const inventory = inventoryOf(dir, args);
    for (const host of inventory.hosts.values()) out.set(host.name, magicVariables(inventory, host));
  } catch (e) {
    out.set('(error)', (e as Error).message);
  }
  return out;
}

export async function wgplayConnections(dir: string, args: string[]): Promise<Map<string, Connection>> {
  const out = new Map<string, Connection>();
  const inventory = inventoryOf(dir, args);
  for (const host of inventory.hosts.values()) {
    const c = connectionOf(host);
    const connection: Connection = { user: c.user, address: c.address, port: c.port };
    if (c.privateKeyFile) connection.key = c.privateKeyFile;
    if (c.jumpHosts) connection.jump = c.jumpHosts.map((j) => j.spec).join(',');
    out.set(host.name, connection);
  }
  return out;
}
