// The CLI as one file (dist/src/cli/wgplay.js, next to the tsc output it is built
// from): a short run spends much of its time loading modules, several hundred small
// files from dist/ and node_modules/, and one file loads in a fraction of that. It
// also carries the catalog's argument validators as code generated now
// (src/playbook/argumentAjv.ts), so a run does not compile them.
// `npm run build` runs it after tsc, so tests, the bench and `npm pack` always get a
// fresh one. Kept out of it, loaded from disk as before: ssh2 (its optional native
// crypto binding is found relative to its own files) and `wgplay lab` (src/lab finds
// its helper script next to its own module, and only the lab command needs it).
import { writeFileSync } from 'node:fs';
import { build } from 'esbuild';
import { findModule, findTask, knownTaskNames } from '../dist/src/catalog.js';
import { standaloneValidators } from '../dist/src/playbook/argumentAjv.js';

const schemas = knownTaskNames().map((name) => (findTask(name) ?? findModule(name)).schema);
writeFileSync('dist/src/cli/argumentValidators.js', standaloneValidators(schemas, '../playbook/argumentAjv.js'));

await build({
  stdin: {
    contents: [
      "import { useGeneratedValidators } from './playbook/argumentAjv.js';",
      "import * as validators from './cli/argumentValidators.js';",
      'useGeneratedValidators(validators);',
      "export { main } from './cli/main.js';",
    ].join('\n'),
    resolveDir: 'dist/src',
    sourcefile: 'wgplay-bundle.js',
  },
  outfile: 'dist/src/cli/wgplay.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['ssh2', './lab.js'],
  // The modules bundled from CommonJS packages call require() for node's own modules.
  banner: { js: "import { createRequire as __wgplayRequire } from 'node:module'; const require = __wgplayRequire(import.meta.url);" },
  logLevel: 'warning',
});
