#!/usr/bin/env node
// The CLI bundled into one file by `npm run build` (scripts/bundle.mjs): it loads in a fraction of the time.
import { main } from '../dist/src/cli/wgplay.js';
main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
