import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/*
 * Import boundaries of the server (STYLE.md: imports flow one way, http/realtime -> live -> db, and
 * -> media). In flat config a later object's `no-restricted-imports` replaces an earlier one's for
 * the files both match, so each folder's rule below is built whole: what every main-process module
 * is refused, plus what that folder is refused.
 */
const rule = (...parts) => [
  'error',
  {
    paths: parts.flatMap((part) => part.paths ?? []),
    patterns: parts.flatMap((part) => part.patterns ?? []),
  },
];
const mainProcessMessage =
  'The main process reaches the media engine through MediaWorkerPool only.';
/** node-datachannel aborts a process whose second JS isolate loads it: only media workers may. */
const mainProcess = {
  paths: [
    { name: 'node-datachannel', message: 'Only the media worker processes load node-datachannel.' },
  ],
  patterns: [
    {
      group: ['**/media/*', '!**/media/MediaWorkerPool', '!**/media/MediaError', '!**/media/ipc'],
      message: mainProcessMessage,
    },
  ],
};
/**
 * The realtime server speaks Socket.IO's protocol itself over `ws`: only its wire module, the
 * handshake that owns the WebSocket server and the socket that wraps each connection, imports it
 * (see the override below).
 */
const wsFiles = [
  'server/src/realtime/wire/Handshake.ts',
  'server/src/realtime/wire/RealtimeSocket.ts',
];
const noWs = {
  paths: [
    {
      name: 'ws',
      message:
        'Only the realtime wire module (server/src/realtime/wire: Handshake, RealtimeSocket) imports ws.',
    },
  ],
};
const noTransports = {
  paths: [{ name: 'express', message: 'Express lives in server/src/http.' }, ...noWs.paths],
  patterns: [
    {
      group: ['**/http/**', '**/realtime/**'],
      message: 'Only the composition imports a transport.',
    },
  ],
};
/** What the realtime transport is refused, wherever in it. */
const realtimeOwn = {
  paths: [{ name: 'express', message: 'Express lives in server/src/http.' }],
  patterns: [
    {
      group: ['**/http/**'],
      message:
        'HTTP and realtime are separate transports: share through the protocol or the domain.',
    },
  ],
};
const forbid = (message, ...folders) => ({
  patterns: [{ group: folders.map((folder) => `**/${folder}/**`), message }],
});
const noWiring = forbid(
  'Wiring ties the domain to the media plane from above: only transports and the composition use it.',
  'wiring',
);

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
    files: ['server/src/**'],
    rules: { 'no-restricted-imports': rule(mainProcess, noWs) },
  },
  {
    files: ['server/src/http/**'],
    rules: {
      'no-restricted-imports': rule(mainProcess, noWs, {
        patterns: [
          {
            group: ['**/realtime/**'],
            message:
              'HTTP and realtime are separate transports: share through the protocol or the domain.',
          },
        ],
      }),
    },
  },
  {
    files: ['server/src/realtime/**'],
    rules: { 'no-restricted-imports': rule(mainProcess, noWs, realtimeOwn) },
  },
  {
    // The one place `ws` is imported: the wire module that owns the WebSocket server.
    files: wsFiles,
    rules: { 'no-restricted-imports': rule(mainProcess, realtimeOwn) },
  },
  {
    // The domain knows neither its transports nor the media plane (wiring connects the two).
    files: ['server/src/live/**'],
    rules: {
      'no-restricted-imports': rule(
        mainProcess,
        noTransports,
        noWiring,
        forbid('The domain never imports the media plane: wiring connects them.', 'media'),
      ),
    },
  },
  {
    files: ['server/src/wiring/**'],
    rules: { 'no-restricted-imports': rule(mainProcess, noTransports) },
  },
  {
    // Auth sits below the domain (which hashes passwords with it): a refused token is its own error.
    files: ['server/src/auth/**'],
    rules: {
      'no-restricted-imports': rule(
        mainProcess,
        noTransports,
        noWiring,
        forbid('Auth sits below the domain and never imports it.', 'live'),
        forbid('Auth needs neither the database nor the media plane.', 'db', 'media'),
      ),
    },
  },
  {
    files: ['server/src/db/**'],
    rules: {
      'no-restricted-imports': rule(
        mainProcess,
        noTransports,
        noWiring,
        forbid('The database layer sits below the domain and never imports it.', 'live'),
        forbid('The database layer imports no other layer.', 'auth', 'media'),
      ),
    },
  },
  {
    // Modules every layer may use import none of them.
    files: [
      'server/src/events/**',
      'server/src/logging/**',
      'server/src/observability/**',
      'server/src/cluster/**',
    ],
    rules: {
      'no-restricted-imports': rule(
        mainProcess,
        noTransports,
        noWiring,
        forbid('A module every layer uses imports none of them.', 'live', 'db', 'auth', 'media'),
      ),
    },
  },
  {
    // The media plane (worker side included: node-datachannel is allowed here) reports outward
    // with typed events and knows nothing of signalling, the domain or the database.
    files: ['server/src/media/**'],
    rules: {
      'no-restricted-imports': rule(
        noTransports,
        noWiring,
        forbid(
          'The media plane knows nothing of the domain, auth or the database.',
          'live',
          'auth',
          'db',
        ),
      ),
    },
  },
  {
    // The pool and the IPC types run in the main process: the engine is reached over IPC only.
    files: ['server/src/media/MediaWorkerPool.ts', 'server/src/media/ipc.ts'],
    rules: {
      'no-restricted-imports': rule(
        { paths: mainProcess.paths },
        noTransports,
        noWiring,
        forbid(
          'The media plane knows nothing of the domain, auth or the database.',
          'live',
          'auth',
          'db',
        ),
        {
          patterns: [
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
      ),
    },
  },
  {
    // All socket traffic goes through the one typed socket (STYLE.md: excalidraw's Portal).
    files: ['web/src/**'],
    ignores: ['web/src/lib/live-socket.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'socket.io-client',
              message: 'Use the typed socket in web/src/lib/live-socket.',
            },
          ],
        },
      ],
    },
  },
);
