// What the bench scripts share: the CLI they measure, the preload that reports its
// resource use (rusage.ts), and an option's value from their own command line.
import { join } from 'node:path';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const BIN = join(ROOT, 'bin/wgplay.js');
export const RUSAGE = new URL('./rusage.js', import.meta.url).href;

/** The value after `name` on the command line, or undefined. */
export const option = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
