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
    'routes run SQL',
    'src/collect/http/probe.ts',
    "import type { Queryable } from '../../platform/store/db.js'\nexport const x = (db: Queryable, w: string) => db.query('SELECT id FROM sources WHERE workspace_id = $1', [w])",
    /SQL lives in the capability's engine/,
  ],
  [
    'routes run SQL built in a template',
    'src/unify/http/probe.ts',
    "import type { Queryable } from '../../platform/store/db.js'\nconst cols = 'id'\nexport const x = (tx: Queryable) => tx.query(`SELECT ${cols} FROM matching_runs`)",
    /SQL lives/,
  ],
  [
    'routes run statements through exec',
    'src/govern/http/probe.ts',
    "import type { Db } from '../../platform/store/db.js'\nexport const x = (ctx: { db: Db }, text: string) => ctx.db.exec(text)",
    /SQL lives/,
  ],
  [
    'routes hold SQL text for something else to run',
    'src/understand/http/probe.ts',
    'export const statement = `\n  UPDATE segments s SET name = $2 WHERE s.id = $1`',
    /SQL lives/,
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
        // A route that calls its engine, with text that only looks like SQL to a careless rule:
        // RegExp#exec, the request's query, messages that begin with a verb.
        'src/activate/http/probe.ts',
        "import type { Queryable } from '../../platform/store/db.js'\nimport { deliveryJobsRepository } from '../engine/dispatcher/delivery-jobs-repository.js'\nexport const x = (db: Queryable, req: { query: unknown }, s: string) => [deliveryJobsRepository.countByState(db, 'w', 'd'), req.query, /^HTTP (\\d{3})/.exec(s), 'update the destination, then replay its dead letters', `delete ${s} first`, 'DELETE']",
      ],
      [
        // platform/http is plumbing (health check, audit): it keeps its own SQL.
        'src/platform/http/probe.ts',
        "import type { Queryable } from '../store/db.js'\nexport const x = (db: Queryable) => db.query('SELECT 1 FROM store_health')",
      ],
      [
        'src/app/probe.ts',
        "import { x as y } from '../govern/privacy-module.js'\nexport const x = y",
      ],
    ]
    for (const [file, code] of probes) expect(await problems(file, code), file).toEqual([])
  })
})
