// What `npm pack` ships: the product (CLI, library, `wgplay lab`, playbooks, docs,
// licence), not the benchmarks, the tests or their harness.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('the published package', () => {
  it('ships the product, its docs and licence, and no bench or test code', () => {
    // --ignore-scripts: list what is there without rebuilding dist/ under the other tests.
    const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { encoding: 'utf8' }));
    const files: string[] = pack.files.map((file: { path: string }) => file.path);
    for (const path of ['LICENSE', 'README.md', 'bin/wgplay.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js',
      'dist/src/cli/wgplay.js', 'dist/src/lab/seedLab.js', 'dist/src/lab/whoamiServer.js', 'docs/ARCHITECTURE.md', 'playbooks/gateway.yaml']) {
      expect(files, path).toContain(path);
    }
    const outside = files.filter((path) => !/^(LICENSE|README\.md|package\.json|bin\/|dist\/src\/|docs\/|playbooks\/|src\/lab\/README\.md)/.test(path));
    expect(outside).toEqual([]);
    expect(files.filter((path) => path.endsWith('.map') || path.endsWith('.ts') && !path.endsWith('.d.ts'))).toEqual([]);
  });

  it('runs from the packed files: the bundled CLI, and `wgplay lab` loaded beside it', () => {
    // The tarball of what is built now (npm test builds first), unpacked with the
    // project's dependencies beside it, as an install would have them.
    const dir = mkdtempSync(join(tmpdir(), 'wgplay-pack-'));
    try {
      const [pack] = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { encoding: 'utf8' }));
      execFileSync('tar', ['-xzf', join(dir, pack.filename), '-C', dir]);
      const packed = join(dir, 'package');
      symlinkSync(resolve('node_modules'), join(packed, 'node_modules'));
      const cli = (...args: string[]) => execFileSync(process.execPath, [join(packed, 'bin/wgplay.js'), ...args], { encoding: 'utf8', cwd: packed, stdio: 'pipe' });
      expect(cli('--version')).toBe(`wgplay ${pack.version}\n`);
      expect(cli('validate', 'playbooks/gateway.yaml', '-i', 'playbooks/lab.inventory.yaml')).toMatch(/^valid: 1 host\(s\), 1 task\(s\)/);
      expect(cli('doc', 'wireguard_gateway')).toContain('customers');
      expect(() => cli('lab', 'bogus')).toThrow(/unknown command "bogus"[\s\S]*Usage: wgplay lab/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
