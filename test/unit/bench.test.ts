// The benches are not run by the suite (they print numbers and take minutes), but each
// must load from the build as an engineer runs it: `node dist/bench/X.js`. A bench that
// reads its files relative to the wrong folder (as the harness once did from dist/)
// fails here with its own error instead of on the next bench run.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/version.js';

describe('the built benches', () => {
  it.each(['run', 'confirm', 'badInput', 'beside'])('dist/bench/%s.js loads and prints its usage', (bench) => {
    const out = execFileSync(process.execPath, [join(PACKAGE_ROOT, 'dist/bench', `${bench}.js`), '--help'], { encoding: 'utf8', timeout: 20_000 });
    expect(out).toMatch(new RegExp(`^node dist/bench/${bench}\\.js \\[--`));
  });
});
