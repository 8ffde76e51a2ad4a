/**
 * The layout's arrows are lint rules (eslint.config.js; docs/adr/0010-capability-layout.md). Each
 * probe below breaks one rule from a file in the folder the rule guards, and must be refused; a
 * probe that keeps to the rules must pass, so the rules cannot simply refuse everything.
 */
import path from 'node:path'
import { ESLint } from 'eslint'
import { describe, expect, it } from 'vitest'

const root = path.resolve(import.meta.dirname, '../..')
const eslint = new ESLint({ cwd: root })

async function problems(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) })
  return (result?.messages ?? [])
    .filter((m) => m.ruleId?.startsWith('no-restricted') ?? false)
    .map((m) => m.message)
}

const refused: Array<[string, string, string, RegExp]> = [
  [
    'a core does I/O',
    'src/unify/core/probe.ts',
    "import { readFileSync } from 'node:fs'\nexport const x = readFileSync",
    /pure libraries/,
  ],
  [
    'a core reads the environment via node:process',
    'src/understand/core/probe.ts',
    "import { env } from 'node:process'\nexport const x = env",
    /pure libraries/,
  ],
  [
    'a core imports node:os',
    'src/govern/core/probe.ts',
    "import os from 'node:os'\nexport const x = os",
    /pure libraries/,
  ],
  [
    'a core imports an HTTP client',
    'src/activate/core/probe.ts',
    "import { request } from 'undici'\nexport const x = request",
    /pure libraries/,
  ],
  [
    'a core reads globalThis.process',
    'src/collect/core/probe.ts',
    'export const x = globalThis.process.env.X',
    /Pure code/,
  ],
  [
    'a core reads the clock',
    'src/unify/core/probe.ts',
    'export const x = () => Date.now()',
    /clock/,
  ],
  [
    'a core reads performance.now()',
    'src/unify/core/probe.ts',
    'export const x = () => performance.now()',
    /clock/,
  ],
  [
    'a core makes random ids',
    'src/unify/core/probe.ts',
    'export const x = () => crypto.randomUUID()',
    /random/,
  ],
  [
    'a core gives a cache a time to live (a clock and timers)',
    'src/unify/core/probe.ts',
    "import { LRUCache } from 'lru-cache'\nexport const x = new LRUCache<string, number>({ max: 10, ttl: 1000 })",
    /no TTL/,
  ],
  [
    'a core sets a cache entry with a time to live',
    'src/collect/core/probe.ts',
    "import type { LRUCache } from 'lru-cache'\nexport const x = (c: LRUCache<string, number>) => c.set('k', 1, { ttl: 5 })",
    /no TTL/,
  ],
  [
    'a core gives a cache a loader',
    'src/activate/core/probe.ts',
    "import { LRUCache } from 'lru-cache'\nexport const x = new LRUCache<string, number>({ max: 10, fetchMethod: async () => 1 })",
    /no loader/,
  ],
  [
    'a core imports an engine',
    'src/understand/core/probe.ts',
    "import { x as y } from '../engine/segments/segments-service.js'\nexport const x = y",
    /no engine/,
  ],
  [
    'a core imports platform',
    'src/unify/core/probe.ts',
    "import type { Db } from '../../platform/store/db.js'\nexport type X = Db",
    /no engine, http, platform/,
  ],
  [
    'protocol imports a capability',
    'src/protocol/probe.ts',
    "import { x as y } from '../unify/core/identity/index.js'\nexport const x = y",
    /nothing of ours/,
  ],
  [
    'an engine imports routes',
    'src/activate/engine/probe.ts',
    "import { x as y } from '../http/destination-routes.js'\nexport const x = y",
    /never http/,
  ],
  [
    'an engine imports the composition root',
    'src/unify/engine/probe.ts',
    "import { x as y } from '../../app/runtime.js'\nexport const x = y",
    /never http, app/,
  ],
  [
    'routes import the composition root',
    'src/govern/http/probe.ts',
    "import { x as y } from '../../app/runtime.js'\nexport const x = y",
    /never app/,
  ],
  [
    'platform imports a capability',
    'src/platform/pipeline/probe.ts',
    "import { x as y } from '../../unify/engine/identity-stage.js'\nexport const x = y",
    /no capability/,
  ],
  [
    'an engine imports a module',
    'src/collect/engine/probe.ts',
    "import { x as y } from '../../govern/privacy-module.js'\nexport const x = y",
    /Only src\/app/,
  ],
  [
    'runtime code imports test support',
    'src/activate/engine/probe.ts',
    "import { x as y } from '../../testing/test-server.js'\nexport const x = y",
    /Only tests/,
  ],
]

describe('layout rules', () => {
  it.each(refused)('refuses when %s', async (_name, file, code, message) => {
    const found = await problems(file, code)
    const all = await eslint.lintText(code, { filePath: path.join(root, file) })
    const messages = [...found, ...(all[0]?.messages ?? []).map((m) => m.message)]
    expect(
      messages.some((m) => message.test(m)),
      messages.join('\n'),
    ).toBe(true)
  })

  it('lets code that keeps to the rules through', async () => {
    const probes: Array<[string, string]> = [
      [
        'src/unify/core/probe.ts',
        "import { z } from 'zod'\nimport { createHash } from 'node:crypto'\nimport type { KindredError } from '../../protocol/errors.js'\nexport const x = [z, createHash] as const\nexport type E = KindredError",
      ],
      [
        'src/unify/engine/probe.ts',
        "import type { Db } from '../../platform/store/db.js'\nexport type X = Db",
      ],
      [
        'src/unify/core/probe.ts',
        "import { LRUCache } from 'lru-cache'\nexport const x = new LRUCache<string, number>({ max: 10 })",
      ],
      [
        'src/app/probe.ts',
        "import { x as y } from '../govern/privacy-module.js'\nexport const x = y",
      ],
    ]
    for (const [file, code] of probes) expect(await problems(file, code), file).toEqual([])
  })
})
