// The CLI as one file (dist/src/cli/wgplay.js, next to the tsc output it is built
// from): a short run spends much of its time loading modules, several hundred small
// files from dist/ and node_modules/, and one file loads in a fraction of that.
// `npm run build` runs it after tsc, so tests, the bench and `npm pack` always get a
// fresh one. Kept out of it, loaded from disk as before: ssh2 (its optional native
// crypto binding is found relative to its own files) and `wgplay lab` (src/lab finds
// its helper script next to its own module, and only the lab command needs it).
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/src/cli/main.js'],
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
