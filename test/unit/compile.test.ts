// The apply script (src/engine/compile.ts) run for real by bash, without root: `ip` and
// `nft` on PATH are stand-ins that write down the batch they were given, every shell
// step writes down its name. What it checks is the order an apply makes its changes in,
// where it stops when a step fails, and what the phase markers then tell the report.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileAfterConfirm, compileApplyScript, lastPhase, phaseSeconds, withLaterPhases } from '../../src/engine/compile.js';
import type { Change, Step } from '../../src/tasks/types.js';

let dir = '';
const journal = () => readFileSync(join(dir, 'journal'), 'utf8').trimEnd().split('\n');

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wgplay-compile-'));
  mkdirSync(join(dir, 'bin'));
  for (const tool of ['ip', 'nft']) {
    writeFileSync(join(dir, 'bin', tool), `#!/bin/bash\n{ echo "${tool} $*"; sed 's/^/  /'; } >> "$JOURNAL"\n`);
    chmodSync(join(dir, 'bin', tool), 0o755);
  }
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function run(script: string) {
  const ran = spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { PATH: `${join(dir, 'bin')}:${process.env.PATH}`, JOURNAL: join(dir, 'journal'), SHLVL: '2' } });
  return { code: ran.status, stdout: ran.stdout, stderr: ran.stderr };
}

const say = (name: string, placement: Pick<Step, 'phase' | 'stage'>, once?: string): Step =>
  ({ kind: 'shell', script: `echo ${name} >> "$JOURNAL"`, ...placement, ...(once ? { once } : {}) }) as Step;
const change = (...steps: Step[]): Change => ({ resource: 'r', action: 'update', diff: '', steps });

describe('the apply script, run', () => {
  it('makes the changes phase by phase; within one, shell steps, then one ip batch, then one nft transaction, each by stage, then in plan order', () => {
    const changes = [
      change(
        { kind: 'nft', phase: 'firewall', stage: 'element additions', line: 'add element inet t s { 1 }' },
        { kind: 'ip', phase: 'routing', line: 'route replace 10.0.0.1 dev wg-a table 41' },
        say('persist-file', { phase: 'persist', stage: 'files' }),
        say('prepare-committed', { phase: 'prepare', stage: 'files committed' }),
      ),
      change(
        say('prepare-first', { phase: 'prepare' }),
        { kind: 'nft', phase: 'firewall', stage: 'tables', line: 'add table inet t { comment "$HOME" ; }' },
        { kind: 'ip', phase: 'routing', line: 'rule add from 10.0.0.1 table 41 priority 100' },
        say('prepare-keys', { phase: 'prepare', stage: 'keys' }),
        say('links', { phase: 'links' }),
        say('prepare-changes', { phase: 'prepare', stage: 'changes' }),
      ),
    ];
    const result = run(compileApplyScript(changes));
    expect(result.code, result.stderr).toBe(0);
    expect(journal()).toEqual([
      'prepare-first',
      'prepare-changes',
      'prepare-keys',
      'prepare-committed',
      'links',
      'ip -batch -',
      '  route replace 10.0.0.1 dev wg-a table 41',
      '  rule add from 10.0.0.1 table 41 priority 100',
      'nft -f -',
      // Passed as written: nothing in a line is expanded by the shell.
      '  add table inet t { comment "$HOME" ; }',
      '  add element inet t s { 1 }',
      'persist-file',
    ]);
    expect(lastPhase(result.stdout)).toBe('done');
    // Only the phases that had something to do are announced, each with what it took.
    const seconds = phaseSeconds(result.stdout)!;
    expect(Object.keys(seconds)).toEqual(['prepare', 'links', 'routing', 'firewall', 'persist']);
    for (const value of Object.values(seconds)) expect(value).toBeGreaterThanOrEqual(0);
  });

  it("runs a step that several changes share (a table's boot file, systemd told) once, at the first one's place", () => {
    const reload = (name: string) => say(name, { phase: 'persist', stage: 'daemon reload' }, 'systemctl daemon-reload');
    const result = run(compileApplyScript([change(reload('reload'), say('unit', { phase: 'persist', stage: 'unit links' })), change(reload('reload-again'), say('unit-2', { phase: 'persist', stage: 'unit links' }))]));
    expect(result.code, result.stderr).toBe(0);
    expect(journal()).toEqual(['unit', 'unit-2', 'reload']);
  });

  it('stops at the first failing step: later steps and phases do not run, and the last marker names the phase', () => {
    const result = run(
      compileApplyScript([
        change(say('prepare', { phase: 'prepare' }), { kind: 'shell', phase: 'routing', script: 'false' }, say('routing-after', { phase: 'routing' }), say('persist', { phase: 'persist' })),
      ]),
    );
    expect(result.code).not.toBe(0);
    expect(journal()).toEqual(['prepare']);
    expect(lastPhase(result.stdout)).toBe('routing');
    expect(phaseSeconds(result.stdout)).toBeUndefined();
  });

  it('under commit-confirmed, arms before any change and leaves the persist phase to the confirmation', () => {
    const changes = [change(say('route', { phase: 'routing' }), say('boot-file', { phase: 'persist' }))];
    const arm = `echo armed >> "$JOURNAL"`;
    const applied = run(compileApplyScript(changes, arm));
    expect(applied.code, applied.stderr).toBe(0);
    expect(journal()).toEqual(['armed', 'route']);
    const confirmed = run(compileAfterConfirm(changes));
    expect(confirmed.code, confirmed.stderr).toBe(0);
    expect(journal()).toEqual(['armed', 'route', 'boot-file']);
    // The confirmation's markers follow the apply's: the report shows every phase's time.
    expect(lastPhase(confirmed.stdout)).toBe('done');
    const both = withLaterPhases(applied.stdout, confirmed.stdout);
    expect(lastPhase(both)).toBe('done');
    expect(Object.keys(phaseSeconds(both) ?? {})).toEqual(['routing', 'persist']);
    // Nothing to persist: nothing to run after the confirmation.
    expect(compileAfterConfirm([change(say('route', { phase: 'routing' }))])).toBe('');
  });

  it('a failing persist step after the confirmation fails the confirmation, naming the phase', () => {
    const confirmed = run(compileAfterConfirm([change({ kind: 'shell', phase: 'persist', script: 'false' }, say('after', { phase: 'persist' }))]));
    expect(confirmed.code).not.toBe(0);
    expect(lastPhase(confirmed.stdout)).toBe('persist');
  });
});

describe('phase markers', () => {
  it('read the host clock in either decimal notation and round what each phase took to the millisecond', () => {
    const marked = '@@wgplay-phase links 1764600000,1000004\n@@wgplay-phase done 1764600000,3500008\nnoise @@wgplay-phase x\n';
    expect(phaseSeconds(marked)).toEqual({ links: 0.25 });
    expect(lastPhase(marked)).toBe('done');
    // The confirmation's markers (only them) follow the apply's output on a line of their own.
    expect(withLaterPhases('@@wgplay-phase routing 1', 'confirmed\n@@wgplay-phase persist 2\n@@wgplay-phase done 3\n')).toBe('@@wgplay-phase routing 1\n@@wgplay-phase persist 2\n@@wgplay-phase done 3\n');
    expect(withLaterPhases('', '@@wgplay-phase done 3')).toBe('@@wgplay-phase done 3\n');
    expect(withLaterPhases('out\n', 'confirmed\n')).toBe('out\n');
    expect(lastPhase('no markers\n')).toBeUndefined();
    expect(withLaterPhases('out\n', '@@wgplay-phase done 3\n')).toBe('out\n@@wgplay-phase done 3\n');
  });

  it('give no seconds for a script that did not finish, printed no marker, or lost its clock in one', () => {
    expect(phaseSeconds('')).toBeUndefined();
    expect(phaseSeconds('@@wgplay-phase links 1\n@@wgplay-phase routing 2\n')).toBeUndefined();
    expect(phaseSeconds('@@wgplay-phase links 1\n@@wgplay-phase routing\n@@wgplay-phase done 3\n')).toBeUndefined();
    expect(phaseSeconds('@@wgplay-phase links 1\n@@wgplay-phase routing 2.5\n@@wgplay-phase done 3\n')).toEqual({ links: 1.5, routing: 0.5 });
  });
});

describe('steps without a stage', () => {
  it("run with their phase's first stage, in plan order", () => {
    const result = run(compileApplyScript([change(say('first-stage', { phase: 'prepare', stage: 'changes' }), say('no-stage', { phase: 'prepare' }), say('keys', { phase: 'prepare', stage: 'keys' }))]));
    expect(result.code, result.stderr).toBe(0);
    expect(journal()).toEqual(['first-stage', 'no-stage', 'keys']);
  });
});
