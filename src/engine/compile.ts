import { randomBytes } from 'node:crypto';
import { PHASES, type Change, type Step } from '../tasks/types.js';

/** A marker line the apply script prints as it enters each phase; the last one seen says where it stopped. */
export const PHASE_MARKER = '@@wgplay-phase ';

/**
 * All changes of a host as ONE bash script: phases in order; in each, shell steps,
 * then one `ip -batch`, then one `nft -f` transaction.
 */
export function compileApplyScript(changes: Change[]): string {
  const steps = changes.flatMap((change) => change.steps);
  const delimiter = `WGPLAY_${randomBytes(6).toString('hex')}`;
  const out = ['set -euo pipefail', 'export LC_ALL=C'];
  for (const phase of PHASES) {
    const inPhase = steps
      .map((step, index) => ({ step, index }))
      .filter(({ step }) => step.phase === phase)
      .sort((a, b) => (a.step.order ?? 0) - (b.step.order ?? 0) || a.index - b.index)
      .map(({ step }) => step);
    if (inPhase.length === 0) continue;
    out.push(`printf '%s\\n' '${PHASE_MARKER}${phase}'`);
    const of = <K extends Step['kind']>(kind: K) => inPhase.filter((step): step is Extract<Step, { kind: K }> => step.kind === kind);
    for (const step of of('shell')) out.push(step.script);
    const ipLines = of('ip').map((step) => step.line);
    if (ipLines.length) out.push(`ip -batch - <<'${delimiter}'`, ...ipLines, delimiter);
    const nftLines = of('nft').map((step) => step.line);
    if (nftLines.length) out.push(`nft -f - <<'${delimiter}'`, ...nftLines, delimiter);
  }
  out.push(`printf '%s\\n' '${PHASE_MARKER}done'`);
  return `${out.join('\n')}\n`;
}

/** The phase an apply script was in when it stopped ("done" when it finished). */
export function lastPhase(stdout: string): string | undefined {
  const markers = stdout.split('\n').filter((line) => line.startsWith(PHASE_MARKER));
  return markers.at(-1)?.slice(PHASE_MARKER.length);
}
