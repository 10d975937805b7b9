import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Multi-process tests spawn workers from the built dist/, so builds run first (npm test).
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // gc() for the tests that check memory stays flat (test/reliability).
    poolOptions: { forks: { execArgv: ['--expose-gc'] } },
    setupFiles: ['test/helpers/leak-check.ts'],
  },
});
