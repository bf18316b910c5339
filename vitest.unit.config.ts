import { defineConfig } from 'vitest/config';

// Unit tests only (no host, no root, no network): what `npm run mutate` runs per mutant.
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    testTimeout: 30_000,
  },
});
