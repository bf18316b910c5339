/**
 * Where an apply keeps its state on the host: under /run, so it is gone after a reboot
 * (as the lock holder, the detached apply and the rollback timer are).
 *   apply.lock, apply.owner   the host lock and who holds it (hostLock.ts)
 *   run/                      the last apply script run detached: owner, out, err, rc (detachedApply.ts)
 *   confirm/                  commit-confirmed: saved state, timer, rollback log (commitConfirmed.ts)
 */
export const STATE_DIR = '/run/wgplay';
export const RUN_DIR = `${STATE_DIR}/run`;
export const CONFIRM_DIR = `${STATE_DIR}/confirm`;
