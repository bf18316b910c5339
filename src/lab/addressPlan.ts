// Management addresses for lab and test hosts, and atomic claims on them.
//
// 172.31.250.0/24 is split into 64 /30 "slots": slot N = 172.31.250.(4N)/30, root-side
// end .4N+1, host-side end .4N+2.
//   slots  0..15  `wgplay lab` (slot 0 = Host C: 172.31.250.1 <-> 172.31.250.2)
//   slots 16..63  end-to-end test hosts (claimed per host / per test lab, see claimSlot)

import { mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pidAlive } from './exec.js';

const MGMT_PREFIX = '172.31.250';
// Slots 0-15 are `wgplay lab`'s (the user's lab); tests take the rest.
export const TEST_SLOTS = { first: 16, last: 63 } as const;

interface MgmtAddresses {
  rootAddress: string;
  hostAddress: string;
  prefixLen: number;
}

export function mgmtAddresses(slot: number): MgmtAddresses {
  if (!Number.isInteger(slot) || slot < 0 || slot > 63) throw new Error(`bad management slot ${slot}`);
  return {
    rootAddress: `${MGMT_PREFIX}.${slot * 4 + 1}`,
    hostAddress: `${MGMT_PREFIX}.${slot * 4 + 2}`,
    prefixLen: 30,
  };
}

interface SlotClaim {
  slot: number;
  /** The claimed directory (root-only); the claimer's state lives in it. */
  dir: string;
}

const OWNER_FILE = 'owner.json';

/**
 * Claims the first free slot in [first, last] by creating `${root}/s${slot}` (mkdir is
 * atomic, so concurrent test processes never share a slot). The directory records the
 * owner pid; it is the claimer's state directory and is released by removing it.
 */
export function claimSlot(root: string, range: { first: number; last: number }, ownerPid = process.pid): SlotClaim {
  for (let slot = range.first; slot <= range.last; slot++) {
    const dir = join(root, `s${slot}`);
    try {
      mkdirSync(root, { recursive: true, mode: 0o700 });
      mkdirSync(dir, { mode: 0o700 });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      if (code === 'ENOENT') {
        slot--; // root removed by a concurrent releaseSlot: retry this slot
        continue;
      }
      throw e;
    }
    writeFileSync(join(dir, OWNER_FILE), JSON.stringify({ ownerPid, claimedAt: new Date().toISOString() }) + '\n', {
      mode: 0o600,
    });
    return { slot, dir };
  }
  throw new Error(`no free management slot in ${root} (${range.first}..${range.last}); stale hosts? try destroying them`);
}

interface ClaimedSlotDir {
  slot: number;
  dir: string;
  ownerPid?: number;
  /** Owner dead, or no owner recorded for over a minute. */
  stale: boolean;
}

/** Lists `${root}/sN` claims and whether their owner is gone. */
export function listSlotClaims(root: string): ClaimedSlotDir[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  const out: ClaimedSlotDir[] = [];
  for (const name of names) {
    const m = /^s(\d+)$/.exec(name);
    if (!m) continue;
    const dir = join(root, name);
    let ownerPid: number | undefined;
    try {
      ownerPid = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')).ownerPid;
    } catch {
      /* being created, or broken */
    }
    let stale: boolean;
    if (ownerPid !== undefined) stale = !pidAlive(ownerPid);
    else {
      let age = Infinity;
      try {
        age = Date.now() - statSync(dir).mtimeMs;
      } catch {
        continue;
      }
      stale = age > 60_000;
    }
    out.push({ slot: Number(m[1]), dir, ownerPid, stale });
  }
  return out.sort((a, b) => a.slot - b.slot);
}

/** Removes a claimed slot directory, and the root when that leaves it empty. */
export function releaseSlot(dir: string): void {
  assertStatePath(dir);
  rmSync(dir, { recursive: true, force: true });
  try {
    rmdirSync(dirname(dir));
  } catch {
    /* not empty (other claims) or gone */
  }
}

/** Refuses to delete anything that is not one of our root-only state directories. */
export function assertStatePath(path: string): void {
  if (!/^\/run\/wgplay-[a-z]+\/[^/]+/.test(path) || path.includes('..')) {
    throw new Error(`refusing to remove ${path}: not a wgplay lab state directory`);
  }
}
