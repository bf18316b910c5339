// The detached apply run for real (bash, setsid) against a scratch /run/wgplay: what it
// leaves on the host, what a lost connection does to it, and applyChanges on top of it.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { applyChanges } from '../../src/engine/apply.js';
import { PHASE_MARKER, phaseSeconds } from '../../src/engine/compile.js';
import { ALIVE_MARKER, collectScript, detachedApplyScript, newRunId, withoutAliveMarkers } from '../../src/engine/detachedApply.js';
import { TransportError } from '../../src/transport/types.js';
import type { Change } from '../../src/tasks/types.js';
import { EMPTY, FakeHost } from './fakeHost.js';
import { ScratchHost } from './scratchHost.js';

let host: ScratchHost;
afterEach(() => host?.destroy());

const fileChange = (path: string, content: string): Change => ({
  resource: `file ${path}`,
  action: 'create',
  diff: `+${content}`,
  steps: [{ phase: 'prepare', kind: 'shell', script: `printf '%s\\n' '${content}' > ${path}` }],
});

describe('detached apply', () => {
  it('runs the script in its own session and keeps its owner, output, errors and exit status on the host', async () => {
    host = await ScratchHost.create();
    const id = newRunId();
    const result = await host.run(detachedApplyScript('echo to-out\necho to-err >&2\nexit 3', id, 'at T by ops@ctl (pid 9)'));
    expect(result).toMatchObject({ code: 3, stdout: 'to-out\n', stderr: 'to-err\n' });
    expect(host.state('run/rc')).toBe('3\n');
    expect(host.state('run/out')).toBe('to-out\n');
    expect(host.state('run/err')).toBe('to-err\n');
    expect(host.state('run/owner')).toBe('at T by ops@ctl (pid 9)\n');
    expect(host.state('run/id')).toBe(`${id}\n`);
    // The script itself is not left behind; the next run starts from a clean folder.
    expect(host.state('run/apply.sh')).toBeUndefined();
    const next = await host.run(detachedApplyScript('echo second', newRunId(), 'me'));
    expect(next).toMatchObject({ code: 0, stdout: 'second\n' });
    expect(host.state('run/err')).toBe('');
  });

  it('goes on when its connection is lost; a new connection collects how it ended', async () => {
    host = await ScratchHost.create();
    const marker = join(host.root, 'finished');
    const id = newRunId();
    const connection = host.spawnBash(['-s']);
    let seen = '';
    const alive = new Promise<void>((resolve) =>
      connection.stdout!.on('data', (d: Buffer) => {
        seen += d.toString();
        if (seen.includes(ALIVE_MARKER)) resolve();
      }),
    );
    connection.stdin!.end(host.local(detachedApplyScript(`sleep 1.5; echo done > ${marker}; echo its-output; exit 4`, id, 'me')));
    // Signs of life while it runs, then the connection dies (the whole process group).
    await alive;
    process.kill(-connection.pid!, 'SIGKILL');
    expect(existsSync(marker)).toBe(false);
    const collected = await host.connection().run(collectScript(id));
    expect(collected).toMatchObject({ code: 4, stdout: 'its-output\n' });
    expect(readFileSync(marker, 'utf8')).toBe('done\n');
  });

  it('refuses to collect a run that is not the host\'s last one', async () => {
    host = await ScratchHost.create();
    await host.run(detachedApplyScript('true', newRunId(), 'me'));
    const other = newRunId();
    const result = await host.run(collectScript(other));
    expect(result.code).toBe(71);
    expect(result.stderr).toContain(`the apply run ${other} is not the host's last one`);
  });

  it('runs nothing when the command arrives truncated', async () => {
    host = await ScratchHost.create();
    const marker = join(host.root, 'ran');
    const script = detachedApplyScript(`echo ran > ${marker}`, newRunId(), 'me');
    const result = await host.run(script.slice(0, script.lastIndexOf('}')));
    expect(result.code).not.toBe(0);
    expect(existsSync(marker)).toBe(false);
    expect(host.state('run/id')).toBeUndefined();
  });

  it('drops only the signs of life from the output', () => {
    expect(withoutAliveMarkers(`a\n${ALIVE_MARKER}\n${ALIVE_MARKER}x\nb\n${ALIVE_MARKER}\n`)).toBe(`a\n${ALIVE_MARKER}x\nb\n`);
  });
});

describe('applyChanges', () => {
  it('runs every change on the host in one detached script and reports its output without the signs of life', async () => {
    host = await ScratchHost.create();
    const dir = mkdtempSync(join(tmpdir(), 'wgplay-apply-'));
    const slow: Change = { resource: 'slow', action: 'create', diff: '+slow', steps: [{ phase: 'routing', kind: 'shell', script: 'sleep 1.2' }] };
    const outcome = await applyChanges(host, [{ module: 'file', args: {}, changes: [fileChange(join(dir, 'a'), 'A'), slow, fileChange(join(dir, 'b'), 'B')] }], {
      confirmTimeoutSeconds: 0,
      owner: 'the owner',
    });
    expect(outcome.kind).toBe('ran');
    if (outcome.kind !== 'ran') return;
    expect(outcome.result.code).toBe(0);
    expect(outcome.confirmed).toBe(false);
    const markers = outcome.result.stdout.split('\n').filter(Boolean);
    expect(markers.map((line) => line.replace(/ [0-9]+[.,][0-9]+$/, ''))).toEqual([`${PHASE_MARKER}prepare`, `${PHASE_MARKER}routing`, `${PHASE_MARKER}done`]);
    // Each marker carries the host's clock: what each phase took.
    expect(Object.keys(phaseSeconds(outcome.result.stdout) ?? {})).toEqual(['prepare', 'routing']);
    expect(readFileSync(join(dir, 'a'), 'utf8')).toBe('A\n');
    expect(readFileSync(join(dir, 'b'), 'utf8')).toBe('B\n');
    expect(host.state('run/owner')).toBe('the owner\n');
    expect(host.roundTrips).toBe(1);
  });

  it('reports a lost connection as lost (the script goes on on the host)', async () => {
    const closed = { run: async () => Promise.reject(new TransportError('unreachable', 'gw', 'connection reset by peer')) };
    const outcome = await applyChanges(closed, [{ module: 'file', args: {}, changes: [fileChange('/nonexistent/x', 'x')] }], { confirmTimeoutSeconds: 60 });
    expect(outcome).toEqual({ kind: 'lost', why: 'connection reset by peer', armed: false });
  });

  it('reads the result through a new connection when the apply\'s own connection stalls', async () => {
    host = await ScratchHost.create();
    const dir = mkdtempSync(join(tmpdir(), 'wgplay-apply-'));
    // The first connection goes silent once the script has started (its packets stop arriving).
    const stalling = {
      run: (script: string) =>
        new Promise<never>((_, reject) => {
          const child = host.spawnBash(['-s']);
          child.stdout!.once('data', () => {
            process.kill(-child.pid!, 'SIGKILL');
            reject(new TransportError('stalled', 'gw', 'apply: no output for 5 s'));
          });
          child.stdin!.end(host.local(script));
        }),
    };
    const reconnects: ScratchHost[] = [];
    const change: Change = { ...fileChange(join(dir, 'late'), 'L'), steps: [{ phase: 'links', kind: 'shell', script: `sleep 1.5; printf 'L\\n' > ${join(dir, 'late')}` }] };
    const outcome = await applyChanges(stalling, [{ module: 'file', args: {}, changes: [change] }], {
      confirmTimeoutSeconds: 0,
      reconnect: async () => {
        const fresh = host.connection();
        reconnects.push(fresh);
        return fresh;
      },
    });
    expect(outcome.kind).toBe('ran');
    if (outcome.kind !== 'ran') return;
    expect(outcome.result.code).toBe(0);
    expect(outcome.result.stdout).not.toContain(ALIVE_MARKER);
    expect(outcome.result.stdout).toContain(`${PHASE_MARKER}done`);
    expect(outcome.runner).toBe(reconnects[0]);
    expect(readFileSync(join(dir, 'late'), 'utf8')).toBe('L\n');
  });

  describe('when no new connection can be opened (time simulated)', () => {
    afterEach(() => vi.useRealTimers());
    const cutting = [{ module: 'ip_rule', args: {}, changes: [fileChange('/nonexistent/x', 'x')] }];
    const neverReachable = () => {
      let tries = 0;
      return {
        get tries() {
          return tries;
        },
        reconnect: async () => {
          tries++;
          throw new TransportError('unreachable', 'gw', 'connect ETIMEDOUT');
        },
      };
    };

    it('an armed change is reported unconfirmed after the confirm timeout and the rollback\'s time, with how long it tried', async () => {
      vi.useFakeTimers();
      const cut = neverReachable();
      const pending = applyChanges(new FakeHost(EMPTY), cutting, { confirmTimeoutSeconds: 10, reconnect: cut.reconnect });
      await vi.advanceTimersByTimeAsync(29_000);
      let settled = false;
      void pending.then(() => (settled = true));
      await vi.advanceTimersByTimeAsync(0);
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(3_000);
      expect(await pending).toEqual({ kind: 'unconfirmed', why: 'host gw: connect ETIMEDOUT', waitedSeconds: 31 });
      expect(cut.tries).toBe(32);
    });

    it('a stalled apply that nothing armed is reported lost once its result cannot be fetched', async () => {
      vi.useFakeTimers();
      const cut = neverReachable();
      const stalled = { run: async () => Promise.reject(new TransportError('stalled', 'gw', 'apply: no output for 5 s')) };
      const pending = applyChanges(stalled, cutting, { confirmTimeoutSeconds: 0, reconnect: cut.reconnect });
      await vi.advanceTimersByTimeAsync(22_000);
      expect(await pending).toEqual({ kind: 'lost', why: 'host gw: connect ETIMEDOUT', armed: false });
    });
  });

  it('fails when the confirmation prints no outcome, and passes on an error that is not the connection\'s', async () => {
    const silent = new FakeHost(EMPTY, undefined, () => ({ code: 2, stderr: 'bash: line 3: syntax error near unexpected token' }));
    const cutting = [{ module: 'ip_rule', args: {}, changes: [fileChange('/nonexistent/x', 'x')] }];
    await expect(applyChanges(silent, cutting, { confirmTimeoutSeconds: 5, reconnect: async () => ({ run: silent.run.bind(silent), close: async () => undefined }) })).rejects.toThrow(
      'the confirmation printed no outcome (exit 2): bash: line 3: syntax error near unexpected token',
    );
    await expect(applyChanges(silent, cutting, { confirmTimeoutSeconds: 5, reconnect: async () => Promise.reject(new Error('no such key file')) })).rejects.toThrow('no such key file');
    const broken = { run: async () => Promise.reject(new Error('a bug')) };
    await expect(applyChanges(broken, cutting, { confirmTimeoutSeconds: 5 })).rejects.toThrow('a bug');
  });
});

