// A fake host for the engine: a ScriptRunner that answers the fact script with a capture
// of a real host's fact output (fixtures/facts/, sections replaced as in the task cases)
// and records every script it is sent. Whether an apply "worked" is up to each test: the
// fake then answers later fact scripts with other real output.
import { PHASE_MARKER } from '../../src/engine/compile.js';
import type { ScriptRunner } from '../../src/engine/run.js';
import type { HeldCommand, RunResult, Transport } from '../../src/transport/types.js';
import type { TaskInvocation } from '../../src/tasks/types.js';
import { factOutput, invocationOf, type TaskCase } from './taskCases.js';

type Answer = { stdout?: string; stderr?: string; code?: number };
type ScriptKind = 'facts' | 'apply' | 'confirm';

/** The phases an apply script announces, in order. */
export const phasesOf = (script: string) => [...script.matchAll(new RegExp(`'${PHASE_MARKER}(\\w+)'`, 'g'))].map((m) => m[1]!);
/** What a host prints running an apply script to its end. */
export const ranToTheEnd = (script: string): Answer => ({ stdout: phasesOf(script).map((p) => PHASE_MARKER + p).join('\n') });

const FRAME = /@@wgplay-frame-[0-9a-f]+/;
/** What a host prints for a script run inside another command (framed.ts). */
const framed = (frame: string, result: RunResult) => `${frame} begin\n${result.stdout}\n${frame} end ${result.code}\n${result.stderr}\n${frame} done\n`;

/**
 * A host that answers fact scripts with `facts` and apply scripts with `apply(script)`;
 * a confirmation that confirmed also answers the verify's fact script it carries.
 */
export class FakeHost implements ScriptRunner {
  readonly sent: { kind: ScriptKind; script: string }[] = [];
  constructor(
    public facts: string,
    private readonly apply: (script: string, host: FakeHost) => Answer = ranToTheEnd,
    private readonly confirm: (script: string) => Answer = () => ({ stdout: '@@wgplay-confirm confirmed\n' }),
  ) {}
  async run(script: string) {
    const kind: ScriptKind = script.includes(PHASE_MARKER) && !script.includes('@@wgplay-confirm') ? 'apply' : script.includes('@@wgplay-confirm') ? 'confirm' : 'facts';
    this.sent.push({ kind, script });
    const answer = kind === 'apply' ? this.apply(script, this) : kind === 'confirm' ? this.confirm(script) : { stdout: this.facts };
    const result = { stdout: answer.stdout ?? '', stderr: answer.stderr ?? '', code: answer.code ?? 0 };
    const frame = FRAME.exec(script)?.[0];
    if (kind === 'confirm' && frame && /^@@wgplay-confirm confirmed$/m.test(result.stdout) && result.code === 0) {
      result.stdout += framed(frame, await this.run(script.slice(script.indexOf('wgplay_then() {'), script.indexOf("printf '%s begin"))));
    }
    return result;
  }
  count(kind: ScriptKind) {
    return this.sent.filter((s) => s.kind === kind).length;
  }
  get applyScript() {
    return this.sent.find((s) => s.kind === 'apply')?.script;
  }
}

/** An apply that converges: afterwards the host reports `after`. */
export const converging = (before: string, after: string) =>
  new FakeHost(before, (script, self) => {
    self.facts = after;
    return ranToTheEnd(script);
  });

export const facts = (f: TaskCase['facts']) => factOutput(f);
export const EMPTY = facts({ capture: 'empty' });
export const tasks = (...list: [string, unknown][]): TaskInvocation[] => list.flatMap(([task, args]) => invocationOf(task, args));

/** The fact script's section for wgplay's own SSH connection: the controller 192.0.2.50 reached the host's 192.0.2.1 port 22, the way back on eth0. */
export const SSH_CONNECTION = { 'ssh-connection': ['192.0.2.50 40000 192.0.2.1 22', '[{"dst":"192.0.2.50","dev":"eth0","prefsrc":"192.0.2.1"}]'] };

export const RULE: [string, unknown] = ['ip_rule', { from: '10.200.200.1', table: 41, priority: 100 }];
/** The empty host's rules once the rule of RULE is added: what `ip -j -4 rule show` then prints. */
export const WITH_RULE = facts({
  capture: 'empty',
  output: { 'ip-rule inet': [{ priority: 0, src: 'all', table: 'local' }, { priority: 100, src: '10.200.200.1', table: '41' }, { priority: 32766, src: 'all', table: 'main' }, { priority: 32767, src: 'all', table: 'default' }] },
});

/** The host lock as the holder script answers: `lockOutput` (default nothing), the script it was given, then it waits for wgplay. */
export interface FakeLock {
  /** What wgplay wrote to the holder after the script. */
  written: string[];
  ended: boolean;
  /** The holder script wgplay started. */
  script?: string;
}

/**
 * A transport over `runner` (the connect hook stands in for SSH); its lock holder prints
 * `lockOutput`, then runs the script it is sent through `runner` (framed, as the holder
 * does); it exits with `lockExit` at once when given (a busy host).
 */
export function fakeTransport(name: string, runner: ScriptRunner, options: { lockOutput?: string; lockExit?: RunResult; lock?: FakeLock } = {}): Transport {
  let roundTrips = 0;
  return {
    host: name,
    get roundTrips() {
      return roundTrips;
    },
    run: (script, runOptions) => (roundTrips++, runner.run(script, runOptions)),
    start: async (script): Promise<HeldCommand> => {
      roundTrips++;
      if (options.lock) options.lock.script = script;
      const frame = FRAME.exec(script)?.[0] ?? '';
      let end = () => {};
      let output: Promise<string> | undefined;
      const done = options.lockExit
        ? Promise.resolve(options.lockExit)
        : new Promise<RunResult>((resolve) => (end = () => resolve({ stdout: options.lockOutput ?? '', stderr: '', code: 0 })));
      return {
        onOutput: (listener) => {
          if (!options.lockExit) void output?.then(listener);
        },
        write: (text) => {
          if (output) options.lock?.written.push(text);
          else if (!options.lockExit) output = (text ? runner.run(text) : Promise.resolve({ stdout: '', stderr: '', code: 0 })).then((result) => `${options.lockOutput ?? ''}${framed(frame, result)}`);
        },
        end: () => {
          if (options.lock) options.lock.ended = true;
          end();
        },
        done,
      };
    },
    close: async () => undefined,
  };
}
