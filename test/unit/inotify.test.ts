// The inotify check before wireguard-go daemons start (src/engine/inotify.ts): planned
// against facts that show a low limit (this machine's limit is shared by everyone on
// it and is never lowered by a test), and the fact section read from this machine.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileApplyScript } from '../../src/engine/compile.js';
import { INOTIFY_LIMIT_KEY, inotifyFactRequest } from '../../src/engine/inotify.js';
import { planTasks, prepareTasks } from '../../src/engine/run.js';
import { blankFacts } from '../../src/facts/blankFacts.js';
import { wgPrinting } from './fakeWg.js';
import { buildFactScript } from '../../src/facts/factScript.js';
import { parseFacts } from '../../src/facts/parse.js';
import type { HostFacts } from '../../src/facts/types.js';
import type { TaskInvocation } from '../../src/tasks/types.js';

const interfaces = (count: number): TaskInvocation[] =>
  Array.from({ length: count }, (_, index) => ({ name: `wg ${index}`, module: 'wireguard_interface', args: { name: `wg-c${index}` } }));

const factsWith = (limit: string, inUse: number, kernelWireguard = false, more: Partial<HostFacts> = {}) =>
  blankFacts({
    sysctls: { [INOTIFY_LIMIT_KEY]: limit },
    inotify: { kernelWireguard, instancesInUse: inUse },
    ...more,
  });

const plan = (invocations: TaskInvocation[], facts: HostFacts) => planTasks(prepareTasks(invocations, facts), facts);

describe('inotify limit before wireguard-go daemons start', () => {
  it('raises the limit, live and persisted, in the prepare phase, before the first daemon starts', () => {
    const results = plan(interfaces(200), factsWith('128', 10));
    const raise = results[0];
    expect(raise.module).toBe('sysctl');
    expect(raise.error).toBeUndefined();
    expect(raise.name).toContain('200 new wireguard-go daemon(s)');
    expect(raise.changes.map((change) => change.resource)).toEqual([`sysctl ${INOTIFY_LIMIT_KEY}`, `file /etc/sysctl.d/90-wgplay-${INOTIFY_LIMIT_KEY}.conf`]);
    expect(raise.changes[0].diff).toBe(`- ${INOTIFY_LIMIT_KEY} = 128\n+ ${INOTIFY_LIMIT_KEY} = 338`);
    const script = compileApplyScript(results.flatMap((result) => result.changes));
    const raised = script.indexOf(`sysctl -q -w ${INOTIFY_LIMIT_KEY}=338`);
    expect(raised).toBeGreaterThan(0);
    expect(script.indexOf('wgplay_wg_up new ')).toBeGreaterThan(raised);
    expect(script).toContain(`${INOTIFY_LIMIT_KEY} = 338`);
  });

  it('counts the instances already in use and only the interfaces it creates', () => {
    const live = factsWith('128', 100, false, {
      links: [{ name: 'lo', up: true }, ...interfaces(20).map((_, index) => ({ name: `wg-c${index}`, kind: 'tun', up: true }))],
      wg: Object.fromEntries(interfaces(20).map((_, index) => [`wg-c${index}`, { name: `wg-c${index}`, listenPort: 51820 + index, peers: [] }])),
    });
    // 20 exist, 8 are new: 108 <= 128.
    expect(plan(interfaces(28), live).some((result) => result.name.includes('inotify'))).toBe(false);
    // 20 exist, 29 new: 129 > 128.
    expect(plan(interfaces(49), live)[0].name).toContain('29 new wireguard-go daemon(s)');
  });

  it('changes nothing when the kernel has WireGuard or there is room', () => {
    expect(plan(interfaces(200), factsWith('128', 10, true)).some((result) => result.module === 'sysctl')).toBe(false);
    expect(plan(interfaces(100), factsWith('1024', 10)).some((result) => result.module === 'sysctl')).toBe(false);
  });

  it("refuses, naming the task and the value to set, when the playbook's own sysctl task sets too little", () => {
    const own: TaskInvocation = { name: 'limit', module: 'sysctl', args: { key: INOTIFY_LIMIT_KEY, value: 150 }, origin: 'play.yaml:3:5' };
    const results = plan([own, ...interfaces(200)], factsWith('128', 10));
    expect(results[0].error).toBe(
      `200 new wireguard-go daemon(s) need 200 inotify instance(s); 10 of ${INOTIFY_LIMIT_KEY} = 128 are in use, and task "limit" (play.yaml:3:5) sets it to 150: set it to at least 210; nothing was changed`,
    );
    const enough = plan([{ ...own, args: { key: INOTIFY_LIMIT_KEY, value: 210 } }, ...interfaces(200)], factsWith('128', 10));
    expect(enough.every((result) => !result.error)).toBe(true);
    expect(enough.filter((result) => result.module === 'sysctl')).toHaveLength(1);
  });

  it('refuses to guess when the host did not count because its interfaces changed while it was read', () => {
    const uncounted = blankFacts({ sysctls: { [INOTIFY_LIMIT_KEY]: '128' }, inotify: { kernelWireguard: false } });
    expect(plan(interfaces(2), uncounted)[0]).toMatchObject({ name: 'room for wireguard-go daemons', module: 'sysctl', changes: [] });
    expect(plan(interfaces(2), uncounted)[0].error).toMatch(/interfaces changed while wgplay read them.*run again; nothing was changed/);
  });

  it('counts only when a daemon may start (an interface missing, or not in the WireGuard dump): walking every descriptor is slow', () => {
    // `lo` stands for an interface that exists; a wg stand-in lists it as running, or not.
    const folder = mkdtempSync(join(tmpdir(), 'wgplay-inotify-'));
    const read = (ifMissing: string[], running: boolean) => {
      const wg = wgPrinting(join(folder, String(running)), running ? 'lo\t(none)\t(none)\t51820\toff\n' : '');
      const script = buildFactScript({ inotify: { ifMissing } }).replace('m facts 1', `${wg}\nm facts 1`);
      return parseFacts(execFileSync('bash', ['-s'], { input: script, encoding: 'utf8' })).inotify;
    };
    try {
      expect(read(['lo'], true)).toEqual({ kernelWireguard: existsSync('/sys/module/wireguard') });
      expect(read(['lo'], false)?.instancesInUse).toBeGreaterThanOrEqual(0);
      expect(read(['lo', 'wgt-nosuchif'], true)?.instancesInUse).toBeGreaterThanOrEqual(0);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it("reads the limit and the instances in use from this machine's fact script", async () => {
    // GNU `tail -f` on a file holds one inotify instance of this user while it runs.
    const folder = mkdtempSync(join(tmpdir(), 'wgplay-inotify-'));
    writeFileSync(join(folder, 'watched'), '');
    const tail = spawn('tail', ['-f', join(folder, 'watched')], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const output = execFileSync('bash', ['-s'], { input: buildFactScript({ inotify: true, sysctls: [INOTIFY_LIMIT_KEY] }), encoding: 'utf8' });
      const facts = parseFacts(output);
      expect(facts.sysctls[INOTIFY_LIMIT_KEY]).toBe(readFileSync('/proc/sys/fs/inotify/max_user_instances', 'utf8').trim());
      expect(facts.inotify?.instancesInUse).toBeGreaterThanOrEqual(1);
      expect(facts.inotify?.kernelWireguard).toBe(existsSync('/sys/module/wireguard'));
    } finally {
      tail.kill();
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('inotify limit: the edges', () => {
  // The alias wgplay gives the TUNs it creates (`ip link` shows it).
  const TUN_ALIAS = 'wgplay';
  const raises = (invocations: TaskInvocation[], facts: HostFacts) => plan(invocations, facts).some((result) => result.name.includes(INOTIFY_LIMIT_KEY) || result.name.includes('wireguard-go daemons'));

  it('raises it only past the limit: in use plus new daemons equal to the limit still fit', () => {
    expect(raises(interfaces(100), factsWith('128', 28))).toBe(false);
    expect(raises(interfaces(101), factsWith('128', 28))).toBe(true);
    expect(raises(interfaces(100), factsWith(' 128\n', 29))).toBe(true);
  });

  it('counts our own idle TUN (its daemon gone) as a daemon to start, not interfaces being removed', () => {
    const idle = factsWith('10', 10, false, { links: [{ name: 'wg-c0', kind: 'tun', up: false, alias: TUN_ALIAS }] });
    expect(plan(interfaces(1), idle)[0]!.name).toContain('1 new wireguard-go daemon(s)');
    // Another program's TUN of that name is not ours to start a daemon on.
    const foreign = factsWith('10', 10, false, { links: [{ name: 'wg-c0', kind: 'tun', up: false }] });
    expect(plan(interfaces(1), foreign).some((result) => result.name.includes('wireguard-go daemon'))).toBe(false);
    const removed: TaskInvocation[] = interfaces(3).map((invocation) => ({ ...invocation, args: { ...(invocation.args as object), state: 'absent' } }));
    expect(raises(removed, factsWith('10', 10))).toBe(false);
  });

  it('says nothing without a limit to read (no such sysctl, or not a number)', () => {
    expect(raises(interfaces(200), blankFacts({ inotify: { kernelWireguard: false, instancesInUse: 10 } }))).toBe(false);
    expect(raises(interfaces(200), factsWith('many', 10))).toBe(false);
    expect(raises(interfaces(200), blankFacts({ sysctls: { [INOTIFY_LIMIT_KEY]: '128' } }))).toBe(false);
    // The host reported the key missing (a kernel without it).
    expect(raises(interfaces(200), blankFacts({ sysctls: { [INOTIFY_LIMIT_KEY]: null }, inotify: { kernelWireguard: false, instancesInUse: 10 } }))).toBe(false);
  });

  it('starts no daemon, so asks for nothing, when every interface runs already, even on a host past its limit', () => {
    const running = factsWith('128', 300, false, {
      links: interfaces(2).map((_, index) => ({ name: `wg-c${index}`, kind: 'tun', up: true })),
      wg: Object.fromEntries(interfaces(2).map((_, index) => [`wg-c${index}`, { name: `wg-c${index}`, listenPort: 51820 + index, peers: [] }])),
    });
    expect(raises(interfaces(2), running)).toBe(false);
  });

  it("takes only a sysctl task of this key for the playbook's own setting", () => {
    const other: TaskInvocation = { name: 'forward', module: 'sysctl', args: { key: 'net.ipv4.ip_forward', value: 1 } };
    const results = plan([other, ...interfaces(200)], factsWith('128', 10));
    expect(results[0]!.module).toBe('sysctl');
    expect(results[0]!.error).toBeUndefined();
    expect(results[0]!.name).toContain(`raise ${INOTIFY_LIMIT_KEY}`);
    const own: TaskInvocation = { name: 'limit', module: 'sysctl', args: { key: INOTIFY_LIMIT_KEY, value: 150 } };
    expect(plan([own, ...interfaces(200)], factsWith('128', 10))[0]).toMatchObject({ name: 'room for wireguard-go daemons', module: 'sysctl', changes: [] });
  });

  it("names the playbook's own sysctl task without a place when it has none", () => {
    const own: TaskInvocation = { name: 'limit', module: 'sysctl', args: { key: INOTIFY_LIMIT_KEY, value: ' 150 ' } };
    expect(plan([own, ...interfaces(200)], factsWith('128', 10))[0]!.error).toContain('and task "limit" sets it to 150: set it to at least 210');
  });

  it('asks the host for the limit, its boot file and the count only for plays with interfaces to have', () => {
    expect(inotifyFactRequest(interfaces(2))).toEqual({
      inotify: { ifMissing: ['wg-c0', 'wg-c1'] },
      sysctls: [INOTIFY_LIMIT_KEY],
      files: [{ path: `/etc/sysctl.d/90-wgplay-${INOTIFY_LIMIT_KEY}.conf` }],
    });
    expect(inotifyFactRequest([{ name: 'gone', module: 'wireguard_interface', args: { name: 'wg-x', state: 'absent' } }, { name: 'r', module: 'sysctl', args: { key: 'a.b', value: 1 } }])).toEqual({});
  });
});
