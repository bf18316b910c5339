// Commit-confirmed over real SSH: an apply that passes validation but cuts SSH (an
// nft_table dropping the controller's packets to sshd) is rolled back by the host
// itself, wgplay says so and exits 1, and SSH works again; a normal apply is confirmed
// through a new connection and leaves no timer behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHost, type TestHost } from './harness.js';
import { wgplay, wgplayJson, writePlaybook } from './wgplayCli.js';

let host: TestHost;
let inventory: string;
/** The controller's address as the host sees it (the root end of the management link). */
let controller: string;

const play = (tasks: unknown[]) => writePlaybook([{ name: 'commit-confirmed test', hosts: 'all', tasks }]);

/** Processes of this host (its network namespace) whose command line matches. */
const processesOf = (pattern: string) =>
  host.run(
    `me=$(readlink /proc/self/ns/net); for p in /proc/[0-9]*; do [ "$(readlink $p/ns/net 2>/dev/null)" = "$me" ] || continue; ` +
      `tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done | grep -F -- ${JSON.stringify(pattern)} | grep -v grep || true`,
  );

/** What the host's firewall, routes and rules are (read inside the host, not over SSH). */
const snapshot = () => host.run('nft list ruleset; ip rule; ip -4 route show table all; ip -o link | cut -d: -f2');

beforeAll(async () => {
  host = await startTestHost({ name: 'cc' });
  inventory = host.writeInventory();
  controller = host.ssh.host.replace(/\d+$/, (last) => String(Number(last) - 1));
});

afterAll(async () => {
  await host?.destroy();
});

describe('commit-confirmed', () => {
  it('a change that cuts SSH is rolled back by the host; wgplay says so; SSH works again', async () => {
    const before = await snapshot();
    const cut = play([
      {
        name: 'a firewall that drops the controller',
        nft_table: {
          family: 'inet',
          name: 'cutssh',
          chains: [
            {
              name: 'input',
              type: 'filter',
              hook: 'input',
              priority: -10,
              policy: 'accept',
              rules: [`ip saddr ${controller} tcp dport ${host.ssh.port} drop`],
            },
          ],
        },
      },
      { name: 'a route that stays', ip_route: { to: '10.77.0.0/24', dev: 'lo', table: 77 } },
    ]);
    const started = Date.now();
    const result = await wgplayJson(['apply', cut, '-i', inventory, '--confirm-timeout', '3']);
    const tookMs = Date.now() - started;
    const h = result.report.hosts[0]!;
    expect(result.code, result.stderr).toBe(1);
    expect(h.status).toBe('failed');
    expect(h.error).toMatch(/^rolled back: SSH unreachable after the change/);
    // It names what it rolled back.
    expect(h.error).toMatch(/nft table inet cutssh removed/);
    expect(h.error).toMatch(/route 10\.77\.0\.0\/24 dev lo table 77.*: removed/);
    expect((result.report.hosts[0] as { outcome?: string }).outcome).toBe('rolled-back');
    // The changes are still listed: a rolled-back apply never reads as "0 changes" (the
    // table, its boot file, unit and enable link, the route).
    expect(h.tasks.flatMap((task) => task.changes)).toHaveLength(5);
    // The persist phase waits for the confirmation: nothing of the rolled-back table comes back at boot.
    expect(await host.run('ls /etc/wgplay/nftables/inet-cutssh.nft /etc/systemd/system/wgplay-nft-inet-cutssh.service 2>&1 || true')).toMatch(/No such file[\s\S]*No such file/);
    const log = await host.run('cat /run/wgplay/confirm/rollback.log');
    console.log(`cut-SSH apply with --confirm-timeout 3: wgplay reported the rollback after ${tookMs} ms; rollback on the host ${/took (\d+) ms/.exec(log)?.[1]} ms`);

    // The earlier state is back, and nothing of the rollback is left running.
    expect(await snapshot()).toBe(before);
    expect(await processesOf('/run/wgplay/confirm/timer.sh')).toBe('');
    // A later SSH connection works (plan goes over SSH; it shows the changes again).
    const plan = await wgplayJson(['plan', cut, '-i', inventory]);
    expect(plan.code, plan.stderr).toBe(2);
    expect(plan.report.hosts[0]!.status).toBe('changed');
  });

  it('a normal apply is confirmed through a new connection and leaves no timer', async () => {
    const ok = play([
      {
        name: 'a harmless firewall',
        nft_table: {
          family: 'inet',
          name: 'harmless',
          sets: [{ name: 'ports', type: 'inet_service' }],
          chains: [{ name: 'input', type: 'filter', hook: 'input', priority: 0, policy: 'accept', rules: ['udp dport @ports accept'] }],
        },
      },
      { name: 'a route', ip_route: { to: '10.78.0.0/24', dev: 'lo', table: 78 } },
    ]);
    const logins = () => host.host.readLog('sshd.log').split('\n').filter((line) => line.includes('Accepted publickey')).length;
    const loginsBefore = logins();
    const result = await wgplay(['apply', ok, '-i', inventory, '--confirm-timeout', '3']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    // Two SSH logins: the apply's connection and the new one that confirmed.
    expect(logins() - loginsBefore).toBe(2);
    expect(await host.run('cat /run/wgplay/confirm/state')).toBe('confirmed\n');
    expect(await host.run('ls /run/wgplay/confirm')).not.toMatch(/armed|timer\.pid/);
    expect(await processesOf('/run/wgplay/confirm/timer.sh')).toBe('');
    // Still there well after the timeout: nothing rolled it back.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect(await host.run('nft list table inet harmless >/dev/null && ip route show table 78')).toMatch(/^10\.78\.0\.0\/24 dev lo/);
    const plan = await wgplay(['plan', ok, '-i', inventory]);
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
  });

  it('a --confirm-timeout that is not a whole number of seconds is refused before any host is contacted', async () => {
    const result = await wgplay(['apply', play([]), '-i', inventory, '--confirm-timeout', 'soon']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/--confirm-timeout must be a whole number of seconds \(1 or more\), got "soon"/);
  });
});
