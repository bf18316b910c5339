/**
 * Per-host templating and argument validation of a loaded playbook. Everything that can
 * be wrong with the input is found here, before any host is contacted, and reported in
 * ONE WgplayError.
 */
import { WgplayError, type Problem } from '../errors.js';
import { findModule, findTask } from '../catalog.js';
import type { TaskInvocation } from '../tasks/types.js';
import { FAILED, Scope, SourceMap, escapePointer, locate, pointerToPath, renderNode, toNode, type Hop, type Located, type VarDef } from './template.js';
import type { ValuePosition } from '../inventory/types.js';
import type { HostVars, Play, Playbook, PlaybookTask, SelectHosts } from './types.js';
import { validateArgs, type ArgumentIssue } from './validate.js';

/** A problem found on one host. */
interface HostProblem extends Problem {
  /**
   * Name the hosts that have it even when every host of the play does: a bad value in
   * the inventory, whose message says which task used it ("used by task ... at ...").
   */
  namesHosts?: boolean;
}

/**
 * For every play, every host its pattern selects: the play's tasks, templated for that
 * host and validated, in order. Hosts appear in the order plays first select them.
 * Expanding modules are returned as they are (the engine expands them).
 */
export function resolvePlaybook(
  playbook: Playbook,
  hosts: HostVars[],
  selectHosts: SelectHosts,
  options: {
    /** Only these hosts (--limit): the others are neither templated nor checked. */
    limit?: ReadonlySet<string>;
    /** -e variables: over play vars, as in Ansible. */
    extraVars?: ExtraVars;
    /** The `groups` variable, when the inventory computed it (empty groups too). */
    groups?: Record<string, string[]>;
  } = {},
): Map<string, TaskInvocation[]> {
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const groups = options.groups ?? groupsVariable(hosts);
  const extraVars = options.extraVars;
  const result = new Map<string, TaskInvocation[]>();
  const problems: Problem[] = [];

  for (const play of playbook.plays) {
    const label = `play "${play.name}"`;
    let selected: string[];
    try {
      selected = selectHosts(play.hosts);
    } catch (error) {
      if (!(error instanceof WgplayError)) throw error;
      for (const p of error.problems) problems.push({ where: play.hostsWhere, message: `${label}: ${p.message}` });
      continue;
    }
    if (selected.length === 0) {
      problems.push({ where: play.hostsWhere, message: `${label}: hosts pattern "${play.hosts}" matches no hosts` });
      continue;
    }

    // Problems of this play: where+message -> hosts that have it.
    const found = new Map<string, { problem: HostProblem; hosts: string[] }>();
    const targets: string[] = [];
    for (const hostName of [...new Set(selected)].filter((name) => !options.limit || options.limit.has(name))) {
      const host = byName.get(hostName);
      if (!host) {
        problems.push({ where: play.hostsWhere, message: `${label}: hosts pattern "${play.hosts}" selected "${hostName}", which is not in the inventory` });
        continue;
      }
      targets.push(hostName);
      const hostProblems: HostProblem[] = [];
      const invocations = resolveForHost(play, host, groups, hostProblems, extraVars);
      const list = result.get(hostName) ?? [];
      list.push(...invocations);
      result.set(hostName, list);
      for (const p of hostProblems) {
        const id = `${p.where}\0${p.message}`;
        const entry = found.get(id);
        if (entry) {
          if (!entry.hosts.includes(hostName)) entry.hosts.push(hostName);
        } else {
          found.set(id, { problem: p, hosts: [hostName] });
        }
      }
    }
    for (const { problem, hosts: on } of sortByPosition([...found.values()])) {
      const mentionsHost = on.length === 1 && `${problem.where} ${problem.message}`.includes(`host ${on[0]}`);
      const suffix = problem.namesHosts
        ? ` on ${hostList(on)}`
        : on.length === targets.length || mentionsHost
          ? ''
          : ` (on host${on.length === 1 ? '' : 's'} ${on.join(', ')})`;
      problems.push({ where: problem.where, message: problem.message + suffix });
    }
  }

  const unique = new Map<string, Problem>();
  for (const p of problems) unique.set(`${p.where}\0${p.message}`, p);
  if (unique.size > 0) throw new WgplayError([...unique.values()]);
  return result;
}

/** "host gw1", "hosts gw1, gw2", "hosts gw1, gw2, gw3, gw4, gw5 and 7 more". */
function hostList(hosts: string[]): string {
  if (hosts.length === 1) return `host ${hosts[0]}`;
  const shown = hosts.length > 6 ? hosts.slice(0, 5) : hosts;
  const more = hosts.length - shown.length;
  return `hosts ${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

/**
 * In file order (files in the order they first come up, then line, then column);
 * places that are not "file:line:col" keep theirs, last.
 */
function sortByPosition<T extends { problem: Problem }>(items: T[]): T[] {
  const files: string[] = [];
  const key = (where: string): [number, number, number] => {
    const m = /^(.*):(\d+):(\d+)$/.exec(where);
    if (!m) return [Infinity, 0, 0];
    if (!files.includes(m[1]!)) files.push(m[1]!);
    return [files.indexOf(m[1]!), Number(m[2]), Number(m[3])];
  };
  return items
    .map((item, index) => ({ item, index, at: key(item.problem.where) }))
    .sort((a, b) => a.at[0] - b.at[0] || a.at[1] - b.at[1] || a.at[2] - b.at[2] || a.index - b.index)
    .map((x) => x.item);
}

/** `groups`: every group name (and "all") -> its host names, in inventory order. */
function groupsVariable(hosts: HostVars[]): Record<string, string[]> {
  const groups: Record<string, string[]> = { all: hosts.map((h) => h.name) };
  for (const host of hosts) {
    for (const group of host.groups ?? []) {
      if (group === 'all') continue;
      (groups[group] ??= []).push(host.name);
    }
  }
  return groups;
}

/** -e variables with where each is written. */
export interface ExtraVars {
  vars: Record<string, unknown>;
  origins: Map<string, ValuePosition>;
}

function scopeFor(play: Play, host: HostVars, groups: Record<string, string[]>, problems: Problem[], extraVars?: ExtraVars): Scope {
  const defs = new Map<string, VarDef>();
  let order = 0;
  for (const [name, value] of Object.entries(host.vars)) {
    const position = host.varOrigins?.get(name);
    defs.set(name, {
      node: toNode(value, `host ${host.name}`, position),
      origin: { kind: 'host', host: host.name, located: position !== undefined },
      // Problems inside it are at its place in the inventory, named as written there.
      label: position ? name : `vars.${name}`,
      order: order++,
    });
  }
  for (const entry of play.vars) {
    defs.set(entry.key, {
      node: entry.value,
      origin: { kind: 'play', play: play.name },
      label: `play "${play.name}", vars.${entry.key}`,
      order: order++,
    });
  }
  for (const [name, value] of Object.entries(extraVars?.vars ?? {})) {
    const position = extraVars!.origins.get(name);
    defs.set(name, {
      node: toNode(value, `-e ${name}`, position),
      origin: { kind: 'host', host: host.name, located: position !== undefined },
      label: name,
      order: order++,
    });
  }
  const magic: Record<string, unknown> = {
    inventory_hostname: host.name,
    group_names: host.groupNames ?? (host.groups ?? []).filter((g) => g !== 'all').sort(),
    groups,
  };
  for (const [name, value] of Object.entries(magic)) {
    defs.set(name, { node: toNode(value, `variable ${name}`), origin: { kind: 'magic' }, label: name, order: order++ });
  }
  return new Scope(defs, problems);
}

function resolveForHost(
  play: Play,
  host: HostVars,
  groups: Record<string, string[]>,
  problems: HostProblem[],
  extraVars?: ExtraVars,
): TaskInvocation[] {
  const scope = scopeFor(play, host, groups, problems, extraVars);
  const invocations: TaskInvocation[] = [];
  for (const task of play.tasks) {
    const invocation = resolveTask(task, scope, problems);
    if (invocation) invocations.push(invocation);
  }
  return invocations;
}

function taskLabel(task: PlaybookTask): string {
  return task.name !== undefined ? `task "${task.name}"` : `unnamed ${task.module} task`;
}

function resolveTask(task: PlaybookTask, scope: Scope, problems: HostProblem[]): TaskInvocation | undefined {
  const label = taskLabel(task);
  let name: string = task.module;
  let failed = false;
  if (task.nameNode) {
    const rendered = renderNode(task.nameNode, '', new SourceMap(), { scope, describe: () => `${label}, name` });
    if (rendered === FAILED) failed = true;
    else name = typeof rendered === 'string' ? rendered : JSON.stringify(rendered);
  }

  const map = new SourceMap();
  const describe = (pointer: string): string => `${label}, ${task.module}${pointerToPath(pointer)}`;
  const args = renderNode(task.args, '', map, { scope, describe });
  if (args === FAILED || failed) return undefined;

  const schemaOwner = findTask(task.module) ?? findModule(task.module);
  if (!schemaOwner) {
    problems.push({ where: task.moduleWhere, message: `${label}: module "${task.module}" is no longer registered` });
    return undefined;
  }
  const issues = validateArgs(task.module, schemaOwner.schema, schemaOwner.check?.bind(schemaOwner), args);
  for (const issue of issues) {
    const place = locate(map, issue.pointer, issue.key);
    const source = place.hops[place.hops.length - 1];
    if (source?.origin.kind === 'host' && source.origin.located && source.where !== '') {
      problems.push(inventoryProblem(task, label, issue, place, source));
      continue;
    }
    const described = issue.key ? issue.pointer.slice(0, issue.pointer.lastIndexOf('/')) : issue.pointer;
    let details = [...(issue.got !== undefined ? [`got ${issue.got}`] : []), ...place.trail].join(', ');
    if (issue.hint !== undefined) details += `${details ? '; ' : ''}did you mean ${JSON.stringify(issue.hint)}?`;
    problems.push({
      where: place.where || task.origin,
      message: `${describe(described)}: ${issue.message}${details ? ` (${details})` : ''}`,
    });
  }
  if (issues.length > 0) return undefined;
  return { name, module: task.module, args, origin: task.origin };
}

/** Drops the last segment of a pointer: the mapping of a key problem. */
function parentOf(pointer: string): string {
  return pointer.slice(0, pointer.lastIndexOf('/'));
}

/**
 * A bad value written in the inventory (the innermost variable it came through is an
 * inventory variable with positions): reported where the inventory writes it, named
 * by its path in that variable, then the task (and argument, if it is named otherwise)
 * that used it and the variables it went through; the hosts are appended by the caller.
 *
 *   lab.inventory.yaml:31:19: customers[1].name: must match the pattern ^[a-z]+$
 *   (got "b;reboot"), used by task "gateway" at gateway.yaml:26:20 on host host-c
 */
function inventoryProblem(task: PlaybookTask, label: string, issue: ArgumentIssue, place: Located, source: Hop): HostProblem {
  const argument = issue.key ? parentOf(issue.pointer) : issue.pointer;
  const inVariable = issue.key ? parentOf(source.pointer) : source.pointer;
  const name = source.variable + pointerToPath(inVariable);
  let details = [
    ...(issue.got !== undefined ? [`got ${issue.got}`] : []),
    ...(place.interpolated !== undefined ? [`templated from ${JSON.stringify(place.interpolated)}`] : []),
  ].join(', ');
  if (issue.hint !== undefined) details += `${details ? '; ' : ''}did you mean ${JSON.stringify(issue.hint)}?`;
  const sameName = pointerToPath(`/${escapePointer(source.variable)}${inVariable}`) === pointerToPath(argument);
  const as = sameName ? '' : ` as ${task.module}${pointerToPath(argument)}`;
  const through = place.hops.slice(0, -1).map((hop) => ` through variable "${hop.variable}"${hopPlace(hop)}`).join('');
  return {
    where: source.where,
    message: `${name}: ${issue.message}${details ? ` (${details})` : ''}, used by ${label}${as} at ${place.where || task.origin}${through}`,
    namesHosts: true,
  };
}

function hopPlace(hop: Hop): string {
  switch (hop.origin.kind) {
    case 'play':
      return ` at ${hop.where}`;
    case 'host':
      return hop.origin.located ? ` at ${hop.where}` : ` of host ${hop.origin.host}`;
    case 'magic':
      return '';
  }
}
