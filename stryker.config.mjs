// Mutation testing (`npm run mutate`, by hand: slow). Runs the unit tests only.
// One folder at a time: `npm run mutate -- --mutate 'src/engine/**/*.ts'`.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.config.ts' },
  coverageAnalysis: 'perTest',
  // Static mutants (schema literals, built once at import) would each need the whole
  // suite: 94 % of the run time for 15 % of the mutants. The schemas' behaviour is
  // tested by the invalid-argument task cases instead.
  ignoreStatic: true,
  mutate: ['src/tasks/**/*.ts', 'src/engine/**/*.ts', 'src/facts/**/*.ts', 'src/modules/**/*.ts'],
  // The machine is shared: two test processes at most.
  concurrency: 2,
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
