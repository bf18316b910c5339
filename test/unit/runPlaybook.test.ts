// Running hosts: connection, host lock, commit-confirmed over a second connection, and
// what each failure becomes in the host's result, through the fake host (fakeHost.ts)
// behind the connect hook.
import { mkdtempSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { PHASE_MARKER } from '../../src/engine/compile.js';
import { inParallel, prepareRun, resolveRun, runHosts, runOneHost, withHostConnection, type LoadedRun } from '../../src/engine/runPlaybook.js';
import { applySavedPlan, buildSavedPlan, readSavedPlan, savedPlanResults, writeSavedPlan } from '../../src/engine/savedPlan.js';
import { runHost } from '../../src/engine/run.js';
import { WgplayError } from '../../src/errors.js';
import { connectionOf } from '../../src/inventory/connection.js';
import { parseInventory } from '../../src/inventory/index.js';
import type { InventoryHost } from '../../src/inventory/types.js';
import { parsePlaybook } from '../../src/playbook/index.js';
import { TransportError, type Transport } from '../../src/transport/types.js';
import type { TaskInvocation } from '../../src/tasks/types.js';
import { converging, EMPTY, FakeHost, facts, fakeTransport, ranToTheEnd, RULE, tasks, WITH_RULE, type FakeLock, SSH_CONNECTION } from './fakeHost.js';

const RULE_RULES = [{ priority: 0, src: 'all', table: 'local' }, { priority: 100, src: '10.200.200.1', table: '41' }, { priority: 32766, src: 'all', table: 'main' }];
const EMPTY_SSH = facts({ capture: 'empty', output: SSH_CONNECTION });
const WITH_RULE_SSH = facts({ capture: 'empty', output: { ...SSH_CONNECTION, 'ip-rule inet': RULE_RULES } });

const inventoryOf = (text: string) => parseInventory(text, 'hosts.yaml');
const hostOf = (text: string, name = 'gw'): InventoryHost => inventoryOf(text).hosts.get(name)!;
const SSH_ROOT = 'all:\n  hosts:\n    gw: { ansible_host: 192.0.2.1, ansible_user: root }\n';
const SSH_DEPLOY = 'all:\n  hosts:\n    gw: { ansible_host: 192.0.2.1, ansible_user: deploy }\n';
const LOCAL = 'all:\n  hosts:\n    gw: { ansible_connection: local }\n';

/** Every connection the connect hook opened to the fake host, in order. */
function connections(runner: FakeHost, options: Parameters<typeof fakeTransport>[2] = {}) {
  const opened: Transport[] = [];
  return {
    opened,
    connect: async (name: string) => {
      const transport = fakeTransport(name, runner, options);
      opened.push(transport);
      return transport;
    },
  };
}

describe('a host run over SSH', () => {
  it('is confirmed through a second connection, verified through it, and counts both connections\' commands', async () => {
    const host = converging(EMPTY_SSH, WITH_RULE_SSH);
    const lock: FakeLock = { written: [], ended: false };
    const via = connections(host, { lock });
    const result = await runOneHost(hostOf(SSH_ROOT), tasks(RULE), { apply: true, connect: via.connect });
    expect(result).toMatchObject({ status: 'changed', applied: true });
    expect(host.sent.map((s) => s.kind)).toEqual(['facts', 'apply', 'confirm', 'facts']);
    expect(via.opened).toHaveLength(2);
    // The lock with the facts, then the apply on the first; the confirmation with the verify's facts on the new one.
    expect(via.opened.map((t) => t.roundTrips)).toEqual([2, 1]);
    expect(result.roundTrips).toBe(3);
    // Armed with the default confirm timeout (60 s), and the lock released at the end.
    expect(host.applyScript).toMatch(/setsid bash "\$wgplay_c\/timer.sh" \$\$ 60 /);
    expect(lock).toMatchObject({ written: ['done\n'], ended: true });
  });

  it('reports a change the host rolled back (no new connection confirmed it) as failed, with what was restored', async () => {
    const host = new FakeHost(EMPTY_SSH, ranToTheEnd, () => ({ stdout: '@@wgplay-confirm rolled-back\nrule priority 100 from 10.200.200.1 lookup 41: removed\ntook 12 ms\n' }));
    const result = await runOneHost(hostOf(SSH_ROOT), tasks(RULE), { apply: true, connect: connections(host).connect, confirmTimeoutSeconds: 5 });
    expect(result).toMatchObject({ status: 'failed', applied: true, outcome: 'rolled-back' });
    expect(result.error).toBe('rolled back: SSH unreachable after the change; the host restored:\n  rule priority 100 from 10.200.200.1 lookup 41: removed\n  took 12 ms');
    expect(host.applyScript).toMatch(/timer.sh" \$\$ 5 /);
    expect(host.count('facts')).toBe(1);
  });

  it('reports a connection lost during the apply as unreachable, saying a rollback is armed', async () => {
    const host = new FakeHost(EMPTY_SSH);
    const via = connections(host);
    const lost = async (name: string) => {
      const transport = await via.connect(name);
      return {
        ...transport,
        run: async (script: string) => {
          if (script.includes(PHASE_MARKER)) throw new TransportError('unreachable', name, 'Connection reset by peer');
          return transport.run(script);
        },
      } as Transport;
    };
    const result = await runOneHost(hostOf(SSH_ROOT), tasks(RULE), { apply: true, connect: lost });
    expect(result).toMatchObject({ status: 'unreachable', applied: true, outcome: 'cut' });
    expect(result.error).toBe(
      'connection lost during apply: the host may be partly changed; run apply again (it had armed a rollback: unless confirmed, the host restores its earlier state after the confirm timeout)\nConnection reset by peer',
    );
  });

  it('reports a change no new connection could confirm as cut: the host rolls it back by itself', async () => {
    vi.useFakeTimers();
    try {
      const host = new FakeHost(EMPTY_SSH);
      const reconnect = async () => Promise.reject(new TransportError('unreachable', 'gw', 'connect ETIMEDOUT'));
      const pending = runHost('gw', host, tasks(RULE), { apply: true, overSsh: true, applyOptions: { confirmTimeoutSeconds: 1, reconnect } });
      await vi.advanceTimersByTimeAsync(25_000);
      const result = await pending;
      expect(result).toMatchObject({ status: 'failed', applied: true, outcome: 'cut' });
      expect(result.error).toBe(
        'SSH unreachable after the change: no new connection in 22 s, so it was not confirmed; the host rolls it back by itself after the confirm timeout (host gw: connect ETIMEDOUT)',
      );
    } finally {
      vi.useRealTimers();
    }
  });

  it('changes nothing on a host another apply holds, and says who holds it', async () => {
    const host = new FakeHost(EMPTY_SSH);
    const busy = { stdout: 'busy at 2026-12-01T12:00:00Z by ops@ctl (pid 7)\n', stderr: '', code: 75 };
    const result = await runOneHost(hostOf(SSH_ROOT), tasks(RULE), { apply: true, connect: connections(host, { lockExit: busy }).connect });
    expect(result).toMatchObject({ status: 'failed', applied: false, roundTrips: 1 });
    expect(result.error).toBe('host busy: an apply started at 2026-12-01T12:00:00Z by ops@ctl (pid 7)');
    expect(host.sent).toEqual([]);
  });

  it('fails the host when the lock cannot be taken for another reason', async () => {
    const host = new FakeHost(EMPTY_SSH);
    const broken = { stdout: '', stderr: 'mkdir: cannot create directory /run/wgplay: Read-only file system\n', code: 70 };
    const result = await runOneHost(hostOf(SSH_ROOT), tasks(RULE), { apply: true, connect: connections(host, { lockExit: broken }).connect });
    expect(result.status).toBe('failed');
    expect(result.error).toBe("could not take the host's apply lock (exit 70): mkdir: cannot create directory /run/wgplay: Read-only file system");
  });

  it('notes an earlier apply whose connection was lost, as the host saw it end', async () => {
    const host = converging(EMPTY_SSH, WITH_RULE_SSH);
    const lockOutput = 'unreported 0|done|confirmed|at T by a@b (pid 3)\n';
    const result = await runOneHost(hostOf(SSH_ROOT), tasks(RULE), { apply: true, connect: connections(host, { lockOutput }).connect });
    expect(result.status).toBe('changed');
    expect(result.notes).toEqual(['the previous apply (started at at T by a@b (pid 3)) lost its connection before wgplay could report it; on the host it ended with exit 0 after phase "done"']);
  });

  it('arms a rollback that covers the tables the apply changes', async () => {
    const host = new FakeHost(EMPTY_SSH);
    await runOneHost(hostOf(SSH_ROOT), tasks(RULE, ['nft_table', { name: 'wgplay_case', chains: [{ name: 'c', rules: ['accept'] }] }]), { apply: true, connect: connections(host).connect });
    expect(host.applyScript).toMatch(/nft list table inet '?wgplay_case'? > "\$wgplay_c\/saved\/nft\.inet\.wgplay_case"/);
  });

  it('runs for a library user who listens to some events only (no phase callback)', async () => {
    const host = converging(EMPTY_SSH, WITH_RULE_SSH);
    const outcomes: string[] = [];
    const result = await runOneHost(hostOf(SSH_ROOT), tasks(RULE), { apply: true, connect: connections(host).connect, events: { taskDone: (_host, _task, outcome) => outcomes.push(outcome) } });
    expect(result).toMatchObject({ status: 'changed', applied: true });
    expect(outcomes).toEqual(['changed']);
  });

  it('plans without the lock, and a plan only asks what the tasks need', async () => {
    const host = new FakeHost(EMPTY_SSH);
    const lock: FakeLock = { written: [], ended: false };
    const result = await runOneHost(hostOf(SSH_ROOT), tasks(RULE), { apply: false, connect: connections(host, { lock }).connect });
    expect(result).toMatchObject({ status: 'changed', applied: false, roundTrips: 1 });
    expect(lock.ended).toBe(false);
  });

  it('refuses to change a host that does not report its end of the SSH connection', async () => {
    const host = new FakeHost(EMPTY);
    const result = await runOneHost(hostOf(SSH_ROOT), tasks(RULE), { apply: true, connect: connections(host).connect });
    expect(result.status).toBe('failed');
    expect(result.error).toContain('the host did not report its end of the SSH connection');
    expect(host.count('apply')).toBe(0);
  });
});

describe('a failing host', () => {
  it('logged in as a user other than root without become: the error says how to fix it', async () => {
    const denied = new FakeHost(EMPTY_SSH);
    denied.run = async () => ({ stdout: '', stderr: 'nft: Operation not permitted', code: 1 });
    const asDeploy = await runOneHost(hostOf(SSH_DEPLOY), tasks(RULE), { apply: false, connect: connections(denied).connect });
    expect(asDeploy.status).toBe('failed');
    expect(asDeploy.error).toBe(
      'gathering facts failed (exit 1): nft: Operation not permitted\n' +
        'wgplay changes the host as root, but logged in as "deploy", not root, without ansible_become (permission denied): set ansible_become: true (the user needs passwordless sudo) or ansible_user: root',
    );
    for (const inventory of [SSH_ROOT, 'all:\n  hosts:\n    gw: { ansible_host: 192.0.2.1, ansible_user: deploy, ansible_become: true }\n', LOCAL]) {
      const result = await runOneHost(hostOf(inventory), tasks(RULE), { apply: false, connect: connections(denied).connect });
      expect(result.error).toBe('gathering facts failed (exit 1): nft: Operation not permitted');
    }
  });

  it('a connection that cannot be made is unreachable; a command that times out is a failure, without the root hint', async () => {
    const refused = await runOneHost(hostOf(SSH_DEPLOY), tasks(RULE), {
      apply: false,
      connect: async (name) => Promise.reject(new TransportError('unreachable', name, 'connect ECONNREFUSED 192.0.2.1:22')),
    });
    expect(refused).toMatchObject({ status: 'unreachable', roundTrips: 0, error: 'host gw: connect ECONNREFUSED 192.0.2.1:22' });
    const handshake = await runOneHost(hostOf(SSH_DEPLOY), tasks(RULE), { apply: false, connect: async (name) => Promise.reject(new TransportError('timeout', name, 'handshake timed out')) });
    expect(handshake.status).toBe('unreachable');
    const slow = new FakeHost(EMPTY_SSH);
    slow.run = async () => Promise.reject(new TransportError('timeout', 'gw', 'gather facts did not finish within 600 s; it was killed'));
    const timedOut = await runOneHost(hostOf(SSH_DEPLOY), tasks(RULE), { apply: false, connect: connections(slow).connect });
    expect(timedOut).toMatchObject({ status: 'failed', error: 'host gw: gather facts did not finish within 600 s; it was killed' });
  });

  it('connection settings that cannot be used fail that host before connecting', async () => {
    let connected = 0;
    const unusable = () => {
      throw new WgplayError([{ where: 'host gw', message: 'ansible_ssh_private_key_file /nonexistent/key: no such file' }]);
    };
    const result = await withHostConnection('gw', unusable, { connect: async (name) => (connected++, fakeTransport(name, new FakeHost(EMPTY))) }, async () => {
      throw new Error('never run');
    });
    expect(result).toMatchObject({ status: 'failed', error: 'host gw: ansible_ssh_private_key_file /nonexistent/key: no such file', roundTrips: 0 });
    expect(connected).toBe(0);
  });

  it('a task built in code with bad arguments fails the host before it is contacted', async () => {
    let connected = 0;
    const bad: TaskInvocation[] = [{ name: 'rule', module: 'ip_rule', args: { from: '10.0.0.01', table: 41, priority: 100 } }];
    const result = await runOneHost(hostOf(LOCAL), bad, { apply: true, connect: async (name) => (connected++, fakeTransport(name, new FakeHost(EMPTY))) });
    expect(result).toMatchObject({ status: 'failed', applied: false, roundTrips: 0 });
    expect(result.error).toContain('task "rule", ip_rule arguments /from: "10.0.0.01" has an octet with a leading zero');
    expect(connected).toBe(0);
  });

  it('a cancelled run does not connect', async () => {
    const controller = new AbortController();
    controller.abort();
    let connected = 0;
    const result = await runOneHost(hostOf(LOCAL), tasks(RULE), { apply: true, signal: controller.signal, connect: async (name) => (connected++, fakeTransport(name, new FakeHost(EMPTY))) });
    expect(result).toMatchObject({ status: 'cancelled', cancelled: 'before-apply', error: 'cancelled before connecting: nothing was changed' });
    expect(connected).toBe(0);
  });

  it('a cancellation once connected, before the apply script, changes nothing', async () => {
    const controller = new AbortController();
    const host = new FakeHost(EMPTY);
    const events: string[] = [];
    const result = await runHost('gw', host, tasks(RULE), { apply: true, signal: controller.signal, events: { phase: (_, phase) => (events.push(phase), phase === 'plan' && controller.abort()) } });
    expect(result).toMatchObject({ status: 'cancelled', applied: false, error: 'cancelled before the apply script started: nothing was changed' });
    expect(events).toEqual(['facts', 'plan']);
    expect(host.count('apply')).toBe(0);
  });

  it('a cancellation during the apply is reported, not obeyed: the host is verified', async () => {
    const controller = new AbortController();
    const host = new FakeHost(EMPTY, (script, self) => {
      controller.abort();
      self.facts = WITH_RULE;
      return ranToTheEnd(script);
    });
    const result = await runHost('gw', host, tasks(RULE), { apply: true, signal: controller.signal });
    expect(result).toMatchObject({ status: 'changed', applied: true, cancelled: 'during-apply' });
    expect(host.sent.map((s) => s.kind)).toEqual(['facts', 'apply', 'facts']);
  });
});

describe('before any host is contacted', () => {
  const playbook = (taskLines: string, hosts = 'all') => parsePlaybook(`- name: p\n  hosts: ${hosts}\n  tasks:\n${taskLines}`, 'play.yaml');
  const two = inventoryOf('all:\n  hosts:\n    gw1: { ansible_connection: local }\n    gw2: { ansible_connection: local }\n');

  it('a --limit that selects none of the playbook\'s hosts is refused', () => {
    expect(() => prepareRun(two, playbook('    - name: r\n      ip_rule: { from: 10.200.200.1, table: 41, priority: 100 }\n', 'gw1'), 'gw2')).toThrow(
      '--limit: "gw2" selects none of the hosts the playbook runs on',
    );
    const limited = prepareRun(two, playbook('    - name: r\n      ip_rule: { from: 10.200.200.1, table: 41, priority: 100 }\n'), 'gw2');
    expect(limited.hosts.map((h) => h.host.name)).toEqual(['gw2']);
    expect(limited.plays).toEqual([{ name: 'p', pattern: 'all', hosts: ['gw2'] }]);
  });

  it('two tasks that fight over one resource are refused, naming both and the host', () => {
    const fight = playbook('    - name: one\n      file: { path: /etc/x, content: a }\n    - name: two\n      file: { path: /etc/x, content: b }\n');
    let error: unknown;
    try {
      prepareRun(two, fight);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(WgplayError);
    const messages = (error as WgplayError).problems.map((p) => p.message);
    expect(messages).toEqual(['task "two" and task "one" (play.yaml:4:7) both manage file /etc/x on host gw1', 'task "two" and task "one" (play.yaml:4:7) both manage file /etc/x on host gw2']);
    expect((error as WgplayError).problems[0]!.where).toBe('play.yaml:6:7');
  });

  it('resolves each endpoint name once for all hosts, and names every host whose endpoint does not resolve', async () => {
    const peer = (endpoint: string) => ({ name: 'wg-a', addresses: ['10.200.200.1'], listen_port: 51821, peers: [{ public_key: '/TOE4TKtAqVsePRVR+5AA43HkAK5DSntkOCO7nYq5xU=', allowed_ips: ['10.100.100.1/32'], endpoint }] });
    const hosts = [...two.hosts.values()];
    const lookups: string[] = [];
    const lookup = async (name: string) => (lookups.push(name), name === 'vpn.test' ? ['192.0.2.7'] : []);
    const loaded: LoadedRun = { inventory: two, plays: [], hosts: hosts.map((host) => ({ host, tasks: tasks(['wireguard_interface', peer('vpn.test:51820')]) })) };
    const resolved = await resolveRun(loaded, { lookup });
    expect(lookups).toEqual(['vpn.test']);
    for (const { tasks: resolvedTasks } of resolved.hosts) expect((resolvedTasks.invocations[0]!.args as ReturnType<typeof peer>).peers[0]!.endpoint).toBe('192.0.2.7:51820');
    // The inventory's tasks are left as written (a copy was resolved).
    expect((loaded.hosts[0]!.tasks[0]!.args as ReturnType<typeof peer>).peers[0]!.endpoint).toBe('vpn.test:51820');

    const unknown: LoadedRun = { ...loaded, hosts: hosts.map((host) => ({ host, tasks: tasks(['wireguard_interface', peer('nowhere.test:51820')]) })) };
    const refused = resolveRun(unknown, { lookup });
    await expect(refused).rejects.toBeInstanceOf(WgplayError);
    const problems = await refused.catch((error: WgplayError) => error.problems);
    expect(problems.map((p) => p.message)).toEqual([expect.stringMatching(/^endpoint .*nowhere\.test.* \(host gw1\)$/), expect.stringMatching(/\(host gw2\)$/)]);
    expect(problems[0]!.where).toContain('task "case", wireguard_interface arguments /peers/0/endpoint');
  });

  it('runs hosts in parallel up to --forks, results in inventory order', async () => {
    let running = 0;
    let most = 0;
    const each = async (n: number) => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 20 - n));
      running--;
      return n * 10;
    };
    expect(await inParallel([1, 2, 3, 4, 5, 6, 7], 3, each)).toEqual([10, 20, 30, 40, 50, 60, 70]);
    expect(most).toBe(3);
    most = 0;
    await inParallel([1, 2, 3, 4, 5, 6, 7], undefined, each);
    expect(most).toBe(5);
    expect(await inParallel([], 3, each)).toEqual([]);
  });
});

describe('saved plans on disk', () => {
  const inventory = inventoryOf(LOCAL);
  const loadedWith = (invocations: TaskInvocation[]): LoadedRun => ({ inventory, plays: [], hosts: [{ host: inventory.hosts.get('gw')!, tasks: invocations }] });
  const planFor = async (host: FakeHost, invocations: TaskInvocation[]) =>
    buildSavedPlan(loadedWith(invocations), [await runHost('gw', host, invocations, { apply: false, keepBasis: true })], { limit: 'gw' });

  it('are written owner-only and read back as they were; show gives the plan\'s results', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgplay-plan-'));
    const plan = await planFor(new FakeHost(EMPTY), tasks(RULE));
    writeSavedPlan(join(dir, 'plan.json'), plan);
    expect(statSync(join(dir, 'plan.json')).mode & 0o777).toBe(0o600);
    expect(readSavedPlan(join(dir, 'plan.json'))).toEqual(plan);
    expect(savedPlanResults(plan)).toEqual([{ host: 'gw', status: 'changed', tasks: plan.hosts[0]!.tasks, applied: false, error: undefined }]);
    expect(plan.hosts[0]!.connection).toMatchObject({ kind: 'local' });
    expect(plan.inputs).toEqual({ limit: 'gw' });
  });

  it('refuse to be written when they would hold a secret, and to be read when they are not plans', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgplay-plan-'));
    const secret = await planFor(new FakeHost(EMPTY), tasks(['file', { path: '/etc/wgplay-case/secret.env', content: 'token=x\n', secret: true }]));
    expect(() => writeSavedPlan(join(dir, 'secret.json'), secret)).toThrow('task "case" writes a secret file');
    expect(existsSync(join(dir, 'secret.json'))).toBe(false);
    // A file that is not secret is saved with its plan.
    const plain = await planFor(new FakeHost(EMPTY), tasks(['file', { path: '/etc/wgplay-case/plain.conf', content: 'listen 8080\n' }]));
    writeSavedPlan(join(dir, 'plain.json'), plain);
    expect(readSavedPlan(join(dir, 'plain.json')).hosts[0]!.tasks[0]!.changes).toHaveLength(1);
    const harmless = await planFor(new FakeHost(EMPTY), tasks(RULE));
    writeSavedPlan(join(dir, 'harmless.json'), harmless);
    expect(() => readSavedPlan(join(dir, 'none.json'))).toThrow('cannot read the saved plan: no such file');
    writeFileSync(join(dir, 'playbook.yaml'), '- hosts: all\n');
    expect(() => readSavedPlan(join(dir, 'playbook.yaml'))).toThrow('not a saved plan (not JSON): a playbook needs -i INVENTORY');
    expect(() => readSavedPlan(dir)).toThrow('cannot read the saved plan: EISDIR');
    expect(readFileSync(join(dir, 'harmless.json'), 'utf8')).toMatch(/^\{\n {2}"format": 1,/);
  });

  it('are applied host by host under the host lock, a refused host not stopping the others', async () => {
    const two = inventoryOf('all:\n  hosts:\n    gw1: { ansible_connection: local }\n    gw2: { ansible_connection: local }\n');
    const hosts = { gw1: converging(EMPTY, WITH_RULE), gw2: new FakeHost(EMPTY) };
    const loaded: LoadedRun = { inventory: two, plays: [], hosts: [...two.hosts.values()].map((host) => ({ host, tasks: tasks(RULE) })) };
    const planned = await Promise.all((['gw1', 'gw2'] as const).map((name) => runHost(name, hosts[name], tasks(RULE), { apply: false, keepBasis: true })));
    const plan = buildSavedPlan(loaded, planned, {});
    hosts.gw2.facts = WITH_RULE; // gw2 changed since: refused
    const locks: Record<string, FakeLock> = { gw1: { written: [], ended: false }, gw2: { written: [], ended: false } };
    const results = await applySavedPlan(plan, { connect: async (name) => fakeTransport(name, hosts[name as 'gw1'], { lock: locks[name] }) });
    expect(results.map((r) => [r.host, r.status, r.applied])).toEqual([
      ['gw1', 'changed', true],
      ['gw2', 'failed', false],
    ]);
    expect(results[1]!.error).toContain('the host changed since the plan was made (1 fact(s) differ)');
    expect(locks.gw1!.ended && locks.gw2!.ended).toBe(true);
  });

  it('are not applied for a host whose planning failed, was unreachable or left no basis, saying what the plan said', async () => {
    const saved = await planFor(new FakeHost(EMPTY), tasks(RULE));
    const host = new FakeHost(EMPTY);
    const connect = async (name: string) => fakeTransport(name, host);
    for (const [status, error, basis] of [['failed', 'no route', true], ['unreachable', undefined, true], ['changed', undefined, false]] as const) {
      const entry = { ...saved.hosts[0]!, status, error, basis: basis ? saved.hosts[0]!.basis : undefined };
      const [result] = await applySavedPlan({ ...saved, hosts: [entry] }, { connect });
      expect(result, status).toMatchObject({ status: 'failed', applied: false, error: `not applied: the plan has no changes for this host (when it was made: ${status}${error ? `: ${error}` : ''})` });
    }
    expect(host.count('apply')).toBe(0);
  });

  it('are applied for a library user who listens to some events only', async () => {
    const saved = await planFor(new FakeHost(EMPTY), tasks(RULE));
    const outcomes: string[] = [];
    const host = converging(EMPTY, WITH_RULE);
    const [result] = await applySavedPlan(saved, { connect: async (name) => fakeTransport(name, host), events: { taskDone: (_host, _task, outcome) => outcomes.push(outcome) } });
    expect(result).toMatchObject({ status: 'changed', applied: true });
    expect(outcomes).toEqual(['changed']);
  });
});

describe('withHostConnection', () => {
  it('closes the connection whatever happens, and turns a throw into a failed result', async () => {
    let closed = 0;
    const connect = async (name: string) => ({ ...fakeTransport(name, new FakeHost(EMPTY)), close: async () => void closed++ });
    const result = await withHostConnection('gw', () => connectionOf(hostOf(LOCAL)), { connect }, async () => {
      throw new Error('the body failed');
    });
    expect(result).toMatchObject({ host: 'gw', status: 'failed', applied: false, error: 'the body failed', tasks: [] });
    expect(closed).toBe(1);
  });

  it('runs hosts with runHosts: every host validated and resolved first', async () => {
    const inventory = inventoryOf(LOCAL);
    const bad: LoadedRun = { inventory, plays: [], hosts: [{ host: inventory.hosts.get('gw')!, tasks: [{ name: 'r', module: 'ip_rule', args: { from: '10.200.200.1', table: 41, priority: 'high' } }] }] };
    await expect(runHosts(bad, { apply: false, connect: async (name) => fakeTransport(name, new FakeHost(EMPTY)) })).rejects.toThrow(/priority.*\(host gw\)/);
  });
});
