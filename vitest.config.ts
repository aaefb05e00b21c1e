import { defineConfig } from 'vitest/config';

const include = [
  'server/test/**/*.test.ts',
  'packages/*/test/**/*.test.ts',
  'web/test/**/*.test.ts',
  'bench/test/**/*.test.ts',
  'scripts/test/**/*.test.ts',
];

/**
 * Suites whose bounds are latencies under a load they make themselves (a probe's chat p99 while
 * sockets flood the node, join times): they run one at a time after the rest, so that what they
 * measure is their own load and not a neighbouring file's. A p99 over the ten or so comments of
 * a 1.5 s flood is their slowest one, and beside another suite on two cores it once reached
 * 287 ms against the 250.
 */
const timed = ['server/test/event-flood.test.ts', 'server/test/media-joins.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'suites',
          include,
          exclude: timed,
          // Two files at a time on two cores (Vitest's default is one fewer than the cores): most
          // of a suite's time is spent waiting on timers, sockets and other processes, so the run
          // takes about half as long.
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'timed', include: timed, maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
