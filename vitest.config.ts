import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Root and the Debian packages, or one clear message: no test skips (test/preflight.ts).
    globalSetup: ['test/preflight.ts'],
    // End-to-end tests share one machine's namespaces and CPU: run files one at a time.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
