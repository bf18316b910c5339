// What running a playbook on a host produced: the engine's output, the report's input.
import type { FactRequest } from './facts/types.js';
import type { Change, TaskInvocation } from './tasks/types.js';

export interface TaskResult {
  name: string;
  module: string;
  origin?: string;
  changes: Change[];
  error?: string;
}

/** `cancelled`: an AbortSignal stopped the host before its apply script started (nothing changed). */
export type HostStatus = 'ok' | 'changed' | 'failed' | 'unreachable' | 'cancelled';

export interface HostResult {
  host: string;
  status: HostStatus;
  tasks: TaskResult[];
  /** Set when the host failed as a whole (unreachable, apply script failed, did not converge). */
  error?: string;
  /** Changes were applied (apply mode only). */
  applied: boolean;
  /**
   * A saved plan was refused because the host changed since it was made: each line
   * a fact that differs ("- " as planned, "+ " as found). Nothing was changed.
   */
  drift?: string[];
  /**
   * The run was cancelled (AbortSignal) for this host: `before-apply` (status
   * `cancelled`, nothing changed) or `during-apply` (the apply script was already
   * running: it was let finish and verified; status says how it went).
   */
  cancelled?: 'before-apply' | 'during-apply';
  /** With RunHostOptions.keepBasis, for a plan that can be saved and applied later. */
  basis?: PlanBasis;
  /**
   * How an apply that changed the host ended when it did not end normally: `cut` (the
   * connection was lost: what ran is unknown), `rolled-back` (not confirmed in time).
   */
  outcome?: 'cut' | 'rolled-back';
  /**
   * An apply that ran to its end: seconds each phase of its script took on the host
   * (prepare, links, ...; those with nothing to do are absent), then `verify`, the facts
   * gathered again and planned (on the controller's clock).
   */
  phaseSeconds?: Record<string, number>;
  /** Things the operator should know that are not errors (an earlier apply that was never reported). */
  notes?: string[];
}

export interface PlanBasis {
  /** The facts asked for; applying gathers the same to compare. */
  request: FactRequest;
  /** factsFingerprint(facts): what `apply FILE` compares, under the host lock. */
  fingerprint: string;
  /** The canonical facts themselves, to show what drifted. */
  facts: string[];
  /** The primitive tasks (modules expanded with the facts): verify plans them again. */
  invocations: TaskInvocation[];
}
