// Commit-confirmed for real: the apply script, its saved state, the timer and the rollback
// run by bash in a network namespace of the test's own (real nft tables, tun device,
// addresses, routes, policy rules) with /run/wgplay in a scratch folder. A "cut" is a
// reconnect that fails until the host has rolled back (as a cut SSH path comes back).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyChanges, type ApplyOutcome } from '../../src/engine/apply.js';
import { parseConfirm, rollbackScope } from '../../src/engine/commitConfirmed.js';
import { lastPhase } from '../../src/engine/compile.js';
import { TransportError } from '../../src/transport/types.js';
import type { Change, Step } from '../../src/tasks/types.js';
import { ScratchHost } from './scratchHost.js';

let host: ScratchHost;
afterEach(() => host?.destroy());

const change = (resource: string, ...steps: Step[]): Change => ({ resource, action: 'update', diff: `~ ${resource}`, steps });

/** What the rollback must give back: the namespace's tables, links, addresses, routes, rules, and the files. */
const SNAPSHOT = (files: string[]) => `nft list ruleset
ip -o link show | awk -F': ' '{print $2}'
ip -4 -o addr show | awk '{print $4, $2}'
ip -4 route show table all | grep -v -e '^local ' -e '^broadcast ' || true
ip -4 rule show
${files.map((file) => `echo "${file}: $(cat ${file} 2>/dev/null || echo absent)"`).join('\n')}`;

/** A host with a table, an address and a route of its own, and one file. */
async function gateway(options: { env?: NodeJS.ProcessEnv } = {}) {
  host = await ScratchHost.create({ network: true, env: options.env });
  const dir = mkdtempSync(join(tmpdir(), 'wgplay-cc-'));
  const kept = join(dir, 'kept.conf');
  const created = join(dir, 'created.conf');
  const persisted = join(dir, 'boot.conf');
  writeFileSync(kept, 'before\n');
  const setup = await host.run(`set -e
nft -f - <<'EOF'
table inet keep {
  set s { type ipv4_addr; elements = { 10.1.1.1 } }
}
EOF
ip addr add 10.9.0.1/32 dev lo
ip route add 10.8.0.0/24 dev lo table 42`);
  expect(setup.stderr).toBe('');
  const snapshot = async () => (await host.run(SNAPSHOT([kept, created, persisted]))).stdout;
  const tasks = [
    { module: 'nft_table', args: { name: 'keep' }, changes: [change('nft element', { phase: 'firewall', kind: 'nft', line: 'add element inet keep s { 10.1.1.2 }' })] },
    { module: 'nft_table', args: { name: 'fresh', family: 'inet' }, changes: [change('nft table fresh', { phase: 'firewall', kind: 'nft', line: 'add table inet fresh' })] },
    { module: 'wireguard_interface', args: { name: 'wg-t' }, changes: [change('wg-t', { phase: 'links', kind: 'shell', script: 'ip tuntap add wg-t mode tun' })] },
    {
      module: 'ip_route',
      args: {},
      changes: [
        change('addresses', { phase: 'routing', kind: 'ip', line: 'address add 10.9.0.2/32 dev lo' }, { phase: 'routing', kind: 'ip', line: 'address del 10.9.0.1/32 dev lo' }),
        change('routes', { phase: 'routing', kind: 'ip', line: 'route add 10.7.0.0/24 dev lo table 41' }, { phase: 'routing', kind: 'ip', line: 'route del 10.8.0.0/24 dev lo table 42' }),
      ],
    },
    { module: 'ip_rule', args: {}, changes: [change('rule', { phase: 'routing', kind: 'ip', line: 'rule add from 10.9.0.1 table 41 priority 100' })] },
    {
      module: 'file',
      args: { path: kept },
      changes: [
        change(kept, { phase: 'prepare', kind: 'shell', script: `printf 'after\\n' > ${kept}` }),
        change(`boot file`, { phase: 'persist', kind: 'shell', script: `printf 'boot\\n' > ${persisted}` }),
      ],
    },
    { module: 'file', args: { path: created }, changes: [change(created, { phase: 'prepare', kind: 'shell', script: `printf 'new\\n' > ${created}` })] },
  ];
  return { kept, created, persisted, snapshot, tasks };
}

/** Reconnects that fail (the path is cut) until `open()` says so. */
function cutUntil(open: () => boolean) {
  const opened: ScratchHost[] = [];
  let refused = 0;
  return {
    opened,
    get refused() {
      return refused;
    },
    reconnect: async () => {
      if (!open()) {
        refused++;
        throw new TransportError('unreachable', 'gw', 'connect ETIMEDOUT');
      }
      const fresh = host.connection();
      opened.push(fresh);
      return fresh;
    },
  };
}

/**
 * PATH for a host whose kernel was booted with ipv6.disable=1, where every `ip -6`
 * request fails as the kernel refuses it (this machine cannot be rebooted for a test,
 * and a namespace's disable_ipv6 sysctl still lets ip list IPv6 state).
 */
function withoutIpv6(): NodeJS.ProcessEnv {
  const dir = mkdtempSync(join(tmpdir(), 'wgplay-noipv6-'));
  const realIp = execFileSync('bash', ['-c', 'command -v ip'], { encoding: 'utf8' }).trim();
  writeFileSync(
    join(dir, 'ip'),
    `#!/bin/sh\nfor a in "$@"; do case "$a" in -6|-family=inet6|inet6) echo 'RTNETLINK answers: Address family not supported by protocol' >&2; exit 2;; esac; done\nexec ${realIp} "$@"\n`,
    { mode: 0o755 },
  );
  return { ...process.env, PATH: `${dir}:${process.env.PATH}` };
}

describe('commit-confirmed', () => {
  it('arms, confirms and rolls back on a host without IPv6 (booted with ipv6.disable=1)', async () => {
    const { kept, snapshot, tasks } = await gateway({ env: withoutIpv6() });
    expect((await host.run('ip -6 rule show')).stderr).toContain('Address family not supported');
    const before = await snapshot();
    const cut = cutUntil(() => host.state('confirm/state') === 'rolled-back\n');
    const outcome = await applyChanges(host, tasks, { confirmTimeoutSeconds: 1, reconnect: cut.reconnect });
    expect(outcome.kind).toBe('rolled-back');
    if (outcome.kind !== 'rolled-back') return;
    expect(outcome.result?.code).toBe(0);
    expect(outcome.restored).toContain('rule priority 100 from 10.9.0.1 lookup 41: removed');
    expect(await snapshot()).toBe(before);
    expect(readFileSync(kept, 'utf8')).toBe('before\n');

    host.destroy();
    const again = await gateway({ env: withoutIpv6() });
    const confirmed = await applyChanges(host, again.tasks, { confirmTimeoutSeconds: 2, reconnect: async () => host.connection() });
    expect(confirmed).toMatchObject({ kind: 'ran', confirmed: true, result: { code: 0 } });
  });

  it('rolls everything in scope back when no new connection confirms in time, and says what it restored', async () => {
    const { kept, created, persisted, snapshot, tasks } = await gateway();
    const before = await snapshot();
    const cut = cutUntil(() => host.state('confirm/state') === 'rolled-back\n');
    const outcome: ApplyOutcome = await applyChanges(host, tasks, { confirmTimeoutSeconds: 1, reconnect: cut.reconnect });
    expect(cut.refused).toBeGreaterThan(0);
    expect(outcome.kind).toBe('rolled-back');
    if (outcome.kind !== 'rolled-back') return;
    expect(outcome.result?.code).toBe(0);
    expect(outcome.restored.slice(0, -1)).toEqual([
      'nft table inet keep restored',
      'nft table inet fresh removed (it did not exist before)',
      'interface wg-t deleted',
      'address 10.9.0.2/32 dev lo: removed',
      'address 10.9.0.1/32 dev lo: added back',
      // As `ip route` prints it (a space before the end).
      'route 10.7.0.0/24 dev lo table 41 scope link : removed',
      'route 10.8.0.0/24 dev lo table 42 scope link : added back',
      'rule priority 100 from 10.9.0.1 lookup 41: removed',
      `file ${kept} restored`,
      `file ${created} removed (it did not exist before)`,
    ]);
    expect(outcome.restored.at(-1)).toMatch(/^took \d+ ms$/);
    expect(await snapshot()).toBe(before);
    expect(readFileSync(kept, 'utf8')).toBe('before\n');
    // What waits for the confirmation (files for the next boot) never ran.
    expect(existsSync(persisted)).toBe(false);
  });

  it("deletes a rolled-back apply's many new links paced, so a running daemon that falls behind loses no event", async () => {
    await gateway();
    const links = Array.from({ length: 120 }, (_, i) => `wg-n${i}`);
    const tasks = links.map((name) => ({
      module: 'wireguard_interface',
      args: { name },
      changes: [change(name, { phase: 'links', kind: 'shell', script: `ip tuntap add ${name} mode tun` })],
    }));
    // Once the apply has ended (the first reconnect), a customer's daemon that is not
    // scheduled: a listener on link and address events named wireguard-go, as the real
    // one listens, stopped, and continued 5 s later (the rollback starts 2 s after the
    // apply, and waits up to 10 s for a daemon that does not read).
    let listener: string | undefined;
    const cut = cutUntil(() => host.state('confirm/state') === 'rolled-back\n');
    const reconnect = async () => {
      listener ??= (
        await host.run(`/usr/bin/python3 -c 'import ctypes, os, signal, socket
ctypes.CDLL(None).prctl(15, b"wireguard-go", 0, 0, 0)
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
s.bind((0, 0x111))
os.kill(os.getpid(), signal.SIGSTOP)
while True:
    s.recv(65536)' >/dev/null 2>&1 &
p=$!
until grep -q '^State:[[:space:]]*T' /proc/$p/status; do sleep 0.01; done
(sleep 5; kill -CONT $p) >/dev/null 2>&1 &
echo $p`)
      ).stdout.trim();
      return cut.reconnect();
    };
    const outcome = await applyChanges(host, tasks, { confirmTimeoutSeconds: 2, reconnect });
    expect(outcome.kind).toBe('rolled-back');
    if (outcome.kind !== 'rolled-back') return;
    expect(outcome.restored.filter((line) => line.startsWith('interface '))).toEqual(links.map((name) => `interface ${name} deleted`));
    const after = await host.run(`ip -o link show | grep -c ': wg-n' || true
while read -r sk eth pid groups rmem wmem dump locks dropped rest; do if [ "$pid" = ${listener} ]; then echo "dropped $dropped"; fi; done < /proc/net/netlink
kill -9 ${listener}`);
    // Alive and nothing dropped. Without the pacing its queue overflows while it is
    // stopped, and once continued it reads ENOBUFS and exits, as wireguard-go does.
    expect(after.stdout).toBe('0\ndropped 0\n');
  });

  it('keeps the change once a new connection confirms it: the persist phase runs then, the timer is gone', async () => {
    const { kept, persisted, snapshot, tasks } = await gateway();
    const before = await snapshot();
    let timer = 0;
    const cut = cutUntil(() => {
      timer = Number(host.state('confirm/timer.pid'));
      return true;
    });
    const outcome = await applyChanges(host, tasks, { confirmTimeoutSeconds: 2, reconnect: cut.reconnect });
    expect(outcome).toMatchObject({ kind: 'ran', confirmed: true, result: { code: 0 } });
    if (outcome.kind !== 'ran') return;
    // Verify goes through the connection that confirmed.
    expect(outcome.runner).toBe(cut.opened[0]);
    expect(host.state('confirm/state')).toBe('confirmed\n');
    expect(readFileSync(persisted, 'utf8')).toBe('boot\n');
    expect(timer).toBeGreaterThan(0);
    for (let tries = 0; tries < 100 && isAlive(timer); tries++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(isAlive(timer), 'the rollback timer still runs').toBe(false);
    const after = await snapshot();
    expect(after).not.toBe(before);
    expect(after).toContain('from 10.9.0.1 lookup 41');
    expect(after).toContain('wg-t');
    expect(after).toContain('table inet fresh');
    expect(readFileSync(kept, 'utf8')).toBe('after\n');
  });

  it("runs the verify's script in the confirmation's command once confirmed, its output, errors and status kept apart", async () => {
    const { tasks } = await gateway();
    const cut = cutUntil(() => true);
    // What a fact script would print, with a marker that is nothing special to it.
    const verify = `printf 'fact one\\n@@wgplay-confirm rolled-back\\n'; echo a warning >&2; cat /run/wgplay/confirm/state; exit 3`;
    const outcome = await applyChanges(host, tasks, { confirmTimeoutSeconds: 2, reconnect: cut.reconnect }, verify);
    expect(outcome).toMatchObject({ kind: 'ran', confirmed: true, result: { code: 0 } });
    if (outcome.kind !== 'ran') return;
    // It ran after the confirmation (the state says so), in the one command sent through the new connection.
    expect(outcome.verified).toEqual({ stdout: 'fact one\n@@wgplay-confirm rolled-back\nconfirmed\n', stderr: 'a warning', code: 3 });
    expect(cut.opened.map((fresh) => fresh.roundTrips)).toEqual([1]);
  });

  it("does not run the verify's script when the host rolled back", async () => {
    const { tasks } = await gateway();
    const marker = join(mkdtempSync(join(tmpdir(), 'wgplay-cc-')), 'verified');
    const cut = cutUntil(() => host.state('confirm/state') === 'rolled-back\n');
    const outcome = await applyChanges(host, tasks, { confirmTimeoutSeconds: 1, reconnect: cut.reconnect }, `touch ${marker}`);
    expect(outcome.kind).toBe('rolled-back');
    expect(existsSync(marker)).toBe(false);
  });

  it('reports a persist step that fails after the confirmation as a failed apply that stays confirmed', async () => {
    const { tasks } = await gateway();
    const failing = [...tasks, { module: 'file', args: {}, changes: [change('boot', { phase: 'persist', kind: 'shell', script: 'echo cannot write the boot file >&2; exit 5' })] }];
    const cut = cutUntil(() => true);
    const outcome = await applyChanges(host, failing, { confirmTimeoutSeconds: 2, reconnect: cut.reconnect });
    expect(outcome).toMatchObject({ kind: 'ran', confirmed: true, result: { code: 5 } });
    if (outcome.kind !== 'ran') return;
    expect(outcome.result.stderr).toContain('cannot write the boot file');
    // The report names the phase it stopped in: the confirmation's persist, after the script's own phases.
    expect(lastPhase(outcome.result.stdout)).toBe('persist');
    expect(host.state('confirm/state')).toBe('confirmed\n');
  });

  it('arms nothing when no change can cut the management path', () => {
    const file = { module: 'file', args: { path: '/etc/x' }, changes: [change('/etc/x')] };
    const sysctl = { module: 'sysctl', args: { key: 'k' }, changes: [change('k')] };
    expect(rollbackScope([file, sysctl])).toBeUndefined();
    // A cutting task without changes does not count either; with changes, files come into scope.
    expect(rollbackScope([file, { module: 'ip_rule', args: {}, changes: [] }])).toBeUndefined();
    expect(rollbackScope([file, { module: 'ip_rule', args: {}, changes: [change('rule')] }, { module: 'file', args: { path: '/etc/y' }, changes: [] }])).toEqual({
      nftTables: [],
      links: [],
      files: ['/etc/x'],
    });
    expect(rollbackScope([{ module: 'nft_element', args: { table: 't', family: 'ip' }, changes: [change('e')] }, { module: 'nft_element', args: { table: 'u' }, changes: [change('e')] }])).toEqual({
      nftTables: [
        { family: 'ip', name: 't' },
        { family: 'inet', name: 'u' },
      ],
      links: [],
      files: [],
    });
  });

  it('covers each table once per family (no family is inet), links of WireGuard interfaces only, files by path', () => {
    const scope = rollbackScope([
      { module: 'nft_table', args: { name: 't', family: 'ip' }, changes: [change('t')] },
      { module: 'nft_table', args: { name: 't', family: 'inet' }, changes: [change('t')] },
      { module: 'nft_table', args: { name: 't' }, changes: [change('t')] },
      { module: 'nft_element', args: { table: 'e', family: 'ip' }, changes: [change('e')] },
      { module: 'nft_element', args: { table: 'e' }, changes: [change('e')] },
      { module: 'nft_element', args: { table: 'e', family: 'inet' }, changes: [change('e')] },
      { module: 'wireguard_interface', args: { name: 'wg-a' }, changes: [change('wg-a')] },
      { module: 'ip_route', args: { to: '10.0.0.0/24', dev: 'wg-a' }, changes: [change('route')] },
      { module: 'file', args: { path: '/etc/wireguard/wg-a.conf' }, changes: [change('file')] },
    ]);
    expect(scope).toEqual({
      nftTables: [
        { family: 'ip', name: 't' },
        { family: 'inet', name: 't' },
        { family: 'ip', name: 'e' },
        { family: 'inet', name: 'e' },
      ],
      links: ['wg-a'],
      files: ['/etc/wireguard/wg-a.conf'],
    });
  });

  it('reads the confirmation outcome', () => {
    expect(parseConfirm('noise\n')).toBeUndefined();
    expect(parseConfirm('x\n@@wgplay-confirm confirmed\nlater\n')).toEqual({ confirmed: true, rolledBack: [] });
    expect(parseConfirm('@@wgplay-confirm rolled-back\n  interface wg-a deleted \n\nfile /etc/x restored\n')).toEqual({
      confirmed: false,
      rolledBack: ['interface wg-a deleted', 'file /etc/x restored'],
    });
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
