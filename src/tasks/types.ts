import type { TSchema } from '@sinclair/typebox';
import type { FACT_PROGRAMS } from '../facts/factScript.js';
import type { FactRequest, HostFacts, SshConnectionFact } from '../facts/types.js';
import type { Validated } from './schema.js';

/**
 * When a step runs inside the one remote script the apply phase sends to a host.
 * Phases run in this order; inside a phase, all `ip` lines become ONE `ip -batch`
 * and all `nft` lines ONE `nft -f` transaction.
 *   prepare   sysctls, files, key generation (the listen-port range is reserved
 *             before any wireguard-go process binds a random port)
 *   links     new WireGuard interfaces created (a TUN where wireguard-go will run),
 *             MTU, link state and addresses: no new wireguard-go daemon runs yet
 *   routing   ip rules and routes (they need the interfaces to exist); still no new
 *             daemon: every running one reads every link, address and route event
 *   wireguard WireGuard configured: new interfaces' wireguard-go daemons started, each
 *             followed by its `wg set` (port, key, peers); live ones' ports, keys, peers
 *   firewall  the nftables transaction
 *   teardown  interfaces and files removed (after their rules, routes and elements)
 *   persist   what the next boot runs: wg-quick files, unit files and their enable
 *             links, nftables boot files dumped from the live tables, sysctl.d files;
 *             last, so that it records the live state the phases before it made. When
 *             the apply arms a commit-confirmed rollback, these run only once it is
 *             confirmed over a new SSH connection (src/engine/commitConfirmed.ts), so a
 *             rolled-back change does not come back at the next boot
 */
export const PHASES = ['prepare', 'links', 'routing', 'wireguard', 'firewall', 'teardown', 'persist'] as const;
export type Phase = (typeof PHASES)[number];

/**
 * Ordered stages inside a phase, for the few steps that must come before others of
 * the same phase; a step names no stage = the phase's first.
 *   links     new interfaces are named; then all are created in one `ip -batch`
 *   wireguard new interfaces are started with their port, key and peers (daemons two
 *             at a time); then the script waits for them; then a live one's port and
 *             key change; then its peers change
 *   firewall  whole tables are replaced; then elements are deleted, then added (an
 *             element that changes value is deleted and re-added); tables are deleted last
 *   persist   files are written; then nftables boot files are dumped from the live
 *             tables; then boot files of tables no longer persisted are removed (after
 *             any dump); then units are enabled or disabled; then the files staged in
 *             this phase are renamed into place; then systemd is told
 *   prepare   its steps; then the new WireGuard keys generated at once; then the
 *             files it staged renamed into place
 *   teardown  its steps, then the files it staged renamed into place
 *             (files are written into a staging folder beside their place, and each
 *             folder's renamed at once: src/tasks/shared/files.ts)
 */
export const STAGES = {
  prepare: ['changes', 'keys', 'files committed'],
  links: ['interfaces', 'created'],
  routing: [],
  wireguard: ['interfaces', 'started', 'ports and keys', 'peers'],
  firewall: ['tables', 'element deletions', 'element additions', 'table deletions'],
  teardown: ['removals', 'files committed'],
  persist: ['files', 'nft dumps', 'nft dump removals', 'unit links', 'files committed', 'daemon reload'],
} as const satisfies Record<Phase, readonly string[]>;
type Stage<P extends Phase> = (typeof STAGES)[P][number];

/** Where a step runs: its phase, and optionally its stage in that phase. */
type Placement = { [P in Phase]: { phase: P; stage?: Stage<P> } }[Phase];

export type Step = Placement &
  (
    /**
     * Bash lines run as they are (with `set -e`). Steps with the same `once` key run
     * once per script, at the first one's place (several tasks may need one table's
     * boot file rewritten, or systemd told about new units).
     */
    | { kind: 'shell'; script: string; once?: string }
    /** One line for `ip -batch -`, e.g. "rule add from 10.200.200.1 table 41 priority 100". */
    | { kind: 'ip'; line: string }
    /** One command for `nft -f -`, e.g. "add element inet t s { 51821 }". */
    | { kind: 'nft'; line: string }
  );

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

/** A program a task needs on the host (the fact script reports which exist). */
export type Program = (typeof FACT_PROGRAMS)[number];

/** The Debian package of each program, for "is not installed" errors. */
export const PROGRAM_PACKAGES: Record<Program, string> = {
  wg: 'wireguard-tools',
  'wireguard-go': 'wireguard-go',
  nft: 'nftables',
  ip: 'iproute2',
  sysctl: 'procps',
  'wg-quick': 'wireguard-tools',
  awk: 'gawk or mawk',
  base64: 'coreutils',
  sha256sum: 'coreutils',
  stat: 'coreutils',
};

/**
 * A primitive, idempotent task: ensures one kind of state on a host. Its file holds
 * its whole contract; adding a task is that file plus one line in src/tasks/index.ts.
 * Every method gets the arguments validated, with the schema's defaults filled in.
 */
export interface TaskModule<S extends TSchema = TSchema, Name extends string = string> {
  name: Name;
  /** One line for docs. */
  summary: string;
  /** The arguments (TypeBox), checked by ajv before any host is contacted; every field has a description. */
  schema: S;
  /**
   * Checks that need more than a schema (a valid CIDR, a name under 15 bytes...).
   * Returns problems with the JSON path of the offending argument ("" for the whole).
   */
  check?(args: Validated<S>): ArgumentProblem[];
  /**
   * The resources on the host this task manages ("file /etc/x", "UDP listen port 51820").
   * Two tasks of a host claiming one resource with different arguments are an input error.
   */
  claims(args: Validated<S>): string[];
  /** Programs the plan's steps run; the engine fails the task at plan time, naming the one missing. */
  programs(args: Validated<S>): readonly Program[];
  /** Facts this task needs beyond those always gathered. */
  facts(args: Validated<S>): FactRequest;
  /**
   * What in the arguments is a secret that a saved plan (`plan --out`) would have to store
   * ("writes a secret file"), or undefined when nothing is: such a plan is never saved.
   */
  secretInArgs?(args: Validated<S>): string | undefined;
  /** Pure: the changes that make the host match `args`. Empty when it already does. */
  plan(args: Validated<S>, facts: HostFacts): Change[];
  /**
   * Why applying `args` would cut wgplay's own SSH connection, as the host reported it;
   * undefined when it would not. Asked on every host reached over SSH, before any change.
   */
  cutsSsh?(args: Validated<S>, connection: SshConnectionFact, facts: HostFacts): string | undefined;
}

/** A task, with its name's literal type and its arguments' types inferred from the schema. */
export function defineTask<const Name extends string, S extends TSchema>(
  task: { name: Name; schema: S } & NoInfer<Omit<TaskModule<S, Name>, 'name' | 'schema'>>,
): TaskModule<S, Name> {
  return task;
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
 * primitive tasks, so its plan, diff, claims and programs are theirs.
 */
export interface ExpandingModule<S extends TSchema = TSchema, Name extends string = string> {
  name: Name;
  summary: string;
  /** The arguments (TypeBox), checked by ajv before any host is contacted. */
  schema: S;
  check?(args: Validated<S>): ArgumentProblem[];
  /** Facts the expansion itself reads (e.g. the module's record of what it manages on the host). */
  facts?(args: Validated<S>): FactRequest;
  /**
   * The primitive tasks. Called once without facts (to learn which facts the tasks
   * need) and again with the host's facts; both calls must name the same resources
   * for customers the arguments list.
   */
  expand(args: Validated<S>, context: ExpandContext): TaskInvocation[];
}

/** A module, with its name's literal type and its arguments' types inferred from the schema. */
export function defineModule<const Name extends string, S extends TSchema>(
  module: { name: Name; schema: S } & NoInfer<Omit<ExpandingModule<S, Name>, 'name' | 'schema'>>,
): ExpandingModule<S, Name> {
  return module;
}

export interface ExpandContext {
  taskName: string;
  origin?: string;
  facts?: HostFacts;
  /** wgplay's SSH connection as the host reported it (undefined for a local connection). */
  connection?: SshConnectionFact;
  /** `apply --rebuild-record`: modules read their records back from the host, not from their files. */
  rebuildRecord?: boolean;
}
