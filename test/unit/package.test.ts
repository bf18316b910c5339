// What `npm pack` ships: the product (CLI, library, `wgplay lab`, playbooks, docs,
// licence), not the benchmarks, the tests or their harness.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('the published package', () => {
  it('ships the product, its docs and licence, and no bench or test code', () => {
    // --ignore-scripts: list what is there without rebuilding dist/ under the other tests.
    const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { encoding: 'utf8' }));
    const files: string[] = pack.files.map((file: { path: string }) => file.path);
    for (const path of ['LICENSE', 'README.md', 'bin/wgplay.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js',
      'dist/src/lab/seedLab.js', 'dist/src/lab/whoamiServer.js', 'docs/ARCHITECTURE.md', 'playbooks/gateway.yaml']) {
      expect(files, path).toContain(path);
    }
    const outside = files.filter((path) => !/^(LICENSE|README\.md|package\.json|bin\/|dist\/src\/|docs\/|playbooks\/|src\/lab\/README\.md)/.test(path));
    expect(outside).toEqual([]);
    expect(files.filter((path) => path.endsWith('.map') || path.endsWith('.ts') && !path.endsWith('.d.ts'))).toEqual([]);
  });
});
