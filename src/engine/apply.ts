import { scrubKeys } from '../net/index.js';
import { TransportError, type RunResult } from '../transport/types.js';
import type { Change } from '../tasks/types.js';
import { armScript, confirmScript, parseConfirm, rollbackScope } from './commitConfirmed.js';
import { compileAfterConfirm, compileApplyScript, withLaterPhases } from './compile.js';
import { collectScript, detachedApplyScript, newRunId, withoutAliveMarkers } from './detachedApply.js';
import { newFrame, unframe } from './framed.js';
import { lockOwner } from './hostLock.js';
import type { ScriptRunner } from './run.js';

/** A new connection to the host, for the confirmation (fresh TCP connection, fresh authentication). */
export type Reconnect = () => Promise<ScriptRunner & { close(): Promise<void> }>;

export interface ApplyOptions {
  /**
   * Commit-confirmed: seconds the host waits for the confirmation before it rolls
   * back; with `reconnect`, how wgplay opens the new connection. Without reconnect (a
   * local connection has no SSH path to cut) nothing is armed.
   */
  confirmTimeoutSeconds: number;
  reconnect?: Reconnect;
  /** Silence (ms) after which the apply's connection counts as stalled (default 5 s). */
  stallMs?: number;
  /** Who runs the apply, kept on the host with the run ("T by USER@CONTROLLER (pid N)"). */
  owner?: string;
}

export type ApplyOutcome =
  /**
   * The apply script ran to its end (`result` says how); verify through `runner`, with
   * `verified` (the verify's facts, when the confirmation gathered them).
   */
  | { kind: 'ran'; result: RunResult; runner: ScriptRunner; fresh?: ScriptRunner & { close(): Promise<void> }; confirmed: boolean; verified?: RunResult }
  /** The connection was lost while the script ran: it went on on the host, unreported. */
  | { kind: 'lost'; why: string; armed: boolean }
  /** Not confirmed in time: the host restored what it had saved. */
  | { kind: 'rolled-back'; restored: string[]; result?: RunResult }
  /** No new connection until after the rollback should have happened. */
  | { kind: 'unconfirmed'; why: string; waitedSeconds: number };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Beyond the confirm timeout: time for the rollback itself and for sshd to take connections again. */
const ROLLBACK_SLACK_S = 20;

/**
 * Runs the changes on the host as one detached script, under commit-confirmed when a
 * change can cut the management path, and confirms through a new connection; once
 * confirmed, the same command runs `verifyScript` (the verify's facts).
 */
export async function applyChanges(
  runner: ScriptRunner,
  tasks: { module: string; args: unknown; changes: Change[] }[],
  options: ApplyOptions,
  verifyScript?: string,
): Promise<ApplyOutcome> {
  const changes = tasks.flatMap((task) => task.changes);
  const runId = newRunId();
  const scope = options.reconnect && options.confirmTimeoutSeconds > 0 ? rollbackScope(tasks) : undefined;
  const arm = scope && armScript(scope, options.confirmTimeoutSeconds, runId);
  const script = detachedApplyScript(compileApplyScript(changes, arm), runId, options.owner ?? lockOwner());

  let result: RunResult | undefined;
  try {
    result = await runner.run(script, { label: 'apply', idleTimeoutMs: options.stallMs ?? 5_000 });
  } catch (error) {
    if (!(error instanceof TransportError)) throw error;
    // Closed or reset: the operator lost the host; the script goes on there, a rollback
    // (if armed) follows. A stall may be a change that cut this connection: look through a new one.
    if (error.kind !== 'stalled' || !options.reconnect) return { kind: 'lost', why: error.problems[0]!.message, armed: arm !== undefined };
  }
  if (result && !arm) return { kind: 'ran', result: clean(result), runner, confirmed: false };

  // The timer starts when the script ends: until then plus the timeout, keep trying.
  const started = Date.now();
  const deadline = started + (options.confirmTimeoutSeconds + ROLLBACK_SLACK_S) * 1000;
  let lastWhy = '';
  for (;;) {
    let fresh: Awaited<ReturnType<Reconnect>> | undefined;
    try {
      fresh = await options.reconnect!();
      if (!result) {
        result = clean(await fresh.run(collectScript(runId), { label: 'apply (its result, through a new connection)' }));
      }
      if (!arm) return { kind: 'ran', result, runner: fresh, fresh, confirmed: false };
      const afterConfirm = compileAfterConfirm(changes);
      const frame = newFrame();
      const confirmation = await fresh.run(confirmScript(runId, afterConfirm ? `${afterConfirm} || exit $?` : '', verifyScript ? { script: verifyScript, frame } : undefined), {
        label: 'confirm',
      });
      const outcome = parseConfirm(confirmation.stdout);
      if (!outcome) throw new Error(`the confirmation printed no outcome (exit ${confirmation.code}): ${scrubKeys(confirmation.stderr.trim())}`);
      if (!outcome.confirmed) {
        await fresh.close().catch(() => undefined);
        return { kind: 'rolled-back', restored: outcome.rolledBack, result };
      }
      // The verify's facts, framed after what the confirmation itself printed.
      const framed = verifyScript ? unframe(confirmation.stdout, frame) : undefined;
      // After an apply script that ran to its end, the phase that waited for the
      // confirmation follows its own (where it stopped, what it took).
      const confirmed = framed ? framed.before : confirmation.stdout;
      const stdout = result.code === 0 ? withLaterPhases(result.stdout, confirmed) : result.stdout;
      if (confirmation.code !== 0) {
        return { kind: 'ran', result: { ...result, stdout, code: confirmation.code, stderr: `${result.stderr}${confirmation.stderr}` }, runner: fresh, fresh, confirmed: true };
      }
      return { kind: 'ran', result: { ...result, stdout }, runner: fresh, fresh, confirmed: true, ...(framed ? { verified: framed.ran } : {}) };
    } catch (error) {
      await fresh?.close().catch(() => undefined);
      lastWhy = (error as Error).message;
      if (!(error instanceof TransportError)) throw error;
      if (Date.now() > deadline) {
        if (!arm) return { kind: 'lost', why: lastWhy, armed: false };
        return { kind: 'unconfirmed', why: lastWhy, waitedSeconds: Math.round((Date.now() - started) / 1000) };
      }
      await sleep(1_000);
    }
  }
}

function clean(result: RunResult): RunResult {
  return { ...result, stdout: withoutAliveMarkers(result.stdout) };
}
