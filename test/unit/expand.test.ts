// Tasks as the engine plans them (src/engine/expand.ts): whatever made them (a playbook,
// a library user, an expanding module), each is validated against its task's schema
// with the schema's defaults filled in, and a bad one is refused naming the task.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { findTask } from '../../src/catalog.js';
import { moduleFactRequests } from '../../src/engine/expand.js';
import { checkInvocation } from '../../src/playbook/validate.js';
import { checkTasks, prepareTasks } from '../../src/engine/run.js';
import { formatProblem, WgplayError } from '../../src/errors.js';
import type { TaskInvocation } from '../../src/tasks/types.js';

const refusal = (invocations: TaskInvocation[]) => {
  try {
    prepareTasks(invocations);
  } catch (error) {
    if (error instanceof WgplayError) return error.problems.map(formatProblem);
    throw error;
  }
  throw new Error('not refused');
};

describe('expanding and validating tasks', () => {
  it("fills in the schema's defaults", () => {
    const [rule] = prepareTasks([{ name: 'r', module: 'ip_rule', args: { from: '10.0.0.1', table: 41, priority: 100 } }]);
    expect(rule!.invocation.args).toMatchObject({ state: 'present' });
    expect(rule!.module.name).toBe('ip_rule');
  });

  it('refuses a bad task naming it, its place, the argument and what it got', () => {
    expect(refusal([{ name: 'low', module: 'ip_rule', args: { from: '10.0.0.1', table: 41, priority: -1 }, origin: 'play.yaml:3:5' }])).toEqual([
      'play.yaml:3:5: task "low", ip_rule/priority: must be >= 1 (got -1)',
    ]);
    expect(refusal([{ name: 'no place', module: 'ip_rule', args: { from: '10.0.0.1', table: 41, priority: 100, extra: 1 } }])).toEqual([
      'task "no place", ip_rule/extra: additional property "extra" is not allowed; allowed: from, to, table, priority, state, may_cut_ssh',
    ]);
  });

  describe('once per distinct content (a run expands a module several times; N = 1000 makes 9000 tasks each time)', () => {
    afterEach(() => vi.restoreAllMocks());
    const rule = (priority: number) => ({ name: `r${priority}`, module: 'ip_rule', args: { from: '10.0.0.1', table: 41, priority } });

    it('validates a content once, again only once other contents have come between, and gives the validated arguments', () => {
      const check = vi.spyOn(findTask('ip_rule')!, 'check');
      const first = prepareTasks([rule(31001)]);
      const again = prepareTasks([rule(31001)]);
      expect(check).toHaveBeenCalledTimes(1);
      expect(again[0]!.invocation.args).toEqual(first[0]!.invocation.args);
      expect(again[0]!.invocation.args).toMatchObject({ state: 'present' });
      prepareTasks([rule(31002), rule(31001), rule(31002)]);
      expect(check).toHaveBeenCalledTimes(2);
    });

    it('takes arguments checkInvocation already validated (a library user\'s tasks) as they are', () => {
      const { invocation } = checkInvocation(rule(31003));
      const check = vi.spyOn(findTask('ip_rule')!, 'check');
      expect(prepareTasks([invocation])[0]!.invocation).toBe(invocation);
      expect(check).not.toHaveBeenCalled();
    });
  });

  it('refuses a task module it does not know', () => {
    expect(() => prepareTasks([{ name: 'x', module: 'nft_tabel', args: {} }])).toThrow('unknown task module nft_tabel');
  });

  it("expands a module (the gateway) into primitive tasks, and asks for the module's own record", () => {
    const gateway: TaskInvocation = {
      name: 'gw',
      module: 'wireguard_gateway',
      args: { public_interface: 'eth0', public_address: '203.0.113.2', ssh: { interfaces: ['eth0'] }, customers: [{ name: 'a', public_key: '/TOE4TKtAqVsePRVR+5AA43HkAK5DSntkOCO7nYq5xU=', address: '10.0.0.1', our_address: '10.0.0.2' }] },
    };
    const modules = new Set(prepareTasks([gateway]).map((task) => task.invocation.module));
    expect(modules.has('wireguard_gateway')).toBe(false);
    expect(modules.has('wireguard_interface')).toBe(true);
    expect(moduleFactRequests([gateway]).flatMap((request) => request.files ?? []).map((file) => file.path)).toContain('/var/lib/wgplay/gateway.json');
    expect(moduleFactRequests([{ name: 'r', module: 'ip_rule', args: {} }])).toEqual([]);
  });
});

describe("a host's tasks checked before it is contacted", () => {
  it('names every problem at once: an endpoint that does not resolve and a table nft refuses', async () => {
    const invocations: TaskInvocation[] = [
      { name: 'tunnel', module: 'wireguard_interface', origin: 'play.yaml:2:3', args: { name: 'wg-a', peers: [{ public_key: '/TOE4TKtAqVsePRVR+5AA43HkAK5DSntkOCO7nYq5xU=', allowed_ips: ['10.0.0.1/32'], endpoint: 'nowhere.test:51820' }] } },
      { name: 'table', module: 'nft_table', origin: 'play.yaml:9:3', args: { name: 'bad', chains: [{ name: 'c', rules: ['masquerad'] }] } },
    ];
    const lookup = async () => [];
    const problems = await checkTasks(invocations, { lookup }).then(
      () => [],
      (error: unknown) => (error instanceof WgplayError ? error.problems.map(formatProblem) : Promise.reject(error)),
    );
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^play\.yaml:2:3: task "tunnel", wireguard_interface arguments \/peers\/0\/endpoint: endpoint "nowhere\.test:51820"/);
    expect(problems[1]).toMatch(/^play\.yaml:9:3: task "table", nft_table inet bad: nft refuses the table: chains\[0\]\.rules\[0\]: Error: /);
  });
});
