// Saved plans over real SSH: `plan --out FILE` reviewed, `show FILE` prints it as plan
// did, `apply FILE` applies exactly its changes; a host that drifted between plan and
// apply is refused with the drift shown, exit 1, and left exactly as it was.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHost, type TestHost } from './harness.js';
import { changedResources, wgplay, wgplayJson, writePlaybook } from './wgplayCli.js';

const KEY_A = '/TOE4TKtAqVsePRVR+5AA43HkAK5DSntkOCO7nYq5xU=';

const baseTasks = [
  { name: 'a config file', file: { path: '/etc/wgplay-saved/hello.conf', content: 'hello\n', mode: '0640' } },
  {
    name: 'tunnel',
    wireguard_interface: { name: 'wg-s', addresses: ['10.201.0.1'], listen_port: 51851, table: 51, peers: [{ public_key: KEY_A, allowed_ips: ['10.0.0.1'] }] },
  },
  { name: 'policy rule', ip_rule: { from: '10.201.0.1', table: 51, priority: 151 } },
  {
    name: 'firewall table',
    nft_table: { family: 'inet', name: 'wgsaved', sets: [{ name: 'ports', type: 'inet_service' }], chains: [{ name: 'input', type: 'filter', hook: 'input', priority: 0, policy: 'accept', rules: ['udp dport @ports accept'] }] },
  },
  { name: 'port element', nft_element: { table: 'wgsaved', set: 'ports', key: 51851 } },
];

let host: TestHost;
let inventory: string;
let dir: string;

/** What an operator would compare: the host's ruleset, rules, routes, links, addresses, WireGuard config and files. */
const hostFingerprint = () =>
  host.run(
    [
      'nft list ruleset',
      'ip rule show; ip -6 rule show',
      'ip route show table all; ip -6 route show table all',
      'ip -br link; ip -br addr',
      // Never the private key: public keys, ports and peers only.
      'wg show all public-key; wg show all listen-port; wg show all allowed-ips; wg show all persistent-keepalive',
      '(find /etc/wgplay-saved /etc/wireguard /var/lib/wgplay -type f -exec sha256sum {} + 2>/dev/null || true) | sort',
      '(find /etc/wgplay-saved /etc/wireguard -exec stat -c "%n %a %U" {} + 2>/dev/null || true) | sort',
    ].join('; echo ==; '),
  );

beforeAll(async () => {
  host = await startTestHost({ name: 'saved' });
  inventory = host.writeInventory();
  dir = join(host.host.stateDir, 'plans');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
});

afterAll(async () => {
  await host?.destroy();
});

describe('saved plans', () => {
  it('plan --out saves the plan; show prints it as plan did; apply FILE applies exactly those changes', async () => {
    const playbook = writePlaybook([{ name: 'saved', hosts: 'all', tasks: baseTasks }]);
    const file = join(dir, 'first.plan');
    const planned = await wgplayJson(['plan', playbook, '-i', inventory, '--out', file]);
    expect(planned.code).toBe(2);
    expect((planned.report as unknown as { savedPlan: string }).savedPlan).toBe(file);
    expect(existsSync(file)).toBe(true);
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    expect(saved).toMatchObject({ format: 1, kind: 'wgplay-plan', hosts: [{ host: 'saved', status: 'changed' }] });
    expect(saved.hosts[0].basis.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(saved.inputs.playbook.sha256).toMatch(/^[0-9a-f]{64}$/);
    // Nothing changed on the host yet.
    expect(await host.exec('ip link show dev wg-s')).toMatchObject({ code: 1 });

    // show: the same report as plan, without contacting the host.
    const textPlan = await wgplay(['plan', playbook, '-i', inventory]);
    const shown = await wgplay(['show', file]);
    expect(shown.code).toBe(2);
    expect(shown.stdout).toBe(textPlan.stdout);
    const shownJson = await wgplayJson(['show', file]);
    expect(changedResources(shownJson.report)).toEqual(changedResources(planned.report));
    expect(shownJson.report.summary).toEqual(planned.report.summary);

    // What was reviewed is what runs: the playbook edited after the plan changes nothing of it.
    writeFileSync(playbook, readFileSync(playbook, 'utf8').replace('hello', 'edited after review'));
    const applied = await wgplayJson(['apply', file]);
    expect(applied.report.hosts[0]!.error).toBeUndefined();
    expect(applied.code).toBe(0);
    expect(applied.report).toMatchObject({ command: 'apply', mode: 'apply', hosts: [{ host: 'saved', status: 'changed', applied: true }] });
    expect(changedResources(applied.report)).toEqual(changedResources(planned.report));
    expect(applied.report.summary).toMatchObject({ create: planned.report.summary.create, change: planned.report.summary.change, delete: planned.report.summary.delete });

    expect((await host.run('wg show wg-s listen-port')).trim()).toBe('51851');
    expect(await host.run('ip rule show priority 151')).toBe('151:\tfrom 10.201.0.1 lookup 51\n');
    expect(await host.run('nft list set inet wgsaved ports')).toContain('51851');
    expect(await host.run('cat /etc/wgplay-saved/hello.conf')).toBe('hello\n');
    writeFileSync(playbook, readFileSync(playbook, 'utf8').replace('edited after review', 'hello'));
    const again = await wgplayJson(['plan', playbook, '-i', inventory]);
    expect(again.code).toBe(0);
  });

  it('apply FILE refuses a host that changed between plan and apply: the drift shown, exit 1, the host unchanged', async () => {
    const changedTasks = baseTasks.map((task) =>
      task.name === 'a config file' ? { ...task, file: { ...task.file!, content: 'hello again\n' } } : task,
    );
    changedTasks.push({ name: 'second rule', ip_rule: { from: '10.201.0.2', table: 51, priority: 152 } } as never);
    const playbook = writePlaybook([{ name: 'saved', hosts: 'all', tasks: changedTasks }]);
    const file = join(dir, 'drift.plan');
    const planned = await wgplayJson(['plan', playbook, '-i', inventory, '--out', file]);
    expect(planned.code).toBe(2);
    expect(planned.report.summary).toMatchObject({ create: 1, change: 1, delete: 0 });

    // The key exists on the host now: the plan file must not hold it.
    const privateKey = (await host.run('cat /etc/wireguard/wg-s.key')).trim();
    expect(privateKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(readFileSync(file, 'utf8')).not.toContain(privateKey);
    expect(readFileSync(file, 'utf8')).not.toMatch(/PrivateKey|private-key [A-Za-z0-9+/]{43}=/);

    // A colleague changes the host by hand: a rule in the table the plan manages, and the port element goes.
    await host.run('ip rule add from 10.201.0.9 table 51 priority 159; nft delete element inet wgsaved ports { 51851 }');
    const before = await hostFingerprint();
    const refused = await wgplayJson(['apply', file]);
    expect(refused.code).toBe(1);
    const result = refused.report.hosts[0]!;
    expect(result).toMatchObject({ host: 'saved', status: 'failed', applied: false });
    expect(result.error).toMatch(/changed since the plan was made.*nothing was changed/);
    expect(result.drift!.some((line) => line.startsWith('+ rule') && line.includes('10.201.0.9'))).toBe(true);
    expect(result.drift).toContain('- nft-element {"family":"inet","key":"51851","set":"ports","table":"wgsaved"}');
    expect(await hostFingerprint()).toBe(before);
    expect(await host.run('cat /etc/wgplay-saved/hello.conf')).toBe('hello\n');

    const text = await wgplay(['apply', file]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/\+ rule .*10\.201\.0\.9/);
    expect(await hostFingerprint()).toBe(before);
  });

  it('refuses to save a plan that would hold a secret, and a plan made by another wgplay version', async () => {
    const playbook = writePlaybook([
      { name: 'secret', hosts: 'all', tasks: [{ name: 'token', file: { path: '/etc/wgplay-saved/token', content: 'hunter2-token\n', secret: true } }] },
    ]);
    const file = join(dir, 'secret.plan');
    const refused = await wgplayJson(['plan', playbook, '-i', inventory, '--out', file]);
    expect(refused.code).toBe(1);
    const errors = (refused.report as unknown as { errors: { where: string; message: string }[] }).errors;
    expect(errors[0]!.where).toMatch(/playbook\.yaml:\d+:\d+$/);
    expect(errors[0]!.message).toMatch(/secret/);
    expect(refused.stdout).not.toContain('hunter2-token');
    expect(existsSync(file)).toBe(false);

    const old = join(dir, 'first.plan');
    const other = join(dir, 'other-version.plan');
    writeFileSync(other, readFileSync(old, 'utf8').replace(/"wgplayVersion": "[^"]*"/, '"wgplayVersion": "0.0.1"'));
    const wrongVersion = await wgplay(['apply', other]);
    expect(wrongVersion.code).toBe(1);
    expect(wrongVersion.stderr).toMatch(/made by wgplay 0\.0\.1.*plan again/);
    const notAPlan = await wgplay(['apply', inventory]);
    expect(notAPlan.code).toBe(1);
    expect(notAPlan.stderr).toMatch(/not a saved plan/);
  });
});
