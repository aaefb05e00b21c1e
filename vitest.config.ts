import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'server/test/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'web/test/**/*.test.ts',
      'bench/test/**/*.test.ts',
      'scripts/test/**/*.test.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two files at a time on two cores (Vitest's default is one fewer than the cores): most of a
    // suite's time is spent waiting on timers, sockets and other processes, so the run takes
    // about half as long, and the suites' timing bounds hold under the load of a neighbour.
    maxWorkers: 2,
  },
});
