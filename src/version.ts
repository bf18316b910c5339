import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface PackageJson {
  name?: string;
  version?: string;
}

/** wgplay's package folder and package.json, found upwards from this file (src/ or dist/src/). */
function findPackage(): { root: string; pkg: PackageJson } | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as PackageJson;
      if (pkg.name === 'wgplay') return { root: dir, pkg };
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

const found = findPackage();

export const WGPLAY_VERSION = found?.pkg.version ?? 'unknown';

/** The folder of wgplay's package.json: the repository, or the installed package (playbooks/ ships in it). */
export const PACKAGE_ROOT = found?.root ?? dirname(dirname(fileURLToPath(import.meta.url)));
