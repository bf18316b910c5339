// A script run inside another remote command, its result framed in that command's
// output (src/engine/framed.ts): run by real bash, then read back.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { frameDone, framedRun, newFrame, unframe } from '../../src/engine/framed.js';

const bash = (script: string) => execFileSync('bash', ['-c', script], { encoding: 'utf8' });

describe('a framed script', () => {
  it("comes back with its output, errors and status apart, after what the command printed before it", () => {
    const frame = newFrame();
    const script = "printf 'line 1\\n\\nline 3'; echo oops >&2; echo again >&2; exit 3";
    const output = bash(`echo 'the holder says hi'\n${framedRun(`printf '%s' ${JSON.stringify(script)}`, frame)}`);
    expect(output.endsWith(frameDone(frame))).toBe(true);
    expect(unframe(output, frame)).toEqual({ before: 'the holder says hi\n', ran: { stdout: 'line 1\n\nline 3', code: 3, stderr: 'oops\nagain' } });
  });

  it('is read only whole, and only with its own frame', () => {
    const frame = newFrame();
    const output = bash(framedRun("echo 'echo out; echo err >&2'", frame));
    expect(unframe(output, frame)).toEqual({ before: '', ran: { stdout: 'out\n', code: 0, stderr: 'err' } });
    const cut = (marker: string) => output.slice(0, output.indexOf(marker));
    expect(unframe(cut(`${frame} done`), frame)).toBeUndefined();
    expect(unframe(cut(`${frame} end`), frame)).toBeUndefined();
    expect(unframe(output.replace(`${frame} begin\n`, ''), frame)).toBeUndefined();
    // The status line cut before its end of line.
    expect(unframe(output.slice(0, output.indexOf(`${frame} end`) + `${frame} end 0`.length), frame)).toBeUndefined();
    // No status line at all, though the frame is closed.
    expect(unframe(`${frame} begin\nout\n${frame} done\n`, frame)).toBeUndefined();
    expect(unframe(output, newFrame())).toBeUndefined();
    expect(newFrame()).not.toBe(frame);
    expect(frame).toMatch(/^@@wgplay-frame-[0-9a-f]{12}$/);
  });

  it("is not fooled by the script printing the words of a frame that is not its own", () => {
    const frame = newFrame();
    const other = newFrame();
    const output = bash(framedRun(`echo "echo '${other} end 9'; echo '${other} done'"`, frame));
    expect(unframe(output, frame)?.ran).toEqual({ stdout: `${other} end 9\n${other} done\n`, code: 0, stderr: '' });
  });
});
