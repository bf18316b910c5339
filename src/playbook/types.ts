import type { ValuePosition } from '../inventory/types.js';

/**
 * A playbook as loaded from YAML: every value keeps the "file:line:col" it was written
 * at, so templating and argument validation (which happen later, per host) can still
 * point the operator at the exact place in the file.
 */

/** A YAML value with its position. Aliases are resolved; `where` is "file:line:col". */
export type Node = ScalarNode | SeqNode | MapNode;

export interface ScalarNode {
  kind: 'scalar';
  /** string | number | boolean | null for YAML input; anything for inventory values. */
  value: unknown;
  where: string;
}

export interface SeqNode {
  kind: 'seq';
  items: Node[];
  where: string;
}

export interface MapNode {
  kind: 'map';
  entries: MapEntry[];
  where: string;
}

export interface MapEntry {
  key: string;
  /** Where the key itself was written. */
  keyWhere: string;
  value: Node;
}

export interface Playbook {
  /** The path as given to loadPlaybook; it prefixes every position. */
  file: string;
  plays: Play[];
}

export interface Play {
  name: string;
  /** Where the play (its mapping) starts. */
  where: string;
  /** Host pattern, handed to the inventory's selector. */
  hosts: string;
  hostsWhere: string;
  /** Play variables, untemplated (templates resolve per host, lazily). */
  vars: MapEntry[];
  tasks: PlaybookTask[];
}

export interface PlaybookTask {
  /** The task's `name` as written (may hold templates), if any. */
  name?: string;
  nameNode?: Node;
  /** Name of the task module or expanding module (a key of the task mapping). */
  module: string;
  /** Where the module key was written. */
  moduleWhere: string;
  /** The module's arguments, untemplated; always a mapping (`module:` alone = {}). */
  args: MapNode;
  /** "file:line:col" of the task mapping; becomes TaskInvocation.origin. */
  origin: string;
}

/** One inventory host as resolvePlaybook needs it (a subset of the inventory's host). */
export interface HostVars {
  name: string;
  /** Host vars, already merged by the inventory (group vars < host vars). */
  vars: Record<string, unknown>;
  /** Groups the host belongs to; feeds the `group_names` and `groups` variables. */
  groups?: string[];
  /** Ansible's group_names (sorted, without "all"), when the inventory computed it. */
  groupNames?: string[];
  /**
   * Where the inventory writes each of `vars` (InventoryHost.varOrigins). With it, a bad
   * value that came from an inventory variable is reported where the inventory writes
   * it; without it, at the template that used it.
   */
  varOrigins?: Map<string, ValuePosition>;
}

/**
 * Host names a play's `hosts` pattern selects, in order. Throws WgplayError for
 * patterns it cannot understand (unknown group...).
 */
export type SelectHosts = (pattern: string) => string[];
