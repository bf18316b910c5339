// What a library user (and the CLI's progress view) is told while a host runs: the
// phases, each task as it is planned, and each task's outcome once the host's is known
// (src/engine/run.ts EngineEvents). Through the fake host (fakeHost.ts).
import { describe, expect, it } from 'vitest';
import { runHost, type EngineEvents } from '../../src/engine/run.js';
import { converging, EMPTY, FakeHost, facts, RULE, tasks, WITH_RULE } from './fakeHost.js';

function recorder() {
  const seen: string[] = [];
  const events: EngineEvents = {
    phase: (host, phase) => seen.push(`${host} phase ${phase}`),
    taskStart: (host, task) => seen.push(`${host} start ${task.name}`),
    taskChanges: (host, task) => seen.push(`${host} changes ${task.name}: ${task.changes.length}`),
    taskDone: (host, task, outcome) => seen.push(`${host} done ${task.name}: ${outcome}`),
  };
  return { seen, events };
}

const FILE: [string, unknown] = ['file', { path: '/etc/wgplay-case.conf', content: 'x\n' }];

describe('host events', () => {
  it('an apply: facts, plan with each task started and its changes, apply, verify, then each task changed or ok', async () => {
    const { seen, events } = recorder();
    const result = await runHost('gw', converging(EMPTY, WITH_RULE), tasks(RULE, ['ip_rule', { from: '10.200.200.1', table: 41, priority: 100 }]), { apply: true, events });
    expect(result.status).toBe('changed');
    const [first, second] = result.tasks.map((task) => task.name);
    expect(seen).toEqual([
      'gw phase facts',
      'gw phase plan',
      `gw start ${first}`,
      `gw start ${second}`,
      `gw changes ${first}: 1`,
      `gw changes ${second}: 1`,
      'gw phase apply',
      'gw phase verify',
      `gw done ${first}: changed`,
      `gw done ${second}: changed`,
    ]);
  });

  it('a library user may listen to some events only: an apply without a phase callback runs through', async () => {
    const outcomes: string[] = [];
    const result = await runHost('gw', converging(EMPTY, WITH_RULE), tasks(RULE), { apply: true, events: { taskDone: (_host, _task, outcome) => outcomes.push(outcome) } });
    expect(result).toMatchObject({ status: 'changed', applied: true });
    expect(outcomes).toEqual(['changed']);
  });

  it('a plan with nothing to do for a task: that task ok, the others changed; no apply phase', async () => {
    const { seen, events } = recorder();
    const result = await runHost('gw', new FakeHost(WITH_RULE), tasks(RULE, FILE), { apply: false, events });
    expect(result.status).toBe('changed');
    expect(seen.filter((line) => line.includes(' done ')).map((line) => line.replace(/^gw done [^:]*: /, ''))).toEqual(['ok', 'changed']);
    expect(seen.filter((line) => line.includes(' phase '))).toEqual(['gw phase facts', 'gw phase plan']);
  });

  it('a failed apply: tasks that had changes failed, tasks that had none ok', async () => {
    const { seen, events } = recorder();
    const host = new FakeHost(WITH_RULE, () => ({ stdout: '@@wgplay-phase prepare\n', stderr: 'no space left on device', code: 1 }));
    const result = await runHost('gw', host, tasks(RULE, FILE), { apply: true, events });
    expect(result.status).toBe('failed');
    expect(result.applied).toBe(true);
    expect(result.error).toMatch(/^apply failed in phase "prepare" \(exit 1\); .*\nno space left on device$/s);
    expect(seen.filter((line) => line.includes(' done ')).map((line) => line.replace(/^gw done [^:]*: /, ''))).toEqual(['ok', 'failed']);
  });

  it("a task whose program is missing on the host fails with the package to install; the others are planned, nothing applied", async () => {
    const { seen, events } = recorder();
    const noWg = facts({ capture: 'empty', output: { programs: ['wg 0', 'wireguard-go 1', 'nft 1', 'ip 1', 'sysctl 1', 'wg-quick 1', 'awk 1', 'base64 1', 'sha256sum 1', 'stat 1'] } });
    const host = new FakeHost(noWg);
    const result = await runHost('gw', host, tasks(FILE, ['wireguard_interface', { name: 'wg-a', listen_port: 51821 }]), { apply: true, events });
    expect(result.status).toBe('failed');
    const failed = result.tasks.find((task) => task.module === 'wireguard_interface')!;
    expect(failed.error).toBe('wireguard-tools (the `wg` program) is not installed on this host');
    expect(failed.changes).toEqual([]);
    expect(result.error).toBe(`task "${failed.name}": wireguard-tools (the \`wg\` program) is not installed on this host`);
    expect(result.tasks.find((task) => task.module === 'file')!.changes).toHaveLength(1);
    expect(host.count('apply')).toBe(0);
    expect(seen.filter((line) => line.includes(' done ')).map((line) => line.replace(/^gw done [^:]*: /, ''))).toEqual(['failed', 'failed']);
  });
});

describe('what each phase took', () => {
  it("is reported from the host's clock for a finished apply, with the verify's time on the controller", async () => {
    const timed = new FakeHost(EMPTY, (_script, self) => {
      self.facts = WITH_RULE;
      return { stdout: '@@wgplay-phase routing 1764600000.100000\n@@wgplay-phase done 1764600000.600000\n' };
    });
    const result = await runHost('gw', timed, tasks(RULE), { apply: true });
    expect(result.status).toBe('changed');
    expect(Object.keys(result.phaseSeconds!)).toEqual(['routing', 'verify']);
    expect(result.phaseSeconds!.routing).toBe(0.5);
    expect(result.phaseSeconds!.verify).toBeGreaterThanOrEqual(0);
    // Without the host's clock (bash < 5): nothing said about the phases.
    const untimed = await runHost('gw', converging(EMPTY, WITH_RULE), tasks(RULE), { apply: true });
    expect(untimed.status).toBe('changed');
    expect(untimed.phaseSeconds).toBeUndefined();
  });
});
