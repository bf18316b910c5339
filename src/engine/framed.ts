import { randomBytes } from 'node:crypto';
import type { RunResult } from '../transport/types.js';

/**
 * A script run inside another remote command, so that both cost one round trip: the
 * host lock's command runs the facts (hostLock.ts), the confirmation runs the verify's
 * facts (apply.ts). Its output comes back framed in that command's output by a marker
 * no script prints (random per run):
 *
 *   FRAME begin
 *   <its standard output>
 *   FRAME end <its exit status>
 *   <its standard error>
 *   FRAME done
 */

export const newFrame = (): string => `@@wgplay-frame-${randomBytes(6).toString('hex')}`;

/** Bash: runs the script that `feed` prints (with `bash -s`) and prints its result framed. */
export function framedRun(feed: string, frame: string): string {
  return `printf '%s begin\\n' ${frame}
exec 3>&1
err=$(${feed} | bash -s 2>&1 >&3); rc=$?
exec 3>&-
printf '\\n%s end %s\\n%s\\n%s done\\n' ${frame} "$rc" "$err" ${frame}`;
}

/** The line that closes a frame: seen in the output, the framed script's result is all there. */
export const frameDone = (frame: string): string => `\n${frame} done\n`;

/** The framed script's result, and the output before its frame; undefined when the frame is not (all) there. */
export function unframe(output: string, frame: string): { before: string; ran: RunResult } | undefined {
  const begin = output.indexOf(`${frame} begin\n`);
  const end = output.indexOf(`\n${frame} end `, begin);
  const status = output.indexOf('\n', end + 1);
  const done = output.indexOf(frameDone(frame), status);
  if (begin < 0 || end < 0 || status < 0 || done < 0) return undefined;
  return {
    before: output.slice(0, begin),
    ran: {
      stdout: output.slice(begin + `${frame} begin\n`.length, end),
      code: Number(output.slice(end + `\n${frame} end `.length, status)),
      stderr: output.slice(status + 1, done),
    },
  };
}
