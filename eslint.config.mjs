// ESLint flat config with type information, and import boundaries that keep workflows deterministic,
// the pure layers (itk3, contracts, mesh) free of I/O and of each other, and the three roles of client/
// (the API server, the CLI, the published client library) apart: a role builds on the library, never on
// another role, so the CLI and a backend service never load the server, and the library ships alone.
import tseslint from 'typescript-eslint';

const banned = (patterns, message) => ['error', { patterns: patterns.map((group) => ({ group: [group], message })) }];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.venv/**', '.data/**', '.cache/**', 'coverage/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': banned(
        ['../mesh', '../mesh/*', '../config', '../config/*', '../store', '../store/*', 'node:*', 'fs', 'path', 'crypto', 'pino', 'undici', '../client/*', '../worker/*'],
        'workflows are deterministic: no I/O, no Node built-ins, no MESH or config; activities only by type',
      ),
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ group: ['../activities', '../activities/*'], allowTypeImports: true, message: 'workflows import activities by type only' }] }],
    },
  },
  {
    files: ['itk3/**/*.ts', 'contracts/**/*.ts'],
    rules: {
      'no-restricted-imports': banned(
        ['../mesh', '../mesh/*', '../activities', '../activities/*', '../workflows', '../workflows/*', '../config', '../config/*', '../store', '../store/*', 'node:fs', 'node:http', 'node:https', 'node:net', 'undici', 'pino', '@temporalio/worker', '@temporalio/client', '@temporalio/activity'],
        'itk3 and contracts are pure: no I/O, no Temporal runtime',
      ),
    },
  },
  {
    files: ['mesh/**/*.ts'],
    rules: {
      'no-restricted-imports': banned(
        ['../itk3', '../itk3/*', '../activities', '../activities/*', '../workflows', '../workflows/*', '@temporalio/*'],
        'the MESH client knows nothing of ITK3 or Temporal',
      ),
    },
  },
  {
    files: ['client/api/**/*.ts'],
    rules: { 'no-restricted-imports': banned(['../cli', '../cli/*'], 'the API server does not build on the CLI; share code through client/lib') },
  },
  {
    files: ['client/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': banned(
        ['../api', '../api/*', '../auth', '../../workflows', '../../workflows/*', '../../activities', '../../activities/*'],
        'the CLI talks to the API over HTTP through client/lib; it never loads the server or the workflows',
      ),
    },
  },
  {
    files: ['client/lib/**/*.ts'],
    rules: {
      'no-restricted-imports': banned(
        ['../api', '../api/*', '../cli', '../cli/*', '../auth', '../../workflows', '../../workflows/*'],
        'the client library is what backend services import: no server, CLI or workflow code',
      ),
    },
  },
  {
    files: ['codec/**/*.ts', 'worker/**/*.ts'],
    rules: { 'no-restricted-imports': banned(['../client/api', '../client/api/*', '../client/cli', '../client/cli/*'], 'other roles do not build on the API server or the CLI') },
  },
);
