import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

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
    // The domain and the media engine never reach for a transport (STYLE.md: imports flow one way).
    files: ['server/src/live/**', 'server/src/media/**', 'server/src/db/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'express', message: 'Transports live in server/src/http.' },
            { name: 'socket.io', message: 'Socket.IO lives in server/src/realtime.' },
          ],
          patterns: [
            {
              group: ['**/http/**', '**/realtime/**'],
              message: 'The domain never imports a transport.',
            },
          ],
        },
      ],
    },
  },
);
