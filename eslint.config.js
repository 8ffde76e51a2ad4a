import js from '@eslint/js'
import tseslint from 'typescript-eslint'

// Pure modules (protocol and domain) must stay free of I/O: no network, disk, env or process.
const ioModules = [
  'node:fs',
  'fs',
  'node:fs/promises',
  'fs/promises',
  'node:net',
  'net',
  'node:http',
  'http',
  'node:https',
  'https',
  'node:child_process',
  'child_process',
  'node:dgram',
  'node:worker_threads',
  'pg',
  '@electric-sql/pglite',
  'fastify',
  'pino',
  '@nats-io/*',
]
const pureMessage = 'Pure modules take their I/O from adapters (see ARCHITECTURE.md: layers).'
const pureRestriction = {
  paths: ioModules.filter((m) => !m.includes('*')).map((name) => ({ name, message: pureMessage })),
  patterns: [
    { group: ['@nats-io/*'], message: pureMessage },
    {
      group: ['**/store/**', '**/stream/**', '**/engine/**', '**/server/**', '**/cli/**'],
      message: 'Imports point downward only (ARCHITECTURE.md).',
    },
  ],
}

export default tseslint.config(
  { ignores: ['node_modules/**', 'console/dist/**', '.kindred/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        fetch: 'readonly',
        AbortController: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        structuredClone: 'readonly',
        performance: 'readonly',
        queueMicrotask: 'readonly',
        Response: 'readonly',
        Request: 'readonly',
        Headers: 'readonly',
        crypto: 'readonly',
        window: 'readonly',
        document: 'readonly',
        EventSource: 'readonly',
        localStorage: 'readonly',
        navigator: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: [
      'src/protocol/**/*.ts',
      'src/identity/**/*.ts',
      'src/profiles/**/*.ts',
      'src/segments/**/*.ts',
      'src/privacy/**/*.ts',
      'src/quality/**/*.ts',
      'src/destinations/**/*.ts',
    ],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', pureRestriction],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: pureMessage },
        {
          name: 'fetch',
          message: 'Destinations return HTTP requests as data; the dispatcher sends them.',
        },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']",
          message: 'Take a clock argument instead of Date.now() in pure code.',
        },
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'Take a clock argument instead of new Date() in pure code.',
        },
        {
          selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']",
          message: 'Take an id or random source argument in pure code.',
        },
      ],
    },
  },
  {
    files: ['src/protocol/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          ...pureRestriction,
          patterns: [
            ...pureRestriction.patterns,
            {
              group: [
                '**/identity/**',
                '**/profiles/**',
                '**/segments/**',
                '**/privacy/**',
                '**/quality/**',
                '**/destinations/**',
              ],
              message: 'protocol imports nothing of ours.',
            },
          ],
        },
      ],
    },
  },
)
