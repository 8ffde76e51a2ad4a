import js from '@eslint/js'
import tseslint from 'typescript-eslint'

// The layout's arrows (ARCHITECTURE.md: layout; docs/adr/0010-capability-layout.md), as lint:
// protocol imports nothing of ours; a core imports protocol, cores and a short allow-list of pure
// libraries; an engine imports cores and platform; http imports its engine, cores and
// platform/http; platform imports no capability; only app and cli import modules; only tests
// import testing. src/testing/layout-rules.test.ts feeds a probe that breaks each rule.
const pureLibraries = [
  'zod',
  'node:crypto',
  'node:buffer',
  'libphonenumber-js',
  'libphonenumber-js/max',
  'ajv',
  'ajv/dist/2020.js',
  'ajv-formats',
  'liquidjs',
  'double-metaphone',
  // Pure only without a TTL (which reads a clock and may start timers): see coreCacheSyntax.
  'lru-cache',
]
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
const layer = (message, regex) => ({ regex, message })
const moduleImport = layer(
  'Only src/app and src/cli import modules (ARCHITECTURE.md: layout).',
  '(^|/)([a-z-]+-)?module\\.js$',
)
const testingImport = layer(
  'Only tests import src/testing (ARCHITECTURE.md: layout).',
  '(^|/)testing/',
)
const restrict = (...patterns) => ['error', { patterns }]
const pureMessage =
  'Pure code takes its I/O, clock and randomness from its caller (ARCHITECTURE.md).'
const coreImports = restrict(
  layer(
    `A core imports only protocol, other cores and pure libraries (${pureLibraries.join(', ')}).`,
    `^(?!\\.|(${pureLibraries.map(escapeRe).join('|')})$)`,
  ),
  layer(
    'A core imports only protocol and other cores: no engine, http, platform, app or cli.',
    '(^|/)(engine|http|platform|app|cli)/',
  ),
  moduleImport,
  testingImport,
)
const pureSyntax = [
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
  {
    selector: "MemberExpression[object.name='performance'][property.name='now']",
    message: 'Take a clock argument instead of performance.now() in pure code.',
  },
  {
    selector: "MemberExpression[object.name='crypto'][property.name=/^random/]",
    message: 'Take an id or random source argument in pure code.',
  },
  {
    selector: "MemberExpression[object.name='globalThis']",
    message: pureMessage,
  },
]
// lru-cache is pure as a bounded map. Its TTL options read a clock and may start timers, and a
// fetchMethod or memoMethod is a loader: caches with a time to live live in engines and platform
// (platform/cache.ts `ttlCache`, with the caller's clock).
const coreCacheMessage =
  'A core cache has no TTL and no loader (a clock, timers, I/O): use platform/cache.ts ttlCache in an engine.'
const coreCacheSyntax = [
  {
    selector:
      "NewExpression[callee.name='LRUCache'] Property[key.name=/^(ttl|ttlAutopurge|ttlResolution|perf|fetchMethod|memoMethod|updateAgeOnGet|updateAgeOnHas|allowStale)$/]",
    message: coreCacheMessage,
  },
  {
    selector:
      "CallExpression[callee.property.name='set'] > ObjectExpression > Property[key.name='ttl']",
    message: coreCacheMessage,
  },
]
// SQL lives in a capability's engine (its repositories); its routes parse, call the engine and
// shape the answer (docs/adr/0010-capability-layout.md). Routes reach the store through
// Queryable, `db.query(text, params)` and `exec(text)`, so those calls are refused, and so is SQL
// text handed to anything else. `exec` is refused on store handles only (`db`, `tx`, `q`,
// `ctx.db`…): RegExp has an exec too. The text check wants a statement's shape (SELECT … FROM,
// UPDATE t SET, WITH x AS …) so that messages beginning with "update" or "delete" pass; a
// statement split by `${…}` right after its keyword escapes it, but not the call that runs it.
const sqlMessage =
  "SQL lives in the capability's engine/ (a <concept>-repository.ts): a route parses, calls the engine and shapes its answer (docs/adr/0010-capability-layout.md)."
const sqlText = String.raw`/^\s*(select\s[\s\S]*\bfrom\b|select\s+(\d|\$\d|\*|distinct\b|\w+\()|insert\s+into\s|update\s+\S+(\s+(as\s+)?\w+)?\s+set\s|delete\s+from\s|with\s+(recursive\s+)?\w+(\s*\([^)]*\))?\s+as\s+(\(|(not\s+)?materialized\b)|truncate\s|merge\s+into\s)/i`
const storeHandle = '/^(db|tx|q|client|pool)$/'
const routeSqlSyntax = [
  'error',
  { selector: "CallExpression[callee.property.name='query']", message: sqlMessage },
  {
    selector: `CallExpression[callee.property.name='exec'][callee.object.name=${storeHandle}]`,
    message: sqlMessage,
  },
  {
    selector: "CallExpression[callee.property.name='exec'][callee.object.property.name='db']",
    message: sqlMessage,
  },
  { selector: `Literal[value=${sqlText}]`, message: sqlMessage },
  { selector: `TemplateElement[value.cooked=${sqlText}]`, message: sqlMessage },
]
const nodeGlobals = {
  process: 'readonly',
  console: 'readonly',
  Buffer: 'readonly',
  URL: 'readonly',
  URLSearchParams: 'readonly',
  setTimeout: 'readonly',
  clearTimeout: 'readonly',
  setInterval: 'readonly',
  clearInterval: 'readonly',
  setImmediate: 'readonly',
  fetch: 'readonly',
  AbortController: 'readonly',
  AbortSignal: 'readonly',
  TextEncoder: 'readonly',
  TextDecoder: 'readonly',
  structuredClone: 'readonly',
  performance: 'readonly',
  queueMicrotask: 'readonly',
  Response: 'readonly',
  Request: 'readonly',
  Headers: 'readonly',
  crypto: 'readonly',
}
const browserGlobals = {
  window: 'readonly',
  document: 'readonly',
  EventSource: 'readonly',
  localStorage: 'readonly',
  navigator: 'readonly',
}
const tests = ['**/*.test.ts', '**/*.test.tsx']

export default tseslint.config(
  { ignores: ['node_modules/**', 'console/dist/**', '.kindred/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: nodeGlobals },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  // The browser's globals exist in the console only; e2e tests evaluate code in the page.
  { files: ['console/**', 'e2e/**'], languageOptions: { globals: browserGlobals } },
  {
    files: ['src/protocol/**/*.ts'],
    ignores: tests,
    rules: {
      'no-restricted-imports': restrict(
        layer('protocol imports nothing of ours but protocol.', '^\\.\\./'),
        layer('protocol imports only zod and node:buffer.', '^(?!\\.|zod$|node:buffer$)'),
      ),
      'no-restricted-globals': ['error', { name: 'process', message: pureMessage }, 'fetch'],
      'no-restricted-syntax': pureSyntax,
    },
  },
  {
    files: ['src/*/core/**/*.ts'],
    ignores: tests,
    rules: {
      'no-restricted-imports': coreImports,
      'no-restricted-globals': [
        'error',
        { name: 'process', message: pureMessage },
        {
          name: 'fetch',
          message: 'Destinations return HTTP requests as data; the dispatcher sends them.',
        },
      ],
      'no-restricted-syntax': [...pureSyntax, ...coreCacheSyntax],
    },
  },
  {
    files: ['src/*/engine/**/*.ts'],
    ignores: tests,
    rules: {
      'no-restricted-imports': restrict(
        layer(
          'An engine imports cores and platform, never http, app or cli.',
          '(^|/)(http|app|cli)/',
        ),
        moduleImport,
        testingImport,
      ),
    },
  },
  {
    files: ['src/*/http/**/*.ts'],
    ignores: tests,
    rules: {
      'no-restricted-imports': restrict(
        layer(
          'Routes import engines, cores and platform/http, never app or cli.',
          '(^|/)(app|cli)/',
        ),
        moduleImport,
        testingImport,
      ),
    },
  },
  // Capability routes only: platform/http (health check, audit) is plumbing with its own SQL.
  {
    files: ['src/{collect,unify,understand,activate,govern}/http/**/*.ts'],
    ignores: tests,
    rules: { 'no-restricted-syntax': routeSqlSyntax },
  },
  {
    files: ['src/platform/**/*.ts'],
    ignores: tests,
    rules: {
      'no-restricted-imports': restrict(
        layer(
          'platform is plumbing: it imports no capability, app or cli.',
          '(^|/)(collect|unify|understand|activate|govern|app|cli)/',
        ),
        moduleImport,
        testingImport,
      ),
    },
  },
  {
    files: ['src/{collect,unify,understand,activate,govern}/*-module.ts'],
    rules: {
      'no-restricted-imports': restrict(
        layer('A module is wired by app.', '(^|/)(app|cli)/'),
        testingImport,
      ),
    },
  },
  {
    files: ['src/app/**/*.ts', 'src/cli/**/*.ts'],
    ignores: tests,
    rules: { 'no-restricted-imports': restrict(testingImport) },
  },
  // The console shares the server's types, never its code: a value import would bundle server
  // modules (and their Node built-ins) into the browser. Its tests may parse with server schemas.
  {
    files: ['console/src/**/*.ts', 'console/src/**/*.tsx'],
    ignores: tests,
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+src/',
              allowTypeImports: true,
              message: 'The console imports only types from the server (`import type`).',
            },
          ],
        },
      ],
    },
  },
)
