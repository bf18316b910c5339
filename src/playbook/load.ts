/**
 * Loading a playbook: YAML with positions, then the structure of plays and tasks.
 * No templating here (that needs a host); template syntax is checked though.
 */
import { parseLimited, readInputFile, yamlLimitProblems } from '../yamlLimits.js';
import { LineCounter, isAlias, isMap, isScalar, isSeq, type Document, type Node as YamlNode } from 'yaml';
import { WgplayError, type Problem } from '../errors.js';
import { findModule, findTask, knownTaskNames } from '../catalog.js';
import { didYouMean } from './suggest.js';
import { templateSyntaxErrors } from './template.js';
import type { MapEntry, MapNode, Node, Play, Playbook, PlaybookTask } from './types.js';

/** Variables wgplay defines for every host; plays cannot redefine them. */
const MAGIC_VARIABLES = ['inventory_hostname', 'group_names', 'groups'] as const;

const PLAY_KEYS = ['name', 'hosts', 'vars', 'tasks'];
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Ansible task keywords people will try; wgplay tasks have a name and one module only. */
const UNSUPPORTED_TASK_KEYWORDS = new Set([
  'when', 'loop', 'with_items', 'with_dict', 'register', 'become', 'become_user', 'notify',
  'tags', 'ignore_errors', 'vars', 'delegate_to', 'changed_when', 'failed_when', 'until',
  'retries', 'delay', 'block', 'rescue', 'always', 'run_once', 'environment', 'args',
]);

/** Reads and checks a playbook file. Throws WgplayError listing every problem found. */
export function loadPlaybook(path: string): Playbook {
  let text: ReturnType<typeof readInputFile>;
  try {
    text = readInputFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message;
    throw new WgplayError([{ where: path, message: `cannot read playbook: ${why}` }]);
  }
  if (typeof text !== 'string') throw new WgplayError([text.problem]);
  return parsePlaybook(text, path);
}

/** Same as loadPlaybook, from text; `file` prefixes every position. */
export function parsePlaybook(text: string, file: string): Playbook {
  const lineCounter = new LineCounter();
  const doc = parseLimited(text, file, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const at = (offset: number): string => {
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };

  const yamlProblems = [...doc.errors, ...doc.warnings].map((e) => ({
    where: at(e.pos[0]),
    message: `invalid YAML: ${e.message}${snippet(text, e.pos[0], lineCounter)}`,
  }));
  if (yamlProblems.length > 0) throw new WgplayError(yamlProblems);
  const limits = yamlLimitProblems(doc, lineCounter, file, 'invalid YAML: ');
  if (limits.length > 0) throw new WgplayError(limits);

  const problems: Problem[] = [];
  const root = doc.contents ? toLocated(doc.contents, doc, at, problems, 0) : undefined;
  if (problems.length > 0) throw new WgplayError(problems);
  return playbookOf(root, file, `${file}:1:1`);
}

/**
 * A playbook from plain data (a deploy tool's objects: a list of plays, each task
 * `{ name, <module>: args }`, e.g. from the `tasks` constructors), checked exactly as
 * a file is. Problems are placed at `name:/json/pointer` ("deploy:/0/tasks/1/ip_rule/table").
 */
export function playbookFromObject(value: unknown, options: { name: string }): Playbook {
  const problems: Problem[] = [];
  const root = fromPlainData(value, options.name, '', problems, 0);
  if (problems.length > 0) throw new WgplayError(problems);
  return playbookOf(root, options.name, `${options.name}:/`);
}

const pointerSegment = (key: string | number) => String(key).replace(/~/g, '~0').replace(/\//g, '~1');

function fromPlainData(value: unknown, name: string, pointer: string, problems: Problem[], depth: number): Node {
  const where = `${name}:${pointer || '/'}`;
  if (depth > 100) {
    problems.push({ where, message: 'the playbook is nested too deeply (a cycle?)' });
    return { kind: 'scalar', value: null, where };
  }
  if (Array.isArray(value)) {
    return { kind: 'seq', items: value.map((item, index) => fromPlainData(item, name, `${pointer}/${index}`, problems, depth + 1)), where };
  }
  if (value !== null && typeof value === 'object') {
    if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) {
      problems.push({ where, message: 'must be plain data (mappings, lists, strings, numbers, booleans)' });
      return { kind: 'scalar', value: null, where };
    }
    const entries: MapEntry[] = Object.entries(value)
      .filter(([, inner]) => inner !== undefined)
      .map(([key, inner]) => {
        const at = `${pointer}/${pointerSegment(key)}`;
        return { key, keyWhere: `${name}:${at}`, value: fromPlainData(inner, name, at, problems, depth + 1) };
      });
    return { kind: 'map', entries, where };
  }
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') {
    problems.push({ where, message: `must be plain data (mappings, lists, strings, numbers, booleans), not ${typeof value}` });
    return { kind: 'scalar', value: null, where };
  }
  return { kind: 'scalar', value, where };
}

/** The plays of a playbook's root node, or every problem with them. */
function playbookOf(root: Node | undefined, file: string, start: string): Playbook {
  const problems: Problem[] = [];
  if (!root || (root.kind === 'scalar' && root.value === null)) {
    throw new WgplayError([{ where: start, message: 'the playbook is empty: expected a list of plays' }]);
  }
  if (root.kind !== 'seq') {
    throw new WgplayError([{ where: root.where, message: `a playbook is a list of plays, not ${describeNode(root)}` }]);
  }

  const plays: Play[] = [];
  root.items.forEach((item, index) => {
    const play = checkPlay(item, index, problems);
    if (play) plays.push(play);
  });
  if (problems.length > 0) throw new WgplayError(problems);
  return { file, plays };
}

function snippet(text: string, offset: number, lineCounter: LineCounter): string {
  const { line, col } = lineCounter.linePos(offset);
  const start = lineCounter.lineStarts[line - 1] ?? 0;
  const end = text.indexOf('\n', start);
  const source = text.slice(start, end < 0 ? undefined : end).replace(/\r$/, '');
  if (source.trim() === '' || source.length > 200) return '';
  return `\n    ${source}\n    ${' '.repeat(Math.max(0, col - 1))}^`;
}

/** Converts yaml's node to ours, resolving aliases. */
function toLocated(node: unknown, doc: Document, at: (offset: number) => string, problems: Problem[], depth: number): Node {
  const yamlNode = node as YamlNode;
  const where = at(yamlNode.range?.[0] ?? 0);
  if (depth > 100) {
    problems.push({ where, message: 'the YAML is nested too deeply (a recursive alias?)' });
    return { kind: 'scalar', value: null, where };
  }
  if (isAlias(node)) {
    const target = node.resolve(doc);
    if (!target) {
      problems.push({ where, message: `unknown alias *${node.source}` });
      return { kind: 'scalar', value: null, where };
    }
    return { ...toLocated(target, doc, at, problems, depth + 1), where };
  }
  if (isScalar(node)) return { kind: 'scalar', value: node.value, where };
  if (isSeq(node)) {
    return { kind: 'seq', items: node.items.map((item) => toLocated(item, doc, at, problems, depth + 1)), where };
  }
  if (isMap(node)) {
    const entries: MapEntry[] = [];
    for (const pair of node.items) {
      const keyNode = pair.key as YamlNode | null;
      const keyWhere = keyNode?.range ? at(keyNode.range[0]) : where;
      if (!isScalar(keyNode) || keyNode.value === null || typeof keyNode.value === 'object') {
        problems.push({ where: keyWhere, message: 'mapping keys must be plain strings' });
        continue;
      }
      const key = String(keyNode.value);
      const value: Node =
        pair.value === null || pair.value === undefined
          ? { kind: 'scalar', value: null, where: at(keyNode.range?.[1] ?? keyNode.range?.[0] ?? 0) }
          : toLocated(pair.value, doc, at, problems, depth + 1);
      entries.push({ key, keyWhere, value });
    }
    return { kind: 'map', entries, where };
  }
  problems.push({ where, message: 'unsupported YAML node' });
  return { kind: 'scalar', value: null, where };
}

function describeNode(node: Node): string {
  if (node.kind === 'seq') return 'a list';
  if (node.kind === 'map') return 'a mapping';
  const v = node.value;
  if (v === null) return 'an empty value';
  if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v)})`;
  return `${typeof v === 'number' ? 'a number' : typeof v === 'boolean' ? 'a boolean' : typeof v} (${String(v)})`;
}

function get(map: MapNode, key: string): MapEntry | undefined {
  return map.entries.find((e) => e.key === key);
}

function checkPlay(node: Node, index: number, problems: Problem[]): Play | undefined {
  if (node.kind !== 'map') {
    problems.push({ where: node.where, message: `play #${index + 1} must be a mapping with name, hosts and tasks, not ${describeNode(node)}` });
    return undefined;
  }
  const nameEntry = get(node, 'name');
  let name = `#${index + 1}`;
  if (!nameEntry) {
    problems.push({ where: node.where, message: `play #${index + 1}: missing "name"` });
  } else if (nameEntry.value.kind !== 'scalar' || typeof nameEntry.value.value !== 'string' || nameEntry.value.value === '') {
    problems.push({ where: nameEntry.value.where, message: `play #${index + 1}: "name" must be a non-empty string, not ${describeNode(nameEntry.value)}` });
  } else {
    name = nameEntry.value.value;
  }
  const label = nameEntry && name !== `#${index + 1}` ? `play "${name}"` : `play #${index + 1}`;

  for (const entry of node.entries) {
    if (!PLAY_KEYS.includes(entry.key)) {
      problems.push({
        where: entry.keyWhere,
        message: `${label}: unknown key "${entry.key}"${didYouMean(entry.key, PLAY_KEYS)}; a play has: ${PLAY_KEYS.join(', ')}`,
      });
    }
  }

  const hostsEntry = get(node, 'hosts');
  let hosts = '';
  let hostsWhere = node.where;
  if (!hostsEntry) {
    problems.push({ where: node.where, message: `${label}: missing "hosts" (a host pattern: a host, a group, "all"...)` });
  } else if (hostsEntry.value.kind !== 'scalar' || typeof hostsEntry.value.value !== 'string' || hostsEntry.value.value.trim() === '') {
    problems.push({ where: hostsEntry.value.where, message: `${label}: "hosts" must be a host pattern string, not ${describeNode(hostsEntry.value)}` });
  } else {
    hosts = hostsEntry.value.value;
    hostsWhere = hostsEntry.value.where;
  }

  let vars: MapEntry[] = [];
  const varsEntry = get(node, 'vars');
  if (varsEntry && !(varsEntry.value.kind === 'scalar' && varsEntry.value.value === null)) {
    if (varsEntry.value.kind !== 'map') {
      problems.push({ where: varsEntry.value.where, message: `${label}: "vars" must be a mapping of variable names to values, not ${describeNode(varsEntry.value)}` });
    } else {
      vars = varsEntry.value.entries;
      for (const v of vars) {
        if (!VARIABLE_NAME.test(v.key)) {
          problems.push({ where: v.keyWhere, message: `${label}: "${v.key}" is not a valid variable name (letters, digits and _, not starting with a digit)` });
        } else if ((MAGIC_VARIABLES as readonly string[]).includes(v.key)) {
          problems.push({ where: v.keyWhere, message: `${label}: "${v.key}" is set by wgplay and cannot be redefined` });
        }
        for (const p of templateSyntaxErrors(v.value)) {
          problems.push({ where: p.where, message: `${label}, vars.${v.key}: ${p.message}` });
        }
      }
    }
  }

  const tasks: PlaybookTask[] = [];
  const tasksEntry = get(node, 'tasks');
  if (!tasksEntry) {
    problems.push({ where: node.where, message: `${label}: missing "tasks" (a list of tasks)` });
  } else if (tasksEntry.value.kind !== 'seq') {
    problems.push({ where: tasksEntry.value.where, message: `${label}: "tasks" must be a list of tasks, not ${describeNode(tasksEntry.value)}` });
  } else {
    tasksEntry.value.items.forEach((item, i) => {
      const task = checkTask(item, i, label, problems);
      if (task) tasks.push(task);
    });
  }

  return { name, where: node.where, hosts, hostsWhere, vars, tasks };
}

function checkTask(node: Node, index: number, playLabel: string, problems: Problem[]): PlaybookTask | undefined {
  const known = knownTaskNames();
  const knownList = known.length > 0 ? known.join(', ') : '(none registered)';
  if (node.kind !== 'map') {
    problems.push({ where: node.where, message: `${playLabel}, task #${index + 1}: a task must be a mapping with a name and one module, not ${describeNode(node)}` });
    return undefined;
  }
  const nameEntry = get(node, 'name');
  let name: string | undefined;
  if (nameEntry) {
    if (nameEntry.value.kind !== 'scalar' || typeof nameEntry.value.value !== 'string') {
      problems.push({ where: nameEntry.value.where, message: `${playLabel}, task #${index + 1}: "name" must be a string, not ${describeNode(nameEntry.value)}` });
    } else {
      name = nameEntry.value.value;
      for (const p of templateSyntaxErrors(nameEntry.value)) problems.push({ where: p.where, message: `task "${name}": ${p.message}` });
    }
  }
  const label = name !== undefined ? `task "${name}"` : `${playLabel}, task #${index + 1}`;

  const modules: MapEntry[] = [];
  let unknown = false;
  for (const entry of node.entries) {
    if (entry.key === 'name') continue;
    if (findTask(entry.key) || findModule(entry.key)) {
      modules.push(entry);
    } else if (UNSUPPORTED_TASK_KEYWORDS.has(entry.key)) {
      unknown = true;
      problems.push({
        where: entry.keyWhere,
        message: `${label}: "${entry.key}" is not supported: a wgplay task has a "name" and exactly one module`,
      });
    } else {
      unknown = true;
      problems.push({
        where: entry.keyWhere,
        message: `${label}: unknown module "${entry.key}"${didYouMean(entry.key, known)}; known modules: ${knownList}`,
      });
    }
  }
  if (modules.length > 1) {
    const names = modules.map((m) => `"${m.key}"`).join(' and ');
    problems.push({
      where: node.where,
      message: `${label} has ${modules.length} modules, ${names}: a task runs exactly one module; split it into ${modules.length} tasks`,
    });
    return undefined;
  }
  if (modules.length === 0) {
    if (!unknown) {
      problems.push({ where: node.where, message: `${label} names no module; a task needs exactly one of: ${knownList}` });
    }
    return undefined;
  }

  const module = modules[0]!;
  let args: MapNode;
  if (module.value.kind === 'map') {
    // Problems with the arguments as a whole (a missing one...) point at the module key.
    args = { ...module.value, where: module.keyWhere };
  } else if (module.value.kind === 'scalar' && module.value.value === null) {
    args = { kind: 'map', entries: [], where: module.keyWhere };
  } else {
    problems.push({ where: module.value.where, message: `${label}: the arguments of ${module.key} must be a mapping, not ${describeNode(module.value)}` });
    return undefined;
  }
  for (const p of templateSyntaxErrors(args)) problems.push({ where: p.where, message: `${label}: ${p.message}` });
  return { name, nameNode: nameEntry?.value, module: module.key, moduleWhere: module.keyWhere, args, origin: node.where };
}
