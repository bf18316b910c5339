// More of what a host run reports, through the fake host (fakeHost.ts): loading a run
// from files, which connections arm commit-confirmed, the lock's wait, the hints and
// statuses of failures, and saved plans that cannot be applied.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadRun, runOneHost, type LoadedRun } from '../../src/engine/runPlaybook.js';
import { applySavedHost, applySavedPlan, buildSavedPlan, checkSavedPlan, writeSavedPlan } from '../../src/engine/savedPlan.js';
import { runHost } from '../../src/engine/run.js';
import { parseInventory } from '../../src/inventory/index.js';
import { TransportError } from '../../src/transport/types.js';
import { converging, EMPTY, FakeHost, facts, fakeTransport, RULE, tasks, WITH_RULE, type FakeLock, SSH_CONNECTION } from './fakeHost.js';

const EMPTY_SSH = facts({ capture: 'empty', output: SSH_CONNECTION });
const WITH_RULE_SSH = facts({ capture: 'empty', output: { ...SSH_CONNECTION, 'ip-rule inet': [{ priority: 0, src: 'all', table: 'local' }, { priority: 100, src: '10.200.200.1', table: '41' }] } });
const hostOf = (text: string) => parseInventory(text, 'hosts.yaml').hosts.get('gw')!;
const LOCAL = 'all:\n  hosts:\n    gw: { ansible_connection: local }\n';
const SSH_ROOT = 'all:\n  hosts:\n    gw: { ansible_host: 192.0.2.1, ansible_user: root }\n';

afterEach(() => vi.restoreAllMocks());

describe('loading a run from files', () => {
  it('reads the playbook and every inventory given, with -e variables beating the inventory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgplay-load-'));
    writeFileSync(join(dir, 'a.yaml'), 'all:\n  hosts:\n    gw1: { ansible_connection: local, prio: 100 }\n');
    writeFileSync(join(dir, 'b.yaml'), 'all:\n  hosts:\n    gw2: { ansible_connection: local, prio: 200 }\n');
    writeFileSync(join(dir, 'play.yaml'), '- name: p\n  hosts: all\n  tasks:\n    - name: r\n      ip_rule: { from: 10.200.200.1, table: 41, priority: "{{ prio }}" }\n');
    const one = loadRun(join(dir, 'play.yaml'), join(dir, 'a.yaml'));
    expect(one.hosts.map(({ host, tasks: t }) => [host.name, (t[0]!.args as { priority: number }).priority])).toEqual([['gw1', 100]]);
    const both = loadRun(join(dir, 'play.yaml'), [join(dir, 'a.yaml'), join(dir, 'b.yaml')], 'gw2', { extraVars: ['{"prio": 300}'] });
    expect(both.hosts.map(({ host, tasks: t }) => [host.name, (t[0]!.args as { priority: number }).priority])).toEqual([['gw2', 300]]);
  });
});

describe('connections', () => {
  it('a local connection arms no rollback (it has no SSH path to cut) and takes the lock without waiting by default', async () => {
    const host = converging(EMPTY, WITH_RULE);
    const lock: FakeLock = { written: [], ended: false };
    const result = await runOneHost(hostOf(LOCAL), tasks(RULE), { apply: true, connect: async (name) => fakeTransport(name, host, { lock }) });
    expect(result.status).toBe('changed');
    expect(host.applyScript).not.toContain('timer.sh');
    expect(host.sent.map((s) => s.kind)).toEqual(['facts', 'apply', 'facts']);
    expect(lock.script).toContain('flock -n 9');
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(result.durationMs).toBeLessThan(600_000);
  });

  it('waits --lock-timeout seconds for the lock', async () => {
    const lock: FakeLock = { written: [], ended: false };
    await runOneHost(hostOf(LOCAL), tasks(RULE), { apply: true, lockTimeoutSeconds: 7, connect: async (name) => fakeTransport(name, converging(EMPTY, WITH_RULE), { lock }) });
    expect(lock.script).toContain('flock -w 7 9');
  });

  it('a plan over SSH also needs the host to report its end of the connection; a local one does not', async () => {
    const overSsh = await runOneHost(hostOf(SSH_ROOT), tasks(RULE), { apply: false, connect: async (name) => fakeTransport(name, new FakeHost(EMPTY)) });
    expect(overSsh.error).toContain('the host did not report its end of the SSH connection');
    const local = await runOneHost(hostOf(LOCAL), tasks(RULE), { apply: false, connect: async (name) => fakeTransport(name, new FakeHost(EMPTY)) });
    expect(local.status).toBe('changed');
  });

  it('says what happens, phase by phase', async () => {
    const phases: string[] = [];
    await runOneHost(hostOf(LOCAL), tasks(RULE), { apply: true, events: { phase: (host, phase) => phases.push(`${host} ${phase}`) }, connect: async (name) => fakeTransport(name, converging(EMPTY, WITH_RULE)) });
    expect(phases).toEqual(['gw connect', 'gw facts', 'gw plan', 'gw apply', 'gw verify']);
  });

  it('refused credentials fail the host (it was reached); only a connection that cannot be made is unreachable', async () => {
    const result = await runOneHost(hostOf(SSH_ROOT), tasks(RULE), { apply: false, connect: async (name) => Promise.reject(new TransportError('auth', name, 'Permission denied (publickey)')) });
    expect(result).toEqual({ host: 'gw', status: 'failed', tasks: [], applied: false, error: 'host gw: Permission denied (publickey)', roundTrips: 0, durationMs: expect.any(Number) });
  });

  it('a task that fails validation fails its host with nothing contacted', async () => {
    const result = await runOneHost(hostOf(LOCAL), [{ name: 'r', module: 'ip_rule', args: { table: 41 } }], { apply: false, connect: async () => Promise.reject(new Error('never')) });
    expect(result).toMatchObject({ host: 'gw', status: 'failed', tasks: [], applied: false, roundTrips: 0 });
  });

  it('a cancelled host reports no tasks and nothing applied', async () => {
    const controller = new AbortController();
    controller.abort();
    const result = await runOneHost(hostOf(LOCAL), tasks(RULE), { apply: true, signal: controller.signal, connect: async () => Promise.reject(new Error('never')) });
    expect(result).toEqual({ host: 'gw', status: 'cancelled', cancelled: 'before-apply', tasks: [], applied: false, error: 'cancelled before connecting: nothing was changed', roundTrips: 0, durationMs: expect.any(Number) });
  });

  it('a busy host reports no tasks and nothing applied', async () => {
    const busy = { stdout: 'busy at T by x@y (pid 1)\n', stderr: '', code: 75 };
    const result = await runOneHost(hostOf(LOCAL), tasks(RULE), { apply: true, connect: async (name) => fakeTransport(name, new FakeHost(EMPTY), { lockExit: busy }) });
    expect(result).toEqual({ host: 'gw', status: 'failed', tasks: [], applied: false, error: 'host busy: an apply started at T by x@y (pid 1)', roundTrips: 1, durationMs: expect.any(Number) });
  });
});

describe('the not-root hint', () => {
  const denied = () => {
    const host = new FakeHost(EMPTY);
    host.run = async () => ({ stdout: '', stderr: 'nft: Operation not permitted', code: 1 });
    return host;
  };
  it('a local run as a user other than root, without become, is told to become root', async () => {
    vi.spyOn(process, 'getuid').mockReturnValue(1000);
    const result = await runOneHost(hostOf(LOCAL), tasks(RULE), { apply: false, connect: async (name) => fakeTransport(name, denied()) });
    expect(result.error).toBe(
      'gathering facts failed (exit 1): nft: Operation not permitted\nwgplay changes the host as root, but runs as a user other than root without ansible_become: set ansible_become: true (passwordless sudo) or run wgplay as root',
    );
  });

  it('is not given for a local run as root, nor for a host that was not refused', async () => {
    vi.spyOn(process, 'getuid').mockReturnValue(0);
    const asRoot = await runOneHost(hostOf(LOCAL), tasks(RULE), { apply: false, connect: async (name) => fakeTransport(name, denied()) });
    expect(asRoot.error).toBe('gathering facts failed (exit 1): nft: Operation not permitted');
    vi.spyOn(process, 'getuid').mockReturnValue(1000);
    const fine = await runOneHost(hostOf(LOCAL), tasks(RULE), { apply: false, connect: async (name) => fakeTransport(name, new FakeHost(EMPTY)) });
    expect(fine).toMatchObject({ status: 'changed' });
    expect(fine.error).toBeUndefined();
  });

  it('is not given when the connection was lost during the apply', async () => {
    const host = new FakeHost(EMPTY_SSH);
    const result = await runOneHost(hostOf('all:\n  hosts:\n    gw: { ansible_host: 192.0.2.1, ansible_user: deploy }\n'), tasks(RULE), {
      apply: true,
      connect: async (name) => {
        const transport = fakeTransport(name, host);
        return { ...transport, run: async (script: string) => (script.includes('@@wgplay-phase') ? Promise.reject(new TransportError('unreachable', name, 'reset')) : transport.run(script)) };
      },
    });
    expect(result.status).toBe('unreachable');
    expect(result.error).not.toContain('wgplay changes the host as root');
  });
});

describe('saved plans', () => {
  const inventory = parseInventory('all:\n  hosts:\n    gw: { ansible_host: 192.0.2.1, ansible_user: deploy, ansible_become: true }\n', 'hosts.yaml');
  const loaded: LoadedRun = { inventory, plays: [], hosts: [{ host: inventory.hosts.get('gw')!, tasks: tasks(RULE) }] };

  it('are checked for what they are before anything is read from them', () => {
    for (const notAPlan of [null, 7, 'text', [], { kind: 'wgplay-plan', hosts: {} }, { kind: 'wgplay-plan' }]) {
      expect(() => checkSavedPlan(notAPlan as never, 'p.json')).toThrow('p.json: not a saved plan: write one with `wgplay plan PLAYBOOK -i INVENTORY --out FILE`');
    }
  });

  it('name a secret task built in code by its host, and hold only inventory hosts', async () => {
    const secret = [{ name: 'token', module: 'file', args: { path: '/etc/wgplay-case/token', content: 'x\n', secret: true } }];
    const planned = await runHost('gw', new FakeHost(EMPTY_SSH), secret, { apply: false, keepBasis: true, overSsh: true });
    const plan = buildSavedPlan(loaded, [planned], {});
    expect(() => writeSavedPlan(join(mkdtempSync(join(tmpdir(), 'wgplay-plan-')), 'p.json'), plan)).toThrow('host gw, task "token": task "token" writes a secret file');
    expect(() => buildSavedPlan(loaded, [{ ...planned, host: 'elsewhere' }], {})).toThrow('no inventory host elsewhere');
  });

  it('with a host that failed at plan time are still written, and that host is not applied, saying why', async () => {
    const planned = await runHost('gw', new FakeHost(EMPTY_SSH), tasks(['sysctl', { key: 'net.ipv4.no_such_key', value: 1, persist: false }]), { apply: false, keepBasis: true, overSsh: true });
    const plan = buildSavedPlan(loaded, [planned], {});
    expect(() => writeSavedPlan(join(mkdtempSync(join(tmpdir(), 'wgplay-plan-')), 'p.json'), plan)).not.toThrow();
    const host = new FakeHost(EMPTY_SSH);
    const result = await applySavedHost(plan.hosts[0]!, host, {});
    expect(result).toEqual({
      host: 'gw',
      status: 'failed',
      tasks: plan.hosts[0]!.tasks,
      applied: false,
      error: `not applied: the plan has no changes for this host (when it was made: failed: ${planned.error})`,
    });
    expect(host.sent).toEqual([]);
  });

  it('name each fact that drifted since the plan was made', async () => {
    const host = new FakeHost(EMPTY_SSH);
    const planned = await runHost('gw', host, tasks(RULE), { apply: false, keepBasis: true, overSsh: true });
    host.facts = WITH_RULE_SSH;
    const result = await applySavedHost(buildSavedPlan(loaded, [planned], {}).hosts[0]!, host, { overSsh: true });
    expect(result.drift!.length).toBeGreaterThan(0);
    expect(result.error).toBe(`the host changed since the plan was made (${result.drift!.length} fact(s) differ): nothing was changed; plan again\n${result.drift!.map((line) => `  ${line}`).join('\n')}`);
    expect(result.drift!.join('\n')).toContain('10.200.200.1');
  });

  it('are applied over SSH under commit-confirmed, phase by phase, and only when a task has changes', async () => {
    const forward = { 'sysctl net.ipv4.ip_forward': '0' };
    const host = converging(facts({ capture: 'empty', output: { ...SSH_CONNECTION, ...forward } }), facts({ capture: 'empty', output: { ...SSH_CONNECTION, ...forward, 'ip-rule inet': [{ priority: 100, src: '10.200.200.1', table: '41' }] } }));
    const planned = await runHost('gw', host, tasks(RULE, ['sysctl', { key: 'net.ipv4.ip_forward', value: 0, persist: false }]), { apply: false, keepBasis: true, overSsh: true });
    expect(planned.tasks.map((t) => t.changes.length)).toEqual([1, 0]);
    const phases: string[] = [];
    const results = await applySavedPlan(buildSavedPlan(loaded, [planned], {}), { events: { phase: (_, phase) => phases.push(phase) }, connect: async (name) => fakeTransport(name, host) });
    expect(results[0]).toMatchObject({ status: 'changed', applied: true });
    expect(host.applyScript).toContain('timer.sh');
    expect(host.sent.map((s) => s.kind)).toEqual(['facts', 'facts', 'apply', 'confirm', 'facts']);
    expect(phases).toEqual(['connect', 'facts', 'plan', 'apply', 'verify']);
  });
});
