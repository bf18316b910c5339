// Invalid nft is refused on the controller, before any host is contacted, where the
// controller has nft and can make a throwaway network namespace: every nft_table's text
// (the gateway's generated tables included) goes through `nft -c -f -` inside
// `unshare -n` (as root) or `unshare -rn` (a user namespace, as anyone else). nft -c
// never commits, and the namespace is empty and gone when nft exits: the controller's
// own ruleset is never read or touched. Where this cannot run, the host checks the same
// text in the facts round trip (factScript's nft_canonical), still before any change.
//
// A text this nft accepted once is not checked again (no process spawned): the hashes
// of accepted texts are kept in the user's cache ($XDG_CACHE_HOME or ~/.cache,
// wgplay/nft-accepted), keyed by the exact text and the nft binary (path, size, mtime,
// inode), so another nft checks again. A refusal is never kept. The cache only spares
// the early error's cost: the host reads every table's text through its own nft in
// the facts round trip anyway (nftTable.ts), and an apply's nft -f is one transaction.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { WgplayError, type Problem } from '../errors.js';
import { nftRefusal, renderNftTable } from '../tasks/nftTable.js';
import type { TaskInvocation } from '../tasks/types.js';

type NftTableArgs = Parameters<typeof nftRefusal>[0];

/** nft's verdict on a text: undefined when it accepts it, else its error output. */
type Verdict = string | undefined;

const CHECK_TIMEOUT_MS = 5_000;
/** A table that any nft accepts: proves the namespace and nft -c work here. */
const PROBE = 'table inet wgplay_probe {\n\tchain c {\n\t}\n}\n';

function nftCheck(text: string): Promise<{ code: number | null; output: string }> {
  const unshare = process.getuid?.() === 0 ? ['-n'] : ['-rn'];
  return new Promise((resolve) => {
    const child = spawn('unshare', [...unshare, '--', 'nft', '-c', '-f', '-'], { stdio: ['pipe', 'pipe', 'pipe'], timeout: CHECK_TIMEOUT_MS });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    child.stdin.on('error', () => undefined); // nft exited before reading it all: its status says why
    child.on('error', () => resolve({ code: null, output: '' })); // no unshare
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(text);
  });
}

let available: Promise<boolean> | undefined;
/** Whether nft -c runs in a throwaway namespace on this machine (asked once per process). */
function controllerCanCheck(): Promise<boolean> {
  available ??= nftCheck(PROBE).then((result) => result.code === 0);
  return available;
}

/** The nft that `unshare -- nft` runs (the first on PATH), as a key part: another binary checks again. */
function nftIdentity(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, 'nft');
    try {
      const stat = statSync(path);
      if (stat.isFile()) return `${path} ${stat.size} ${stat.mtimeMs} ${stat.ino}`;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

const ACCEPTED_KEPT = 1_000;

/** The hashes of texts this nft accepted: a line each, the newest last. */
class AcceptedTexts {
  private readonly path: string;
  private hashes: Set<string> | undefined;

  constructor(private readonly nft: string) {
    const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
    this.path = join(cache, 'wgplay', 'nft-accepted');
  }

  private hashOf(text: string): string {
    return createHash('sha256').update(this.nft).update('\0').update(text).digest('hex');
  }

  private load(): Set<string> {
    if (!this.hashes) {
      let lines: string[] = [];
      try {
        lines = readFileSync(this.path, 'utf8').split('\n').filter((line) => /^[0-9a-f]{64}$/.test(line));
      } catch {
        // no cache yet (or unreadable): every text is checked
      }
      this.hashes = new Set(lines);
    }
    return this.hashes;
  }

  has(text: string): boolean {
    return this.load().has(this.hashOf(text));
  }

  /** Best effort: a cache that cannot be written only costs a check next time. */
  add(text: string): void {
    const hashes = this.load();
    const hash = this.hashOf(text);
    if (hashes.has(hash)) return;
    hashes.add(hash);
    try {
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      if (hashes.size > ACCEPTED_KEPT) {
        // Keep the newest half; a rename, so a concurrent reader sees the old or the new list.
        const kept = [...hashes].slice(-ACCEPTED_KEPT / 2);
        this.hashes = new Set(kept);
        writeFileSync(`${this.path}.${process.pid}`, `${kept.join('\n')}\n`, { mode: 0o600 });
        renameSync(`${this.path}.${process.pid}`, this.path);
      } else {
        appendFileSync(this.path, `${hash}\n`, { mode: 0o600 });
      }
    } catch {
      // read-only or full: ignored
    }
  }
}

/** Not looked for yet (undefined), no nft to key the cache by (null: nothing is spared), or the cache. */
let accepted: AcceptedTexts | null | undefined;
function acceptedTexts(): AcceptedTexts | null {
  if (accepted === undefined) {
    const nft = nftIdentity();
    accepted = nft ? new AcceptedTexts(nft) : null;
  }
  return accepted;
}

/** One check per distinct text: hosts and the repeated checks of one run share it. */
const remembered = new Map<string, Promise<Verdict | 'unavailable'>>();
const MAX_REMEMBERED = 1_000;

function verdictOf(text: string): Promise<Verdict | 'unavailable'> {
  let pending = remembered.get(text);
  if (!pending) {
    pending = nftCheck(text).then(({ code, output }) => {
      if (code === 0) return undefined;
      // Killed (timeout) or not started: no verdict; the host checks it.
      if (code === null) return 'unavailable';
      return output.trim();
    });
    if (remembered.size >= MAX_REMEMBERED) remembered.clear();
    remembered.set(text, pending);
  }
  return pending;
}

/**
 * Throws one WgplayError naming every nft_table among these primitive tasks (a module's
 * expanded: the gateway's generated tables) whose text nft refuses, with the task's
 * place and nft's own message. Does nothing where the controller cannot check.
 */
export async function checkNftOnController(primitives: TaskInvocation[]): Promise<void> {
  const tables = primitives.filter(
    (invocation) => invocation.module === 'nft_table' && (invocation.args as NftTableArgs).state === 'present',
  );
  if (tables.length === 0) return;
  const texts = tables.map((invocation) => `${renderNftTable(invocation.args as NftTableArgs)}\n`);
  const cache = acceptedTexts();
  if (cache && texts.every((text) => cache.has(text))) return;
  if (!(await controllerCanCheck())) return;
  const verdicts = await Promise.all(texts.map((text) => (cache?.has(text) ? undefined : verdictOf(text))));
  texts.forEach((text, index) => verdicts[index] === undefined && cache?.add(text));
  const problems: Problem[] = tables.flatMap((invocation, index) => {
    const verdict = verdicts[index];
    if (verdict === undefined || verdict === 'unavailable') return [];
    const args = invocation.args as NftTableArgs;
    return [
      {
        where: `${invocation.origin ? `${invocation.origin}: ` : ''}task "${invocation.name}", nft_table ${args.family} ${args.name}`,
        message: nftRefusal(args, verdict),
      },
    ];
  });
  if (problems.length > 0) throw new WgplayError(problems);
}
