// Invalid nft refused on the controller (src/engine/nftCheck.ts): the real nft -c in a
// throwaway network namespace (`unshare -n`, or `-rn` when not root), behind a wrapper
// on PATH that logs every time it runs, and the user's cache of accepted texts in a
// scratch XDG_CACHE_HOME. Needs nft and unshare (scripts/install-deps.sh installs them).
// Each test imports nftCheck.ts afresh (it keeps what it learned for the process), and
// only it: modules first loaded inside a test would count, for mutation testing, as
// covered by that test alone (the task schemas, built once at load).
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatProblem, WgplayError } from '../../src/errors.js';
import type { TaskInvocation } from '../../src/tasks/types.js';

const realNft = execFileSync('bash', ['-c', 'command -v nft'], { encoding: 'utf8' }).trim();
const realUnshare = execFileSync('bash', ['-c', 'command -v unshare'], { encoding: 'utf8' }).trim();
const saved = { PATH: process.env.PATH, XDG_CACHE_HOME: process.env.XDG_CACHE_HOME };
let dir = '';
let log = '';
let wrapper = '';

const runs = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0);
const cacheFile = () => join(dir, 'cache', 'wgplay', 'nft-accepted');
const cached = () => (existsSync(cacheFile()) ? readFileSync(cacheFile(), 'utf8').split('\n').filter(Boolean) : []);

const table = (name: string, rules: string[], more: { origin?: string; state?: 'present' | 'absent' } = {}): TaskInvocation => ({
  name: `table ${name}`,
  module: 'nft_table',
  origin: more.origin,
  args: { family: 'inet', name, state: more.state ?? 'present', persist: false, chains: [{ name: 'c', rules }] },
});

/** Another instance of nftCheck.ts from the next import on (vite keys a module by its id, query included). */
let generation = 0;
const forget = () => void generation++;
const NFT_CHECK = '../../src/engine/nftCheck.js';
const nftCheck = () => import(/* @vite-ignore */ `${NFT_CHECK}?generation=${generation}`) as Promise<typeof import('../../src/engine/nftCheck.js')>;

/** nftCheck.ts of this generation (nothing learned before it), run with this test's PATH and cache. */
async function check(tasks: TaskInvocation[]): Promise<string[]> {
  const { checkNftOnController } = await nftCheck();
  try {
    await checkNftOnController(tasks);
    return [];
  } catch (error) {
    // An empty refusal would stop the run just as a real one: not a pass.
    if (error instanceof WgplayError && error.problems.length > 0) return error.problems.map(formatProblem);
    throw error;
  }
}

it('imports nftCheck.ts afresh after forget(), and the same one until then', async () => {
  const first = await nftCheck();
  expect(await nftCheck()).toBe(first);
  forget();
  expect(await nftCheck()).not.toBe(first);
});

describe('nft checked on the controller', () => {
  beforeEach(() => {
    forget();
    dir = mkdtempSync(join(tmpdir(), 'wgplay-nftcheck-'));
    log = join(dir, 'nft.log');
    wrapper = join(dir, 'bin', 'nft');
    mkdirSync(join(dir, 'bin'));
    writeFileSync(wrapper, `#!/bin/sh\necho run >> ${log}\nexec ${realNft} "$@"\n`);
    chmodSync(wrapper, 0o755);
    process.env.PATH = `${join(dir, 'bin')}:${saved.PATH}`;
    process.env.XDG_CACHE_HOME = join(dir, 'cache');
  });
  afterEach(() => {
    process.env.PATH = saved.PATH;
    if (saved.XDG_CACHE_HOME === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved.XDG_CACHE_HOME;
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses every table nft refuses, with the task's place and nft's message naming the rule, and only those", async () => {
    const problems = await check([
      table('good', ['tcp dport 22 accept']),
      table('bad', ['accept', 'oifname veth-e0 masquerad'], { origin: 'play.yaml:7:9' }),
      table('worse', ['drop', 'ip saddr 10.0.0.300 accept']),
    ]);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^play\.yaml:7:9: task "table bad", nft_table inet bad: nft refuses the table: chains\[0\]\.rules\[1\]: Error: syntax error, unexpected newline/);
    expect(problems[0]).toContain('oifname veth-e0 masquerad');
    expect(problems[1]).toMatch(/^task "table worse", nft_table inet worse: nft refuses the table: chains\[0\]\.rules\[1\]: Error: /);
  });

  it('keeps only accepted texts in the user\'s cache, so the next run spawns no nft for them', async () => {
    expect(await check([table('good', ['tcp dport 22 accept'])])).toEqual([]);
    const first = runs();
    expect(first).toBeGreaterThan(0);
    expect(cached()).toHaveLength(1);
    expect(cached()[0]).toMatch(/^[0-9a-f]{64}$/);

    forget();
    expect(await check([table('good', ['tcp dport 22 accept'])])).toEqual([]);
    expect(runs()).toBe(first);

    // A refusal is never kept: the next run checks it again, and refuses again.
    forget();
    expect(await check([table('bad', ['masquerad'])])).toHaveLength(1);
    const refusedOnce = runs();
    expect(refusedOnce).toBeGreaterThan(first);
    expect(cached()).toHaveLength(1);
    forget();
    expect(await check([table('bad', ['masquerad'])])).toHaveLength(1);
    expect(runs()).toBeGreaterThan(refusedOnce);
  });

  it('checks a text once per run, whatever the number of hosts that share it', async () => {
    const { checkNftOnController } = await nftCheck();
    // Not kept in the cache (refused), so only the run's memory spares the second check.
    const bad = [table('bad', ['masquerad'])];
    await expect(checkNftOnController(bad)).rejects.toThrow('nft refuses the table');
    const once = runs();
    await expect(checkNftOnController(bad)).rejects.toThrow('nft refuses the table');
    expect(runs()).toBe(once);
  });

  it('checks a cached text again with another nft binary (another mtime)', async () => {
    expect(await check([table('good', ['tcp dport 22 accept'])])).toEqual([]);
    const first = runs();
    utimesSync(wrapper, new Date(), new Date(Date.now() - 3_600_000));
    forget();
    expect(await check([table('good', ['tcp dport 22 accept'])])).toEqual([]);
    expect(runs()).toBeGreaterThan(first);
    expect(cached()).toHaveLength(2);
  });

  it('checks only tables that are present; none at all spawns nothing', async () => {
    expect(await check([table('gone', ['masquerad'], { state: 'absent' })])).toEqual([]);
    expect(await check([{ name: 'rule', module: 'ip_rule', args: { from: '10.0.0.1', table: 5, priority: 5 } }])).toEqual([]);
    expect(runs()).toBe(0);
  });

  it('keeps the newest half once it holds a thousand texts, owner-only', async () => {
    mkdirSync(join(dir, 'cache', 'wgplay'), { recursive: true });
    const old = Array.from({ length: 1000 }, (_, index) => index.toString(16).padStart(64, '0'));
    writeFileSync(cacheFile(), `${old.join('\n')}\nnot a hash\n`);
    expect(await check([table('good', ['tcp dport 22 accept'])])).toEqual([]);
    const kept = cached();
    expect(kept).toHaveLength(500);
    expect(kept.slice(0, -1)).toEqual(old.slice(-499));
    expect(kept.at(-1)).toMatch(/^[0-9a-f]{64}$/);
    expect(old).not.toContain(kept.at(-1));
    // Rewritten owner-only, as an appended one is.
    expect(statSync(cacheFile()).mode & 0o777).toBe(0o600);
  });

  it('keeps the cache owner-only, each accepted text once, and checks a new text beside cached ones', async () => {
    expect(await check([table('good', ['tcp dport 22 accept'])])).toEqual([]);
    expect(statSync(cacheFile()).mode & 0o777).toBe(0o600);
    forget();
    const problems = await check([table('good', ['tcp dport 22 accept']), table('bad', ['masquerad']), table('other', ['udp dport 53 accept'])]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^task "table bad", nft_table inet bad: nft refuses the table/);
    expect(cached()).toHaveLength(2);
  });

  it('leaves the check to the host where unshare is missing, or nft under it', async () => {
    mkdirSync(join(dir, 'only'));
    process.env.PATH = join(dir, 'only');
    expect(await check([table('bad', ['masquerad'])])).toEqual([]);
    symlinkSync(realUnshare, join(dir, 'only', 'unshare'));
    forget();
    expect(await check([table('bad', ['masquerad'])])).toEqual([]);
    expect(runs()).toBe(0);
  });

  it('leaves the check to the host when nft does not answer in time', async () => {
    // Answers the probe, then hangs on the table: killed after 5 s, no verdict, no refusal.
    writeFileSync(wrapper, `#!/bin/sh\necho run >> ${log}\ninput=$(cat)\ncase "$input" in *hangs*) exec sleep 30;; esac\nprintf '%s' "$input" | exec ${realNft} "$@"\n`);
    const started = Date.now();
    expect(await check([table('hangs', ['masquerad'])])).toEqual([]);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(runs()).toBe(2);
    expect(cached()).toEqual([]);
  });

  it('leaves the check to the host where the controller has no nft', async () => {
    process.env.PATH = join(dir, 'empty');
    expect(await check([table('bad', ['masquerad'])])).toEqual([]);
    expect(cached()).toEqual([]);
  });
});
