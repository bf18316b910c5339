import type { FactRequest, HostFacts } from '../facts/types.js';

/**
 * When a step runs inside the one remote script the apply phase sends to a host.
 * Phases run in this order; inside a phase, all `ip` lines become ONE `ip -batch`
 * and all `nft` lines ONE `nft -f` transaction.
 *   prepare   sysctls, files, key generation (the listen-port range is reserved
 *             before any wireguard-go process binds a random port)
 *   links     WireGuard interfaces created and configured, addresses set
 *   routing   ip rules and routes (they need the interfaces to exist)
 *   firewall  the nftables transaction
 *   teardown  interfaces and files removed (after their rules, routes and elements)
 */
export const PHASES = ['prepare', 'links', 'routing', 'firewall', 'teardown'] as const;
export type Phase = (typeof PHASES)[number];

export type Step =
  /** Bash lines run as they are (with `set -e`). */
  | { kind: 'shell'; phase: Phase; script: string; order?: number }
  /** One line for `ip -batch -`, e.g. "rule add from 10.200.200.1 table 41 priority 100". */
  | { kind: 'ip'; phase: Phase; line: string; order?: number }
  /** One command for `nft -f -`, e.g. "add element inet t s { 51821 }". */
  | { kind: 'nft'; phase: Phase; line: string; order?: number };

export type ChangeAction = 'create' | 'update' | 'delete';

export interface Change {
  /** What is changed, as an operator would name it: "ip rule from 10.200.200.1 table 41". */
  resource: string;
  action: ChangeAction;
  /**
   * What the operator reads: a unified diff for files, "+"/"-" lines for kernel
   * objects. Never holds a secret (tasks never read secrets; report/ redacts anyway).
   */
  diff: string;
  steps: Step[];
}

/** A JSON schema, as ajv takes it. */
export type JsonSchema = Record<string, unknown>;

/** A primitive, idempotent task: ensures one kind of state on a host. */
export interface TaskModule<Args = any> {
  name: string;
  /** One line for `--help` and docs. */
  summary: string;
  /** JSON schema of the arguments, checked by ajv before any host is contacted. */
  schema: JsonSchema;
  /**
   * Checks that need more than a schema (a valid CIDR, a name under 15 bytes...).
   * Returns problems with the JSON path of the offending argument ("" for the whole).
   */
  check?(args: Args): ArgumentProblem[];
  /** Facts this task needs beyond those always gathered. */
  facts(args: Args): FactRequest;
  /** Pure: the changes that make the host match `args`. Empty when it already does. */
  plan(args: Args, facts: HostFacts): Change[];
}

export interface ArgumentProblem {
  /** JSON pointer into the arguments, e.g. "/customers/1/listen_port"; "" = whole. */
  path: string;
  message: string;
}

/** One task of a play, after templating, ready to plan. */
export interface TaskInvocation {
  /** The task's `name` in the playbook (or one a module gave it). */
  name: string;
  module: string;
  args: unknown;
  /** Where it was written, for errors: "playbooks/gateway.yaml:12:5". */
  origin?: string;
}

/**
 * A higher-level module (e.g. the overlapping-customers gateway) that expands into
 * primitive tasks, so its plan and diff are theirs.
 */
export interface ExpandingModule<Args = any> {
  name: string;
  summary: string;
  schema: JsonSchema;
  check?(args: Args): ArgumentProblem[];
  /** Facts the expansion itself reads (e.g. the module's record of what it manages on the host). */
  facts?(args: Args): FactRequest;
  /**
   * The primitive tasks. Called once without facts (to learn which facts the tasks
   * need) and again with the host's facts; both calls must name the same resources
   * for customers the arguments list.
   */
  expand(args: Args, context: ExpandContext): TaskInvocation[];
}

export interface ExpandContext {
  taskName: string;
  origin?: string;
  facts?: HostFacts;
  /** The address wgplay reaches the host at over SSH (undefined for a local connection). */
  connectionAddress?: string;
}
