// The engine through a fake host (fakeHost.ts): captured fact output of a real host,
// every script it is sent recorded.
import { describe, expect, it } from 'vitest';
import { PHASE_MARKER } from '../../src/engine/compile.js';
import { runHost, type HostResult, type ScriptRunner } from '../../src/engine/run.js';
import { runHosts, type LoadedRun } from '../../src/engine/runPlaybook.js';
import { applySavedHost, assertNoSecrets, buildSavedPlan, checkSavedPlan, SAVED_PLAN_KIND } from '../../src/engine/savedPlan.js';
import { parseInventory } from '../../src/inventory/index.js';
import { registerSecret } from '../../src/report/redact.js';
import { renderJsonReport } from '../../src/report/json.js';
import { EXIT, exitCodeFor } from '../../src/report/summary.js';
import { renderTextReport } from '../../src/report/text.js';
import { TransportError, type Transport } from '../../src/transport/types.js';
import type { TaskInvocation } from '../../src/tasks/types.js';
import { EMPTY, FakeHost, facts, fakeTransport, phasesOf, RULE, tasks, WITH_RULE, SSH_CONNECTION } from './fakeHost.js';

describe('runHost', () => {
  it('compiles every change of a host into ONE script: phases in order, one ip -batch, one nft transaction', async () => {
    const host = new FakeHost(facts({ capture: 'empty', output: { 'sysctl net.ipv4.ip_forward': '0' } }));
    await runHost(
      'gw',
      host,
      tasks(
        ['nft_element', { table: 'wgplay_filter', set: 'wg_ports', key: 51821 }],
        ['nft_table', { name: 'wgplay_filter', sets: [{ name: 'wg_ports', type: 'inet_service' }] }],
        ['ip_route', { to: '10.100.100.1', dev: 'wg-a' }],
        RULE,
        ['wireguard_interface', { name: 'wg-a', addresses: ['10.200.200.1'], listen_port: 51821 }],
        ['sysctl', { key: 'net.ipv4.ip_forward', value: 1, persist: false }],
        ['file', { path: '/etc/wgplay-case.conf', content: 'x\n' }],
      ),
      { apply: true },
    );
    const script = host.applyScript!;
    expect(phasesOf(script)).toEqual(['prepare', 'links', 'routing', 'wireguard', 'firewall', 'persist', 'done']);
    // New links with their addresses, then rules and routes: both before the daemon starts.
    expect(script.match(/^wgplay_ip_batch </gm)).toHaveLength(1);
    expect(script.match(/^ip -batch /gm)).toHaveLength(1);
    expect(script.match(/^nft -f /gm)).toHaveLength(1);
    const at = (text: string) => {
      const index = script.indexOf(text);
      expect(index, text).toBeGreaterThanOrEqual(0);
      return index;
    };
    // Written in reverse order in the playbook; run in dependency order.
    expect(at('sysctl -q -w net.ipv4.ip_forward=1')).toBeLessThan(at('wgplay_create_links\n'));
    // Files are staged beside their place and renamed into it at the end of prepare.
    expect(at('wgplay_stage /etc/wgplay-case.conf\n')).toBeLessThan(at('\nwgplay_commit_staged\n'));
    expect(at('\nwgplay_commit_staged\n')).toBeLessThan(at('wgplay_create_links\n'));
    expect(at('wgplay_new_links+=(wg-a)')).toBeLessThan(at('wgplay_create_links\n'));
    expect(at('wgplay_create_links\n')).toBeLessThan(at('address add 10.200.200.1/32 dev wg-a'));
    expect(at('address add 10.200.200.1/32 dev wg-a')).toBeLessThan(at('rule add from 10.200.200.1 table 41 priority 100'));
    expect(at('\nip -batch')).toBeLessThan(at('route replace 10.100.100.1 dev wg-a table main'));
    // The daemon starts once its addresses, rules and routes are there.
    expect(at('route replace 10.100.100.1 dev wg-a table main')).toBeLessThan(at('wgplay_wg_up new wg-a'));
    // The table exists before its element is added, in the same transaction.
    expect(at('nft -f')).toBeLessThan(at('table inet wgplay_filter {'));
    expect(at('table inet wgplay_filter {')).toBeLessThan(at('add element inet wgplay_filter wg_ports { 51821 }'));
  });

  it('costs one round trip when nothing is to do, and sends no apply script', async () => {
    const host = new FakeHost(WITH_RULE);
    const result = await runHost('gw', host, tasks(RULE), { apply: true });
    expect(result).toMatchObject({ status: 'ok', applied: false });
    expect(host.sent.map((s) => s.kind)).toEqual(['facts']);
  });

  it('plans without applying: one round trip, the change reported, status changed', async () => {
    const host = new FakeHost(EMPTY);
    const result = await runHost('gw', host, tasks(RULE), { apply: false });
    expect(result).toMatchObject({ status: 'changed', applied: false });
    expect(result.tasks[0]!.changes.map((c) => c.resource)).toEqual(['ip rule from 10.200.200.1 table 41 priority 100']);
    expect(host.count('apply')).toBe(0);
    expect(host.count('facts')).toBe(1);
  });

  it('applies, then verifies with a second fact gathering: three round trips', async () => {
    const host = new FakeHost(EMPTY, (script, self) => {
      self.facts = WITH_RULE; // the rule is there now
      return { stdout: phasesOf(script).map((p) => PHASE_MARKER + p).join('\n') };
    });
    const result = await runHost('gw', host, tasks(RULE), { apply: true });
    expect(result).toMatchObject({ status: 'changed', applied: true });
    expect(result.error).toBeUndefined();
    expect(host.sent.map((s) => s.kind)).toEqual(['facts', 'apply', 'facts']);
  });

  it('fails the host when the apply ran but the host did not converge', async () => {
    const host = new FakeHost(EMPTY); // the apply "succeeds", the rule never appears
    const result = await runHost('gw', host, tasks(RULE), { apply: true });
    expect(result.status).toBe('failed');
    expect(result.applied).toBe(true);
    expect(result.error).toContain('did not converge');
    expect(result.error).toContain('+ ip rule from 10.200.200.1 table 41 priority 100');
    expect(host.sent.map((s) => s.kind)).toEqual(['facts', 'apply', 'facts']);
  });

  it('fails the host when the apply script fails, naming the phase it stopped in, without verifying', async () => {
    const host = new FakeHost(facts({ capture: 'empty', output: { 'sysctl net.ipv4.ip_forward': '0' } }), () => ({
      stdout: `${PHASE_MARKER}prepare\n${PHASE_MARKER}routing\n`,
      stderr: 'RTNETLINK answers: File exists\n',
      code: 2,
    }));
    const result = await runHost('gw', host, tasks(RULE, ['sysctl', { key: 'net.ipv4.ip_forward', value: 1, persist: false }]), { apply: true });
    expect(result.status).toBe('failed');
    expect(result.applied).toBe(true);
    expect(result.error).toContain('apply failed in phase "routing" (exit 2)');
    expect(result.error).toContain('RTNETLINK answers: File exists');
    expect(host.sent.map((s) => s.kind)).toEqual(['facts', 'apply']);
  });

  it('names phase "start" when the apply script failed before its first phase, with its stderr trimmed, cut and scrubbed', async () => {
    const host = new FakeHost(EMPTY, () => ({ stdout: '', stderr: `  bash: line 1: syntax error\nkey aLcGbAnL5A+ZIRo0Q5rQOI0BXiJ8Nv3CxTqNAWXaQXE= ${'no space left '.repeat(500)}\n`, code: 2 }));
    const result = await runHost('gw', host, tasks(RULE), { apply: true });
    expect(result.error).toMatch(/^apply failed in phase "start" \(exit 2\); earlier phases completed, this one may be half-done, later ones did not run; rerun apply to converge\.\nbash: line 1: syntax error\nkey /);
    expect(result.error).not.toContain('aLcGbAnL5A+ZIRo0Q5rQOI0BXiJ8Nv3CxTqNAWXaQXE=');
    expect(result.error!.length).toBeLessThan(4300);
  });

  it("reports each phase's seconds on the host, and the verify's on the controller", async () => {
    const host = new FakeHost(EMPTY, (script, self) => {
      self.facts = WITH_RULE;
      return { stdout: `${PHASE_MARKER}prepare 100.0\n${PHASE_MARKER}routing 100.5\n${PHASE_MARKER}done 101.25\n` };
    });
    const result = await runHost('gw', host, tasks(RULE), { apply: true });
    expect(result.status).toBe('changed');
    const { verify, ...onHost } = result.phaseSeconds!;
    expect(onHost).toEqual({ prepare: 0.5, routing: 0.75 });
    expect(verify).toBeGreaterThanOrEqual(0);
    expect(verify).toBeLessThan(30);
  });

  it('a run cancelled before it starts sends nothing and says so; a plan keeps its basis only when asked', async () => {
    const host = new FakeHost(EMPTY);
    const controller = new AbortController();
    controller.abort();
    expect(await runHost('gw', host, tasks(RULE), { apply: true, signal: controller.signal })).toEqual({
      host: 'gw',
      status: 'cancelled',
      tasks: [],
      applied: false,
      cancelled: 'before-apply',
      error: 'cancelled before the apply script started: nothing was changed',
    });
    expect(host.sent).toEqual([]);
    expect((await runHost('gw', host, tasks(RULE), { apply: false })).basis).toBeUndefined();
    expect((await runHost('gw', host, tasks(RULE), { apply: false, keepBasis: true })).basis).toMatchObject({ fingerprint: expect.any(String) });
  });

  it('fails before applying anything when a task cannot plan, naming the task', async () => {
    const host = new FakeHost(EMPTY);
    const result = await runHost('gw', host, tasks(RULE, ['sysctl', { key: 'net.ipv4.no_such_key', value: 1, persist: false }]), { apply: true });
    expect(result.status).toBe('failed');
    expect(result.applied).toBe(false);
    expect(result.error).toContain('kernel parameter net.ipv4.no_such_key does not exist');
    expect(host.count('apply')).toBe(0);
  });

  it('refuses to plan on facts a tool failed to report (nft without permission reads as "no tables")', async () => {
    const host = new FakeHost(facts({ capture: 'populated', output: { 'nft-json': { lines: ['Operation not permitted'], rc: 1 } } }));
    await expect(runHost('gw', host, tasks(RULE), { apply: true })).rejects.toThrow(/could not read the host's state: nft -j list ruleset exited with status 1/);
    expect(host.count('apply')).toBe(0);
  });

  it('fails when the fact script itself fails', async () => {
    const host = new FakeHost(EMPTY);
    host.run = async () => ({ stdout: '', stderr: '  bash: not found\n', code: 127 });
    await expect(runHost('gw', host, tasks(RULE), { apply: false })).rejects.toThrow(/^gathering facts failed \(exit 127\): bash: not found$/);
    // A long error is cut at 2000 characters, and a private key in it scrubbed.
    host.run = async () => ({ stdout: '', stderr: `key aLcGbAnL5A+ZIRo0Q5rQOI0BXiJ8Nv3CxTqNAWXaQXE= ${'no space left '.repeat(400)}`, code: 1 });
    const error: Error = await runHost('gw', host, tasks(RULE), { apply: false }).catch((caught: Error) => caught);
    expect(error.message).not.toContain('aLcGbAnL5A+ZIRo0Q5rQOI0BXiJ8Nv3CxTqNAWXaQXE=');
    expect(error.message.length).toBeLessThan(2100);
  });

  it("gathers a second time when a module's record names resources the first gathering did not cover", async () => {
    const record = {
      version: 1,
      customers: { a: { interface: 'wg-a', listen_port: 51821, table: 41, our_translated_address: '10.200.200.1', translated_address: '10.100.100.1' }, gone: { interface: 'wg-gone', listen_port: 51829, table: 49, our_translated_address: '10.200.200.9', translated_address: '10.100.100.9' } },
    };
    const host = new FakeHost(
      facts({ capture: 'empty', output: { 'sysctl net.ipv4.ip_local_reserved_ports': '', 'file /var/lib/wgplay/gateway.json': { file: { mode: '600', content: JSON.stringify(record) } } } }),
    );
    const gateway = {
      public_interface: 'eth0',
      public_address: '203.0.113.2',
      ssh: { interfaces: ['eth0'] },
      customers: [{ name: 'a', public_key: '/TOE4TKtAqVsePRVR+5AA43HkAK5DSntkOCO7nYq5xU=', address: '10.0.0.1', our_address: '10.0.0.2' }],
    };
    const result = await runHost('gw', host, tasks(['wireguard_gateway', gateway]), { apply: false });
    expect(result.status).toBe('changed');
    expect(host.sent.map((s) => s.kind)).toEqual(['facts', 'facts']);
    // The second gathering asks about the removed customer's files.
    expect(host.sent[0]!.script).not.toContain('/etc/wireguard/wg-gone.conf');
    expect(host.sent[1]!.script).toContain('/etc/wireguard/wg-gone.conf');
  });

  it("expands a module with the host's SSH connection: a gateway that would shut wgplay out is refused, nothing sent", async () => {
    const host = new FakeHost(facts({ capture: 'empty', output: { ...SSH_CONNECTION, 'sysctl net.ipv4.ip_local_reserved_ports': '' } }));
    const gateway = {
      public_interface: 'eth0',
      public_address: '203.0.113.2',
      ssh: { interfaces: ['eth1'] },
      customers: [{ name: 'a', public_key: '/TOE4TKtAqVsePRVR+5AA43HkAK5DSntkOCO7nYq5xU=', address: '10.0.0.1', our_address: '10.0.0.2' }],
    };
    await expect(runHost('gw', host, tasks(['wireguard_gateway', gateway]), { apply: true, overSsh: true })).rejects.toThrow(
      /refused, nothing changed:\n {2}- wgplay reaches this host over SSH at 192\.0\.2\.1 on eth0, but ssh\.interfaces is \[eth1\]/,
    );
    expect(host.count('apply')).toBe(0);
  });

  it('fails a host whose expanded tasks fight over one resource', async () => {
    const host = new FakeHost(EMPTY);
    const result = await runHost('gw', host, tasks(['file', { path: '/etc/x', content: 'a' }], ['file', { path: '/etc/x', content: 'b' }]), { apply: true });
    expect(result.status).toBe('failed');
    expect(result.error).toContain('both manage file /etc/x on host gw');
    expect(host.count('apply')).toBe(0);
  });
});

describe('several hosts', () => {
  // Local connections (no SSH path to protect); the connect hook stands in for the transport.
  const inventory = parseInventory('all:\n  vars: { ansible_connection: local }\n  hosts:\n    gw1:\n    gw2:\n    gw3:\n', 'hosts.yaml');
  const loaded: LoadedRun = { inventory, hosts: [...inventory.hosts.values()].map((host) => ({ host, tasks: tasks(RULE) })) };
  const transport = (name: string, runner: ScriptRunner): Transport => fakeTransport(name, runner);

  it('a host that fails (unreachable, apply error) does not stop the others; exit codes say what happened', async () => {
    const converging = () =>
      new FakeHost(EMPTY, (script, self) => {
        self.facts = WITH_RULE;
        return { stdout: phasesOf(script).map((p) => PHASE_MARKER + p).join('\n') };
      });
    const hosts: Record<string, ScriptRunner> = {
      gw1: new FakeHost(EMPTY, () => ({ code: 1, stderr: 'Error: no such table' })),
      gw3: converging(),
    };
    const results = await runHosts(loaded, {
      apply: true,
      confirmTimeoutSeconds: 0, // commit-confirmed (a second connection) is not what this is about
      forks: 1, // one at a time: gw2 and gw3 run after gw1 failed
      connect: async (name) => {
        if (name === 'gw2') throw new TransportError('unreachable', name, 'connect ECONNREFUSED 192.0.2.12:22');
        return transport(name, hosts[name]!);
      },
    });
    expect(results.map((r) => [r.host, r.status, r.roundTrips])).toEqual([
      // the lock with the facts, apply (+ verify)
      ['gw1', 'failed', 2],
      ['gw2', 'unreachable', 0],
      ['gw3', 'changed', 3],
    ]);
    expect(exitCodeFor(results, 'apply')).toBe(EXIT.error + EXIT.unreachable);
    expect(exitCodeFor(results.slice(1), 'apply')).toBe(EXIT.unreachable);
    expect(exitCodeFor(results.slice(2), 'apply')).toBe(EXIT.ok);
  });
});

describe('exit codes', () => {
  const result = (status: HostResult['status']): HostResult => ({ host: status, status, tasks: [], applied: false });
  it('add up: 1 a host failed, 2 changes pending (plan only), 4 a host unreachable', () => {
    expect(exitCodeFor([result('ok')], 'plan')).toBe(0);
    expect(exitCodeFor([], 'plan')).toBe(0);
    expect(exitCodeFor([result('ok'), result('changed')], 'plan')).toBe(2);
    expect(exitCodeFor([result('changed')], 'apply')).toBe(0);
    expect(exitCodeFor([result('changed'), result('unreachable')], 'plan')).toBe(6);
    expect(exitCodeFor([result('failed'), result('changed')], 'plan')).toBe(3);
    expect(exitCodeFor([result('unreachable'), result('failed'), result('changed')], 'plan')).toBe(7);
    expect(exitCodeFor([result('unreachable'), result('failed'), result('changed')], 'apply')).toBe(5);
  });
});

describe('redaction', () => {
  const KEY = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
  it("never prints a private key a tool's stderr relays, in text or JSON", async () => {
    const host = new FakeHost(EMPTY, () => ({ code: 1, stderr: `Line unrecognized: \`PrivateKey = ${KEY}'\nwg: private-key ${KEY} is invalid` }));
    const result = await runHost('gw', host, tasks(RULE), { apply: true });
    expect(result.status).toBe('failed');
    const text = renderTextReport([result], { mode: 'apply', diff: true });
    const json = renderJsonReport([result], 'apply', exitCodeFor([result], 'apply'));
    for (const output of [text, json]) {
      expect(output).toContain('(redacted)');
      expect(output).not.toContain(KEY);
    }
    expect(JSON.parse(json).exitCode).toBe(EXIT.error);
  });

  it('never prints a registered secret (an SSH key passphrase) wherever it appears', async () => {
    registerSecret('hunter2-passphrase');
    const host = new FakeHost(EMPTY, () => ({ code: 1, stderr: 'sudo: hunter2-passphrase: command not found' }));
    const result = await runHost('gw', host, tasks(RULE), { apply: true });
    expect(renderTextReport([result], { mode: 'apply', diff: true })).not.toContain('hunter2-passphrase');
    expect(renderJsonReport([result], 'apply', 1)).not.toContain('hunter2-passphrase');
  });

  it('never shows a secret file in the plan, text or JSON', async () => {
    const host = new FakeHost(facts({ capture: 'populated' }));
    const result = await runHost('gw', host, tasks(['file', { path: '/run/wgplay-fixture/files/secret.env', content: 'token=rotated-value\n', mode: '0600', secret: true }]), { apply: false });
    expect(result.status).toBe('changed');
    for (const output of [renderTextReport([result], { mode: 'plan', diff: true }), renderJsonReport([result], 'plan', 2)]) {
      expect(output).toContain('content differs (secret)');
      expect(output).not.toContain('rotated-value');
    }
  });
});

describe('saved plans', () => {
  const inventory = parseInventory('all:\n  vars: { ansible_connection: local }\n  hosts:\n    gw:\n', 'hosts.yaml');
  const loadedWith = (invocations: TaskInvocation[]): LoadedRun => ({ inventory, hosts: [{ host: inventory.hosts.get('gw')!, tasks: invocations }] });
  const savedFor = async (host: FakeHost, invocations: TaskInvocation[]) => {
    const planned = await runHost('gw', host, invocations, { apply: false, keepBasis: true });
    return buildSavedPlan(loadedWith(invocations), [planned], {});
  };

  it('applies exactly the saved changes when the host is as it was planned, and verifies', async () => {
    const host = new FakeHost(EMPTY, (script, self) => {
      self.facts = WITH_RULE;
      return { stdout: phasesOf(script).map((p) => PHASE_MARKER + p).join('\n') };
    });
    const plan = checkSavedPlan(JSON.parse(JSON.stringify(await savedFor(host, tasks(RULE)))), 'plan.json');
    const result = await applySavedHost(plan.hosts[0]!, host, {});
    expect(result).toMatchObject({ status: 'changed', applied: true });
    expect(host.sent.map((s) => s.kind)).toEqual(['facts', 'facts', 'apply', 'facts']);
    expect(host.applyScript).toContain('rule add from 10.200.200.1 table 41 priority 100');
  });

  it('refuses, changing nothing, when the host changed since the plan was made', async () => {
    const host = new FakeHost(EMPTY);
    const plan = await savedFor(host, tasks(RULE));
    host.facts = facts({ capture: 'empty', output: { 'ip-rule inet': [{ priority: 0, src: 'all', table: 'local' }, { priority: 100, src: '10.200.200.7', table: '41' }] } });
    const result = await applySavedHost(plan.hosts[0]!, host, {});
    expect(result.status).toBe('failed');
    expect(result.applied).toBe(false);
    expect(result.error).toContain('the host changed since the plan was made');
    expect(host.count('apply')).toBe(0);
  });

  it('does nothing for a host that had nothing to do, and refuses one that failed at plan time', async () => {
    const converged = new FakeHost(WITH_RULE);
    const ok = await applySavedHost((await savedFor(converged, tasks(RULE))).hosts[0]!, converged, {});
    expect(ok).toMatchObject({ status: 'ok', applied: false });
    expect(converged.count('apply')).toBe(0);
    const broken = new FakeHost(EMPTY);
    const failed = await savedFor(broken, tasks(['sysctl', { key: 'net.ipv4.no_such_key', value: 1, persist: false }]));
    const refused = await applySavedHost(failed.hosts[0]!, broken, {});
    expect(refused.status).toBe('failed');
    expect(refused.error).toContain('not applied: the plan has no changes for this host');
    expect(broken.count('apply')).toBe(0);
  });

  it('never saves a secret', async () => {
    const host = new FakeHost(EMPTY);
    const plan = await savedFor(host, tasks(['file', { path: '/etc/wgplay-case/secret.env', content: 'token=x\n', secret: true }]));
    expect(() => assertNoSecrets(plan)).toThrow(/task "[^"]+" writes a secret file: it would be stored in the saved plan/);
    // A file whose content holds a private key is secret without `secret: true`.
    const keyConf = await savedFor(host, tasks(['file', { path: '/etc/wgplay-case/wg.conf', content: '[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n' }]));
    expect(() => assertNoSecrets(keyConf)).toThrow(/task "[^"]+" writes a secret file/);
    const harmless = await savedFor(new FakeHost(EMPTY), tasks(RULE));
    expect(() => assertNoSecrets(harmless)).not.toThrow();
    // Anything shaped like a private key, wherever it is.
    const withKey = JSON.parse(JSON.stringify(harmless).replace('+ ip rule', '+ PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk= ip rule'));
    expect(() => assertNoSecrets(withKey)).toThrow('the plan would hold a secret');
  });

  it('reads only its own kind, format and version', () => {
    expect(() => checkSavedPlan({ kind: 'other' } as never, 'p.json')).toThrow('not a saved plan');
    expect(() => checkSavedPlan({ kind: SAVED_PLAN_KIND, hosts: [], format: 2 } as never, 'p.json')).toThrow('saved plan format 2');
    expect(() => checkSavedPlan({ kind: SAVED_PLAN_KIND, hosts: [], format: 1, wgplayVersion: '0.0.0-other' } as never, 'p.json')).toThrow('made by wgplay 0.0.0-other');
  });
});
