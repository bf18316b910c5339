// Lint: typescript-eslint's recommended rules, no unused code, and the pipeline's
// direction (docs/ARCHITECTURE.md) as import boundaries between the parts of src/.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * What each part of src/ may import besides itself. Everything else in src/ is refused.
 * Read top to bottom: a part only imports parts above it (cli imports all but is
 * imported by none; lab is `wgplay lab`, reached only from cli/lab.ts).
 */
const MAY_IMPORT = {
  errors: [],
  version: [],
  shell: ['errors'],
  net: ['errors', 'shell'],
  inventory: ['errors', 'shell', 'net'],
  facts: ['errors', 'shell', 'net'],
  tasks: ['errors', 'shell', 'net', 'facts'],
  modules: ['errors', 'shell', 'net', 'facts', 'tasks'],
  catalog: ['tasks', 'modules'],
  playbook: ['errors', 'shell', 'net', 'inventory', 'tasks', 'catalog'],
  transport: ['errors', 'shell', 'inventory'],
  results: ['facts', 'tasks'],
  report: ['errors', 'shell', 'tasks', 'results'],
  engine: ['errors', 'shell', 'net', 'inventory', 'facts', 'tasks', 'modules', 'catalog', 'playbook', 'transport', 'results', 'report', 'version'],
  // The library's functions (plan, apply, events, typed tasks) on top of the engine.
  api: ['errors', 'shell', 'net', 'inventory', 'facts', 'tasks', 'modules', 'catalog', 'playbook', 'transport', 'results', 'report', 'engine', 'version'],
  // `wgplay status`: the engine's loading and expansion, the fact script, no apply.
  status: ['errors', 'shell', 'net', 'inventory', 'facts', 'tasks', 'modules', 'catalog', 'playbook', 'transport', 'results', 'report', 'engine'],
  lab: ['errors', 'shell'],
};
const PARTS = [...Object.keys(MAY_IMPORT), 'cli'];

/**
 * no-restricted-imports sees the import as written, so the patterns are made per
 * folder depth: from src/tasks/shared/x.ts, "../../engine/run.js" is src/engine.
 */
const DEPTHS = [0, 1, 2, 3];
const pathToSrc = (depth) => (depth === 0 ? './' : '../'.repeat(depth));
const filesAt = (part, depth) => (depth === 0 ? [`src/${part}.ts`] : [`src/${part}/${'*/'.repeat(depth - 1)}*.ts`]);

const refuse = (from, depth, parts) => ({
  'no-restricted-imports': [
    'error',
    {
      patterns: parts.map((part) => ({
        regex: `^${pathToSrc(depth).replace(/\./g, '\\.')}${part}(/|\\.js$)`,
        message: `src/${from} must not import src/${part}: the pipeline runs one way (docs/ARCHITECTURE.md, "Boundaries").`,
      })),
    },
  ],
});

const boundaries = Object.entries(MAY_IMPORT).flatMap(([part, allowed]) =>
  DEPTHS.map((depth) => ({
    files: filesAt(part, depth),
    rules: refuse(part, depth, PARTS.filter((other) => other !== part && !allowed.includes(other))),
  })),
);

export default tseslint.config(
  { ignores: ['dist/**', 'examples/*/dist/**', 'node_modules/**', 'reports/**', '.stryker-tmp/**', '.lab/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { files: ['**/*.js', '**/*.mjs'], languageOptions: { globals: globals.node } },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // Schemas and facts come from JSON; tasks cast where they read it.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  ...boundaries,
  // The library's entry point re-exports the product, never the CLI or the lab.
  { files: ['src/index.ts'], rules: refuse('index.ts', 0, ['cli', 'lab']) },
  // The CLI may use everything; only its `lab` command reaches the lab.
  { files: ['src/cli/*.ts'], ignores: ['src/cli/lab.ts'], rules: refuse('cli', 1, ['lab']) },
);
