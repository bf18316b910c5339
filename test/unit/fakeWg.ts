import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { shellQuote } from '../../src/shell.js';

/**
 * The script line that puts first on PATH a `wg`, made in `folder`, that prints `dump`
 * whatever it is asked. The fact script runs wg under `timeout`, which execs a program:
 * a shell function cannot stand in for it.
 */
export function wgPrinting(folder: string, dump: string): string {
  const bin = join(folder, 'fake-wg');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'dump'), dump);
  writeFileSync(join(bin, 'wg'), `#!/bin/sh\ncat ${shellQuote(join(bin, 'dump'))}\n`, { mode: 0o755 });
  return `PATH=${shellQuote(bin)}:$PATH`;
}
