import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { isMap } from 'yaml';
import type { Problem } from '../errors.js';
import { readInputFile } from '../yamlLimits.js';
import { checkConnectionVar } from './connection.js';
import type { ValuePosition } from './types.js';
import { kind, VAULT_MESSAGE, YamlFile } from './yamlFile.js';

// group_vars/ and host_vars/ beside an inventory source or the playbook (Ansible's
// host_group_vars plugin): for the group or host NAME, the first of NAME (a file or a
// folder), NAME.yml, NAME.yaml, NAME.json that exists. A folder gives every file in
// it and its subfolders, sorted by name, except hidden ones, backups (~) and other
// extensions than none, .yml, .yaml, .json.

const EXTENSIONS = ['.yml', '.yaml', '.json'];

export interface VarsLayer {
  vars: Record<string, unknown>;
  origins: Map<string, ValuePosition>;
}

function kindOf(path: string): 'file' | 'dir' | undefined {
  try {
    const stat = statSync(path);
    return stat.isDirectory() ? 'dir' : stat.isFile() ? 'file' : undefined;
  } catch {
    return undefined;
  }
}

function filesOfFolder(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.') || name.endsWith('~')) continue;
    const path = join(dir, name);
    const ext = extname(name);
    const k = kindOf(path);
    if (k === 'dir' && !ext) found.push(...filesOfFolder(path));
    else if (k === 'file' && (!ext || EXTENSIONS.includes(ext))) found.push(path);
  }
  return found;
}

/** The files holding the variables of `name` in `dir` (group_vars/ or host_vars/), in the order read. */
function varsFilesOf(dir: string, name: string): string[] {
  if (name.startsWith('/')) return [];
  for (const ext of ['', ...EXTENSIONS]) {
    const path = join(dir, name + ext);
    const k = kindOf(path);
    if (k === 'dir') return filesOfFolder(path);
    if (k === 'file') return [path];
  }
  return [];
}

/** Reads variables files once each, with positions; problems name file:line:col. */
export class VarsFileReader {
  readonly problems: Problem[] = [];
  private readonly cache = new Map<string, VarsLayer>();

  /** The variables `dir`/group_vars or host_vars give `name`, merged in Ansible's order. */
  layer(dir: string, name: string, what: 'group' | 'host'): VarsLayer {
    const out: VarsLayer = { vars: {}, origins: new Map() };
    for (const file of varsFilesOf(dir, name)) {
      const layer = this.read(file, `${what} "${name}"`);
      Object.assign(out.vars, layer.vars);
      for (const [k, v] of layer.origins) out.origins.set(k, v);
    }
    return out;
  }

  private read(path: string, owner: string): VarsLayer {
    const cached = this.cache.get(path);
    if (cached) return cached;
    const layer: VarsLayer = { vars: {}, origins: new Map() };
    this.cache.set(path, layer);
    let text: ReturnType<typeof readInputFile>;
    try {
      text = readInputFile(path);
    } catch (e) {
      this.problems.push({ where: path, message: `cannot read the variables file: ${(e as Error).message}` });
      return layer;
    }
    if (typeof text !== 'string') {
      this.problems.push(text.problem);
      return layer;
    }
    if (text.startsWith('$ANSIBLE_VAULT;')) {
      this.problems.push({ where: path, message: `the whole file is ${VAULT_MESSAGE}` });
      return layer;
    }
    const file = new YamlFile(path, text);
    const root = file.root;
    if (file.problems.length === 0 && !file.isEmpty(root)) {
      if (!isMap(root)) {
        this.problems.push({ where: file.where(root), message: `the variables of ${owner} must be a mapping (name: value), not ${kind(root)}` });
      } else {
        for (const v of file.variables(root, owner)) {
          const problem = checkConnectionVar(v.name, v.value);
          if (problem) this.problems.push({ where: v.position.where, message: problem });
          layer.vars[v.name] = v.value;
          layer.origins.set(v.name, v.position);
        }
      }
    }
    this.problems.push(...file.problems);
    return layer;
  }
}
