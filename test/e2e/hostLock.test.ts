// One apply at a time per host, over real SSH: two applies of different customer sets
// started together, at several start offsets, never interleave. The final state is
// exactly one set (the one whose apply took the lock last), or one alone with the other
// refused as "host busy"; no orphan interface; every interface runs with the key in its
// key file (no key regenerated under a running interface).
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHost, testHostGateway, type TestHost } from './harness.js';
import { wgplay, wgplayJson, writePlaybook, type CliResult } from './wgplayCli.js';

let host: TestHost;
let inventory: string;

const key = (name: string) => createHash('sha256').update(`wgplay-lock-test-${name}`).digest('base64');

/**
 * A gateway playbook with exactly these customers, values allocated from the pools.
 * Each set has pools of its own: a customer replaced by another in the same apply
 * cannot hand over its port (its interface goes only in teardown), which is not what
 * this test is about.
 */
function gateway(names: string[], pools: Record<string, string>): string {
  return writePlaybook(testHostGateway('lock test gateway', names.map((name) => ({ name, public_key: key(name) })), pools));
}

const SETS = { x: ['x1', 'x2'], y: ['y1', 'y2'] } as const;
const playbooks = {} as Record<keyof typeof SETS | 'start', string>;
const BUSY = /host busy: an apply started at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ by \S+@\S+ \(pid \d+\)/;

const apply = (set: keyof typeof SETS, extra: string[] = []) => wgplayJson(['apply', playbooks[set], '-i', inventory, ...extra]);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The host's WireGuard interfaces, and whether each runs with the key of its key file. */
async function interfaces(): Promise<{ names: string[]; keysMatch: boolean }> {
  const out = await host.run(
    'for i in $(wg show interfaces); do if [ "$(wg show $i public-key)" = "$(wg pubkey < /etc/wireguard/$i.key)" ]; then echo "$i ok"; else echo "$i MISMATCH"; fi; done',
  );
  const lines = out.trim().split('\n').filter(Boolean);
  return { names: lines.map((line) => line.split(' ')[0]!).sort(), keysMatch: lines.every((line) => line.endsWith(' ok')) };
}

/** Which set the host is converged to: the one whose plan exits 0 (must be exactly one). */
async function convergedTo(): Promise<(keyof typeof SETS)[]> {
  const result: (keyof typeof SETS)[] = [];
  for (const set of ['x', 'y'] as const) {
    const plan = await wgplay(['plan', playbooks[set], '-i', inventory]);
    if (plan.code === 0) result.push(set);
  }
  return result;
}

beforeAll(async () => {
  host = await startTestHost({ name: 'lock' });
  inventory = host.writeInventory();
  playbooks.x = gateway([...SETS.x], { listen_ports: '51820-51849', tables: '41-99', our_addresses: '10.200.200.0/25', customer_addresses: '10.100.100.0/25' });
  playbooks.y = gateway([...SETS.y], { listen_ports: '51850-51899', tables: '100-199', our_addresses: '10.200.200.128/25', customer_addresses: '10.100.100.128/25' });
  // Each trial starts from a third state, so both applies change the host.
  playbooks.start = gateway(['s1'], { listen_ports: '51900-51909', tables: '200-209', our_addresses: '10.200.201.0/24', customer_addresses: '10.100.101.0/24' });
});

afterAll(async () => {
  await host?.destroy();
});

describe('one apply at a time per host', () => {
  const trials: { offsetMs: number; lockTimeout: number }[] = [
    { offsetMs: 0, lockTimeout: 0 },
    { offsetMs: 0, lockTimeout: 60 },
    { offsetMs: 300, lockTimeout: 0 },
    { offsetMs: 1000, lockTimeout: 60 },
  ];
  for (const [index, trial] of trials.entries()) {
    it(`two applies ${trial.offsetMs} ms apart (--lock-timeout ${trial.lockTimeout}) never interleave`, async () => {
      const reset = await wgplay(['apply', playbooks.start, '-i', inventory]);
      expect(reset.code, reset.stdout + reset.stderr).toBe(0);
      // Alternate which set starts first.
      const [first, second] = index % 2 === 0 ? (['x', 'y'] as const) : (['y', 'x'] as const);
      const extra = ['--lock-timeout', String(trial.lockTimeout)];
      const a = apply(first, extra);
      await sleep(trial.offsetMs);
      const b = apply(second, extra);
      const results = { [first]: await a, [second]: await b } as Record<'x' | 'y', CliResult & { report: { hosts: { error?: string; status: string }[] } }>;
      const outcome = (set: 'x' | 'y') => (results[set].code === 0 ? 'applied' : BUSY.test(results[set].report.hosts[0]?.error ?? '') ? 'busy' : `exit ${results[set].code}: ${results[set].stdout}${results[set].stderr}`);
      const outcomes = { x: outcome('x'), y: outcome('y') };
      const final = await convergedTo();
      const state = await interfaces();
      console.log(`trial ${index + 1}: ${first} then ${second} after ${trial.offsetMs} ms, --lock-timeout ${trial.lockTimeout}: x ${outcomes.x}, y ${outcomes.y}; host converged to ${final.join(',') || 'neither'}`);

      // Each apply either applied or was refused as busy; never a failure halfway.
      for (const set of ['x', 'y'] as const) expect(['applied', 'busy'], outcomes[set]).toContain(outcomes[set]);
      expect(Object.values(outcomes)).toContain('applied');
      if (trial.lockTimeout > 0) expect(outcomes).toEqual({ x: 'applied', y: 'applied' });
      // Exactly one set, entirely: its interfaces and no other.
      expect(final).toHaveLength(1);
      const winner = final[0]!;
      if (outcomes.x === 'busy') expect(winner).toBe('y');
      if (outcomes.y === 'busy') expect(winner).toBe('x');
      expect(state.names).toEqual(SETS[winner].map((name) => `wg-${name}`));
      expect(state.keysMatch).toBe(true);
      // Nothing of the applies is left running or holding the lock.
      expect(await host.run('cat /run/wgplay/apply.owner 2>/dev/null || echo free')).toBe('free\n');
    });
  }

  it('a killed apply leaves no stale lock: the next one takes it', async () => {
    const { spawn } = await import('node:child_process');
    const bin = new URL('../../bin/wgplay.js', import.meta.url).pathname;
    const child = spawn(process.execPath, [bin, 'apply', playbooks.x, '-i', inventory], { stdio: 'ignore' });
    // Killed while it holds the lock (it is taken before the facts are gathered).
    for (let i = 0; i < 200 && (await host.exec('test -s /run/wgplay/apply.owner')).code !== 0; i++) await sleep(25);
    child.kill('SIGKILL');
    const next = await apply('y', ['--lock-timeout', '30']);
    expect(next.code, next.stdout + next.stderr).toBe(0);
    expect(await convergedTo()).toEqual(['y']);
  });
});
