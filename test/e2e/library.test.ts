// wgplay as a deploy tool embeds it, against a real host over SSH: a run built from
// objects with the typed constructors, plan with per-task events, apply exactly that
// plan, cancellation before and during the apply script.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, createRun, parseInventory, plan, playbookFromObject, tasks, WgplayEvents, type Run } from '../../src/index.js';
import { startTestHost, type TestHost } from './harness.js';

let host: TestHost;
let inventoryText: string;

function runOf(playTasks: unknown[]): Run {
  const inventory = parseInventory(inventoryText, 'deploy-inventory');
  return createRun({ inventory, playbook: playbookFromObject([{ name: 'deploy', hosts: 'all', tasks: playTasks }], { name: 'deploy' }) });
}

/** Every event, as "event host detail" lines, in order. */
function recorder() {
  const events = new WgplayEvents();
  const seen: string[] = [];
  events.on('host:phase', ({ host, phase }) => seen.push(`host:phase ${host} ${phase}`));
  events.on('task:start', ({ host, name }) => seen.push(`task:start ${host} ${name}`));
  events.on('task:changes', ({ host, name, changes }) => seen.push(`task:changes ${host} ${name} ${changes.map((c) => c.action).join(',')}`));
  events.on('task:done', ({ host, name, outcome }) => seen.push(`task:done ${host} ${name} ${outcome}`));
  events.on('host:done', ({ host, result }) => seen.push(`host:done ${host} ${result.status}`));
  return { events, seen };
}

const exists = async (path: string) => (await host.exec(`test -e ${path}`)).code === 0;

beforeAll(async () => {
  host = await startTestHost({ name: 'lib' });
  inventoryText = readFileSync(host.writeInventory(), 'utf8');
});

afterAll(async () => {
  await host?.destroy();
});

describe('the library against a real host', () => {
  const first = [
    tasks.file({ path: '/etc/wgplay-lib/one.conf', content: 'one\n' }, 'one'),
    tasks.ipRule({ from: '10.205.0.1', table: 55, priority: 155 }, 'rule'),
  ];

  it('plan: per-task events in order, the summary, nothing changed; apply(plan) applies exactly that plan', async () => {
    const { events, seen } = recorder();
    const planned = await plan(runOf(first), { events });
    expect(planned.exitCode).toBe(2);
    expect(planned.summary).toMatchObject({ hosts: 1, create: 2, change: 0, delete: 0 });
    expect(seen).toEqual([
      'host:phase lib connect',
      'host:phase lib facts',
      'host:phase lib plan',
      'task:start lib one',
      'task:start lib rule',
      'task:changes lib one create',
      'task:changes lib rule create',
      'task:done lib one changed',
      'task:done lib rule changed',
      'host:done lib changed',
    ]);
    expect(await exists('/etc/wgplay-lib/one.conf')).toBe(false);

    const applying = recorder();
    const applied = await apply(planned, { events: applying.events });
    expect(applied.hosts[0]!.error).toBeUndefined();
    expect(applied).toMatchObject({ mode: 'apply', exitCode: 0, summary: { create: 2, change: 0, delete: 0 } });
    expect(applying.seen).toEqual([
      'host:phase lib connect',
      'host:phase lib facts',
      'host:phase lib plan',
      'host:phase lib apply',
      'host:phase lib verify',
      'task:done lib one changed',
      'task:done lib rule changed',
      'host:done lib changed',
    ]);
    expect(await host.run('cat /etc/wgplay-lib/one.conf')).toBe('one\n');
    expect(await host.run('ip rule show priority 155')).toBe('155:\tfrom 10.205.0.1 lookup 55\n');
  });

  it('apply(plan) refuses a host that changed since the plan, naming the drift, and changes nothing', async () => {
    const planned = await plan(runOf([...first, tasks.file({ path: '/etc/wgplay-lib/two.conf', content: 'two\n' }, 'two')]));
    expect(planned.summary.create).toBe(1);
    await host.run('echo changed > /etc/wgplay-lib/one.conf');
    const refused = await apply(planned);
    expect(refused.exitCode).toBe(1);
    expect(refused.hosts[0]).toMatchObject({ status: 'failed', applied: false });
    expect(refused.hosts[0]!.drift!.some((line) => line.startsWith('+ file') && line.includes('/etc/wgplay-lib/one.conf'))).toBe(true);
    expect(await exists('/etc/wgplay-lib/two.conf')).toBe(false);
    expect(await host.run('cat /etc/wgplay-lib/one.conf')).toBe('changed\n');
  });

  it('an AbortSignal before the apply script starts: cancelled, nothing changed', async () => {
    const controller = new AbortController();
    const { events } = recorder();
    events.on('task:changes', () => controller.abort());
    const result = await apply(runOf([tasks.file({ path: '/etc/wgplay-lib/cancelled.conf', content: 'no\n' }, 'cancelled')]), { events, signal: controller.signal });
    expect(result.hosts[0]).toMatchObject({ status: 'cancelled', cancelled: 'before-apply', applied: false });
    expect(result.exitCode).toBe(1);
    expect(await exists('/etc/wgplay-lib/cancelled.conf')).toBe(false);

    // Already aborted: no host is even contacted.
    const early = await apply(runOf(first), { signal: controller.signal });
    expect(early.hosts[0]).toMatchObject({ status: 'cancelled', roundTrips: 0 });
  });

  it('an AbortSignal once the apply script runs: it is let finish and verified, and the result says so', async () => {
    const controller = new AbortController();
    const { events } = recorder();
    events.on('host:phase', ({ phase }) => phase === 'apply' && controller.abort());
    const result = await apply(runOf([tasks.file({ path: '/etc/wgplay-lib/finished.conf', content: 'yes\n' }, 'finished')]), { events, signal: controller.signal });
    expect(result.hosts[0]).toMatchObject({ status: 'changed', cancelled: 'during-apply', applied: true });
    expect(await host.run('cat /etc/wgplay-lib/finished.conf')).toBe('yes\n');
  });
});
