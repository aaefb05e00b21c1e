import { defineConfig } from 'vitest/config';

/** Browser suites: real Chromium, one file at a time (each drives several browsers on two cores). */
export default defineConfig({
  test: {
    include: ['e2e/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    // A page's first fetches can take seconds on a busy CI machine; a poll's 1 s default is a flake.
    expect: { poll: { timeout: 10_000 } },
    pool: 'forks',
  },
});
