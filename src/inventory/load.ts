import { readdirSync, statSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { stringify } from 'yaml';
import { WgplayError } from '../errors.js';
import { readInputFile } from '../yamlLimits.js';
import { InventoryBuilder } from './builder.js';
import { readIniInventory } from './iniSource.js';
import { mergeInventory } from './merge.js';
import type { Inventory } from './types.js';
import { VarsFileReader, type VarsLayer } from './varsFiles.js';
import { looksLikeYamlInventory, readYamlInventory } from './yamlSource.js';

// Inventory sources as Ansible reads them (-i, in order, each adding to the same
// inventory): a YAML file, an INI file, or a directory of them. Then group_vars/ and
// host_vars/ beside each source and beside the playbook, and the precedence merge
// (merge.ts).

// What a directory inventory skips (Ansible's IGNORED_ALWAYS and the default
// INVENTORY_IGNORE_EXTS: note .ini and .cfg are skipped inside a directory).
const IGNORED_NAMES = /^\.|^host_vars$|^group_vars$|^vars_plugins$/;
const IGNORED_ENDINGS = ['.pyc', '.pyo', '.swp', '.bak', '~', '.rpm', '.md', '.txt', '.rst', '.orig', '.ini', '.cfg', '.retry'];
const YAML_EXTENSIONS = ['', '.yml', '.yaml', '.json'];

interface LoadOptions {
  /** The playbook's folder (its group_vars/ and host_vars/ count too). */
  playbookDir?: string;
  /** -e variables, highest precedence. */
  extraVars?: VarsLayer;
}

function readSource(builder: InventoryBuilder, path: string, text: string): void {
  const ext = extname(path);
  if (YAML_EXTENSIONS.includes(ext) && looksLikeYamlInventory(text, path)) {
    readYamlInventory(builder, path, text);
    return;
  }
  if (ext === '.yml' || ext === '.yaml' || ext === '.json') {
    // Ansible tries INI when the YAML reader fails; wgplay does too, but when INI
    // fails as well the YAML problems are the ones that help.
    const trial = new InventoryBuilder();
    readIniInventory(trial, path, text);
    if (trial.problems.length === 0 && trial.hosts.size > 0) {
      readIniInventory(builder, path, text);
    } else {
      readYamlInventory(builder, path, text);
    }
    return;
  }
  if (ext === '.toml') {
    builder.problem(path, 'TOML inventories are not supported: use YAML or INI');
    return;
  }
  readIniInventory(builder, path, text);
}

function readPath(builder: InventoryBuilder, path: string): void {
  let stat;
  try {
    stat = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    builder.problem(path, code === 'ENOENT' ? 'inventory file not found' : `cannot read the inventory: ${(e as Error).message}`);
    return;
  }
  if (stat.isDirectory()) {
    let names: string[];
    try {
      names = readdirSync(path).sort();
    } catch (e) {
      builder.problem(path, `cannot read the inventory folder: ${(e as Error).message}`);
      return;
    }
    for (const name of names) {
      if (IGNORED_NAMES.test(name) || IGNORED_ENDINGS.some((ending) => name.endsWith(ending))) continue;
      readPath(builder, join(path, name));
    }
    return;
  }
  let text: ReturnType<typeof readInputFile>;
  try {
    text = readInputFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    builder.problem(path, code === 'EACCES' ? 'cannot read the inventory file: permission denied' : `cannot read the inventory file: ${(e as Error).message}`);
    return;
  }
  if (typeof text !== 'string') {
    builder.problem(text.problem.where, text.problem.message);
    return;
  }
  if (text.startsWith('#!')) {
    builder.problem(path, "inventory scripts are not supported (wgplay runs no program to read an inventory): write YAML or INI, or save the script's output with ansible-inventory -y --list");
    return;
  }
  if (text.startsWith('$ANSIBLE_VAULT;')) {
    builder.problem(path, 'the inventory file is encrypted with ansible-vault: not supported; pass secrets with -e or an environment lookup');
    return;
  }
  readSource(builder, path, text);
}

/** The folder whose group_vars/ and host_vars/ belong to a source: itself, or a file's folder. */
function inventoryDirOf(path: string): string {
  try {
    return statSync(path).isDirectory() ? path : dirname(path);
  } catch {
    return dirname(path);
  }
}

/**
 * Loads inventory sources (files or folders) in order, as `-i A -i B` does, with
 * their group_vars/ and host_vars/ and those beside the playbook. Throws WgplayError
 * with every problem (file:line:col) before anything else happens.
 */
export function loadInventories(paths: readonly string[], options: LoadOptions = {}): Inventory {
  if (paths.length === 0) throw new WgplayError([{ where: '-i', message: 'no inventory given' }]);
  const builder = new InventoryBuilder();
  for (const path of paths) readPath(builder, path);
  if (builder.problems.length > 0) throw new WgplayError(builder.problems);
  const reader = new VarsFileReader();
  const inventory = mergeInventory(builder, reader, {
    inventoryDirs: paths.map(inventoryDirOf),
    playbookDir: options.playbookDir,
    extraVars: options.extraVars,
    path: paths.join(','),
  });
  const problems = [...builder.problems, ...reader.problems];
  if (problems.length > 0) throw new WgplayError(problems);
  return inventory;
}

/** Loads one inventory source (file or folder). Throws WgplayError with every problem. */
export function loadInventory(path: string, options: LoadOptions = {}): Inventory {
  return loadInventories([path], options);
}

/**
 * An inventory from text (YAML or INI, told apart as Ansible does); `name` stands
 * for the file in messages ("name:3:5"). No group_vars/ or host_vars/ are read.
 */
export function parseInventory(text: string, name: string | { name: string }): Inventory {
  const path = typeof name === 'string' ? name : name.name;
  const builder = new InventoryBuilder();
  readSource(builder, path, text);
  if (builder.problems.length > 0) throw new WgplayError(builder.problems);
  const reader = new VarsFileReader();
  const inventory = mergeInventory(builder, reader, { inventoryDirs: [], path });
  if (builder.problems.length > 0) throw new WgplayError(builder.problems);
  return inventory;
}

/**
 * An inventory from a value shaped like Ansible's YAML inventory ({ all: { hosts,
 * children, vars } }), checked like a file; messages name `name` ("name:3:5" are
 * positions in the YAML the value writes as).
 */
export function inventoryFromObject(value: unknown, options: { name: string } = { name: 'inventory' }): Inventory {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new WgplayError([{ where: options.name, message: 'an inventory must be a mapping starting with "all:"' }]);
  }
  return parseInventory(stringify(value), options);
}
