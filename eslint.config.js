// ESLint flat config. The import fences keep workflow and domain code deterministic:
// no Node built-ins, no clients, no integrations (DESIGN.md §5).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [
  'assert',
  'buffer',
  'child_process',
  'cluster',
  'crypto',
  'dgram',
  'dns',
  'events',
  'fs',
  'fs/promises',
  'http',
  'http2',
  'https',
  'net',
  'os',
  'path',
  'perf_hooks',
  'process',
  'readline',
  'stream',
  'timers',
  'tls',
  'url',
  'util',
  'v8',
  'vm',
  'worker_threads',
  'zlib',
];
const fencedPatterns = [
  { group: ['node:*'], message: 'Workflow/domain code must be deterministic: no Node built-ins.' },
  {
    group: ['@temporalio/client', '@temporalio/worker', '@temporalio/activity', '@temporalio/testing'],
    message: 'Only @temporalio/workflow (and /common) may be used here.',
  },
  { group: ['@kubernetes/*', '@slack/*'], message: 'Clients belong in src/integrations behind an activity.' },
  // Type-only imports (activity interfaces for proxyActivities) carry no code and are allowed.
  {
    // The pure halves of the router and metrics provider registries (manifests.ts, <plugin>/manifest.ts and what
    // they import) are fenced like domain code (below) and may be imported.
    group: [
      '**/integrations/**/*.js',
      '!**/integrations/traffic/manifests.js',
      '!**/integrations/traffic/router-manifest.js',
      '!**/integrations/traffic/*/manifest.js',
      '!**/integrations/metrics/manifests.js',
      '!**/integrations/metrics/metric-provider-manifest.js',
      '!**/integrations/metrics/*/manifest.js',
      '!**/integrations/metrics/*/query.js',
      '!**/integrations/metrics/*/schema.js',
      '**/activities/**',
      '**/cli/**',
      '**/dev/**',
    ],
    message: 'Workflow/domain code cannot import I/O layers.',
    allowTypeImports: true,
  },
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.fledge/**', 'test-artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        URL: 'readonly',
        fetch: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        Buffer: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' },
      ],
    },
  },
  {
    files: [
      'src/workflows/**/*.ts',
      'src/domain/**/*.ts',
      'src/integrations/traffic/manifests.ts',
      'src/integrations/traffic/router-manifest.ts',
      'src/integrations/traffic/*/manifest.ts',
      'src/integrations/metrics/manifests.ts',
      'src/integrations/metrics/metric-provider-manifest.ts',
      'src/integrations/metrics/*/manifest.ts',
      'src/integrations/metrics/*/query.ts',
      'src/integrations/metrics/*/schema.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({
            name,
            message: 'No Node built-ins in workflow/domain code.',
          })),
          patterns: fencedPatterns,
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' },
        { name: 'setInterval', message: 'Use workflow timers.' },
        { name: 'fetch', message: 'I/O belongs in activities.' },
        { name: 'process', message: 'No process access in workflow code.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Use workflow-safe randomness.' },
        {
          object: 'Date',
          property: 'now',
          message: 'The domain has no clock; workflow time comes from the workflow API.',
        },
      ],
      'no-console': 'error',
    },
  },
  { files: ['eslint.config.js', 'vitest.config.ts'], rules: { 'no-restricted-syntax': 'off' } },
);
