// The host lock's holder script run for real (bash, flock) against a scratch /run/wgplay.
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HostBusyError, lockOwner, takeHostLock } from '../../src/engine/hostLock.js';
import { ScratchHost } from './scratchHost.js';

const OWNER = 'at 2026-12-01T12:00:00Z by ops@controller (pid 4242)';
let host: ScratchHost;
afterEach(() => host?.destroy());

/** What an earlier apply left in /run/wgplay/run (and confirm/) when its connection was lost. */
function leftBehind(h: ScratchHost, run: { rc?: string; out?: string; confirm?: string; owner?: string }) {
  mkdirSync(join(h.stateDir, 'run'), { recursive: true });
  if (run.rc !== undefined) writeFileSync(join(h.stateDir, 'run/rc'), `${run.rc}\n`);
  writeFileSync(join(h.stateDir, 'run/out'), run.out ?? '');
  if (run.owner !== undefined) writeFileSync(join(h.stateDir, 'run/owner'), `${run.owner}\n`);
  if (run.confirm !== undefined) {
    mkdirSync(join(h.stateDir, 'confirm'), { recursive: true });
    writeFileSync(join(h.stateDir, 'confirm/state'), `${run.confirm}\n`);
  }
}

describe('host lock', () => {
  it('names its holder, refuses a second apply with that name, and frees the host on release', async () => {
    host = await ScratchHost.create();
    const owner = lockOwner(new Date('2026-12-01T12:00:00.123Z'));
    const lock = await takeHostLock(host, { owner });
    expect(lock.previous).toBeUndefined();
    expect(host.state('apply.owner')).toBe(`${owner}\n`);
    const busy = takeHostLock(host, { owner: 'someone else' });
    await expect(busy).rejects.toBeInstanceOf(HostBusyError);
    await expect(busy).rejects.toThrow(`host busy: an apply started at ${owner}`);
    await lock.release();
    expect(host.state('apply.owner')).toBeUndefined();
    const next = await takeHostLock(host, { owner: 'the next apply' });
    expect(host.state('apply.owner')).toBe('the next apply\n');
    await next.release();
  });

  it('waits up to --lock-timeout: gets the host once the holder releases, else gives up naming the holder', async () => {
    host = await ScratchHost.create();
    const first = await takeHostLock(host, { owner: OWNER });
    await expect(takeHostLock(host, { owner: 'impatient', waitSeconds: 1 })).rejects.toThrow(`host busy: an apply started ${OWNER}`);
    const waiting = takeHostLock(host, { owner: 'patient', waitSeconds: 20 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await first.release();
    const second = await waiting;
    expect(host.state('apply.owner')).toBe('patient\n');
    await second.release();
  });

  it('runs the script it is given once it holds the lock, in the same command: output, errors and status as the script left them', async () => {
    host = await ScratchHost.create();
    // Larger than one command-line argument may be (128 KiB): it travels on the holder's standard input.
    const filler = `# ${'x'.repeat(200)}\n`.repeat(1000);
    const script = `${filler}printf 'facts\\n'; printf 'no newline at the end'; echo 'it went wrong' >&2; exit 4`;
    const lock = await takeHostLock(host, { owner: OWNER, script });
    expect(lock.ran).toEqual({ stdout: 'facts\nno newline at the end', stderr: 'it went wrong', code: 4 });
    expect(host.roundTrips).toBe(1);
    // Still held after the script: a second apply is refused, and its script never runs.
    const marker = join(host.root, 'ran');
    await expect(takeHostLock(host, { owner: 'someone else', script: `touch ${marker}` })).rejects.toBeInstanceOf(HostBusyError);
    expect(existsSync(marker)).toBe(false);
    await lock.release();
  });

  it('says who holds it in its own words: time, user, controller, pid', () => {
    expect(lockOwner(new Date('2026-12-01T12:34:56.789Z'))).toMatch(/^2026-12-01T12:34:56Z by .+@.+ \(pid \d+\)$/);
    expect(lockOwner(new Date('2026-12-01T12:34:56.789Z'))).toContain(`(pid ${process.pid})`);
  });

  it('reports, once, an earlier apply whose connection was lost before wgplay could report it', async () => {
    host = await ScratchHost.create();
    const phases = '@@wgplay-phase prepare\nsome output\n@@wgplay-phase routing\n';
    const cases: [Parameters<typeof leftBehind>[1], string][] = [
      [
        { rc: '2', out: phases, confirm: 'rolled-back', owner: 'at T1 by a@c (pid 1)' },
        'the previous apply (started at at T1 by a@c (pid 1)) lost its connection before wgplay could report it; on the host it ended with exit 2 after phase "routing"; it was rolled back (not confirmed in time)',
      ],
      [{ out: phases, confirm: 'armed', owner: 'T2 by b@c (pid 2)' }, 'on the host it was still running; its rollback timer is armed'],
      [{ rc: '0', out: '', owner: 'T3|with|bars' }, 'the previous apply (started at T3|with|bars) lost its connection before wgplay could report it; on the host it ended with exit 0'],
      [{ rc: '0', out: phases, confirm: 'confirmed' }, 'the previous apply (started at an unknown time) lost its connection before wgplay could report it; on the host it ended with exit 0 after phase "routing"'],
    ];
    for (const [run, previous] of cases) {
      leftBehind(host, run);
      const lock = await takeHostLock(host, { owner: OWNER });
      if (previous.startsWith('the previous')) expect(lock.previous).toBe(previous);
      else expect(lock.previous).toContain(previous);
      await lock.release();
      // Reported: the next apply does not report it again.
      const again = await takeHostLock(host, { owner: OWNER });
      expect(again.previous).toBeUndefined();
      await again.release();
      host.reset();
    }
  });

  it('stays held until the detached apply and the rollback timer it left running have ended', async () => {
    host = await ScratchHost.create();
    const lock = await takeHostLock(host, { owner: OWNER });
    // The detached apply script and the commit-confirmed timer, as their pid files name them.
    const started = await host.run(
      `mkdir -p /run/wgplay/run /run/wgplay/confirm
setsid sleep 1 </dev/null >/dev/null 2>&1 & echo $! > /run/wgplay/run/pid
setsid sleep 1.5 </dev/null >/dev/null 2>&1 & echo $! > /run/wgplay/confirm/timer.pid`,
    );
    expect(started.code).toBe(0);
    const pids = [host.state('run/pid'), host.state('confirm/timer.pid')].map(Number);
    await lock.release();
    for (const pid of pids) expect(() => process.kill(pid, 0), `pid ${pid} still runs`).toThrow();
    expect(host.state('apply.owner')).toBeUndefined();
    // The apply reported itself (`done`): the next run does not report it as lost.
    expect(host.state('run/reported')).toBe('');
  });

  it.each([
    ['the detached apply', 'run/pid', 'run'],
    ['the rollback timer', 'confirm/timer.pid', 'confirm'],
  ])('stays held while %s alone runs', async (_what, pidFile, folder) => {
    host = await ScratchHost.create();
    const lock = await takeHostLock(host, { owner: OWNER });
    const started = await host.run(`mkdir -p /run/wgplay/${folder}\nsetsid sleep 1 </dev/null >/dev/null 2>&1 & echo $! > /run/wgplay/${pidFile}`);
    expect(started.code).toBe(0);
    const pid = Number(host.state(pidFile));
    await lock.release();
    expect(() => process.kill(pid, 0), `pid ${pid} still runs`).toThrow();
  });

  it('fails with what to install when the host has no flock', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'wgplay-noflock-'));
    for (const tool of ['mkdir', 'cat']) symlinkSync(`/bin/${tool}`, join(bin, tool));
    host = await ScratchHost.create({ env: { ...process.env, PATH: bin } });
    await expect(takeHostLock(host)).rejects.toThrow("could not take the host's apply lock (exit 69): the host has no flock (util-linux): wgplay needs it for its apply lock");
  });
});
