import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const transports = [
  { name: 'express', message: 'Transports live in server/src/http.' },
  { name: 'socket.io', message: 'Socket.IO lives in server/src/realtime.' },
];
const noTransportPatterns = {
  group: ['**/http/**', '**/realtime/**'],
  message: 'The domain never imports a transport.',
};
const onlyInWorkers = {
  name: 'node-datachannel',
  message: 'Only the media worker processes load node-datachannel.',
};
const mediaInternals = [
  '**/media/*',
  '!**/media/MediaWorkerPool',
  '!**/media/MediaError',
  '!**/media/ipc',
];
const mainProcessMessage =
  'The main process reaches the media engine through MediaWorkerPool only.';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      'data/**',
      'test-artifacts/**',
      'bench/results/**',
      '.tmp/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // Promises nobody awaits hide failures and ordering bugs, and a promise where a callback
    // expects void (an event handler, `setTimeout`) is never waited for: both need the types.
    files: ['**/*.{ts,tsx}'],
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['vitest.config.ts', 'vitest.e2e.config.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    files: ['web/src/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // Scripts that run inside the browser under test.
    files: ['e2e/support/*.js'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['**/test/**', 'e2e/**', '**/*.test.ts', 'bench/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Tests and benchmarks print what they measure.
      'no-console': 'off',
    },
  },
  {
    // The domain and the media engine never reach for a transport (STYLE.md: imports flow one
    // way); outside the media folder, nothing loads node-datachannel, which aborts the process
    // when a second JS isolate loads it: only the media worker processes may.
    files: ['server/src/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [onlyInWorkers],
          patterns: [{ group: mediaInternals, message: mainProcessMessage }],
        },
      ],
    },
  },
  {
    files: ['server/src/live/**', 'server/src/db/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...transports, onlyInWorkers],
          patterns: [noTransportPatterns, { group: mediaInternals, message: mainProcessMessage }],
        },
      ],
    },
  },
  {
    files: ['server/src/media/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: transports, patterns: [noTransportPatterns] }],
    },
  },
  {
    // The pool and the IPC types run in the main process: the engine is reached over IPC only.
    files: ['server/src/media/MediaWorkerPool.ts', 'server/src/media/ipc.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...transports, onlyInWorkers],
          patterns: [
            noTransportPatterns,
            {
              group: [
                './MediaEngine',
                './StreamRouter',
                './Publisher',
                './Subscriber',
                './worker-main',
              ],
              message: mainProcessMessage,
            },
          ],
        },
      ],
    },
  },
);
