// What the bench scripts share: the CLI they measure, the preload that reports its
// resource use (rusage.ts), and an option's value from their own command line.
import { join } from 'node:path';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const BIN = join(ROOT, 'bin/wgplay.js');
export const RUSAGE = new URL('./rusage.js', import.meta.url).href;

/**
 * With `--help` on the command line: prints the bench's usage and exits 0. Called after
 * the bench's imports, so `node dist/bench/X.js --help` also proves the built bench loads
 * (test/unit/bench.test.ts: a bench that cannot find its files fails there, not on the
 * first engineer who runs it).
 */
export function helpRequested(usage: string): void {
  if (!process.argv.includes('--help')) return;
  process.stdout.write(`${usage.trim()}\n`);
  process.exit(0);
}

/** The value after `name` on the command line, or undefined. */
export const option = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
