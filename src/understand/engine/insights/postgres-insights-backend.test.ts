import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Store } from '../../../platform/store/open-store.js'
import { isKindredError } from '../../../protocol/errors.js'
import { storeTargets } from '../../../testing/databases.js'
import {
  parseInsightDefinition,
  planInsight,
  postgresInsightDialect,
} from '../../core/insights/index.js'
import { postgresInsightsBackend } from './postgres-insights-backend.js'

const ctx = { nowMs: Date.UTC(2025, 1, 1), timeZone: 'UTC' }
const funnel = parseInsightDefinition({
  kind: 'funnel',
  steps: [{ event: 'A' }, { event: 'B' }, { event: 'C' }],
  range: { kind: 'between', from: '2025-01-01', to: '2025-01-31' },
})
const plan = () => planInsight(funnel, ctx, { dialect: postgresInsightDialect, workspaceId: 'ws' })

describe.each(storeTargets().map((t) => [t.name, t] as const))(
  'the Postgres backend on %s',
  (_name, target) => {
    let store: Store
    const events = target.name === 'postgres' ? 400_000 : 2_000
    beforeAll(async () => {
      store = await target.open()
      await store.db.query(
        `INSERT INTO events (workspace_id, profile_id, source_id, message_id, seq, type, event,
         "timestamp", received_at, properties, payload)
       SELECT 'ws', 'p' || (i % 20000), 'src', 'm' || i, i, 'track', (ARRAY['A', 'B', 'C'])[1 + i % 3],
         timestamptz '2025-01-01' + ((i::bigint * 7919) % 2592000) * interval '1 second', now(), '{}', '{}'
       FROM generate_series(1, $1::int) AS i`,
        [events],
      )
    }, 300_000)
    afterAll(() => store.close())

    it('runs a plan', async () => {
      const r = await postgresInsightsBackend(store.db).run(plan(), { timeoutMs: 60_000 })
      const starters = new Set<number>()
      for (let i = 3; i <= events; i += 3) starters.add(i % 20_000)
      expect(r.kind === 'funnel' && r.steps[0]?.count).toBe(starters.size)
    }, 120_000)

    it('answers QUERY_TIMEOUT over the time limit', async () => {
      // A server stops the statement (statement_timeout); the embedded store, which cannot stop a
      // running statement, refuses a plan that would read more than its budget before it starts.
      const backend = postgresInsightsBackend(store.db, { embeddedEventsPerSecond: 100 })
      const started = performance.now()
      const err = await backend.run(plan(), { timeoutMs: 5 }).catch((e: unknown) => e)
      expect(isKindredError(err) && err.code).toBe('QUERY_TIMEOUT')
      expect(performance.now() - started).toBeLessThan(10_000)
      if (target.name === 'pglite')
        expect(isKindredError(err) && err.details).toMatchObject({
          reason: 'embedded_budget',
          budget: 1,
        })
      else expect(isKindredError(err) && err.details).not.toHaveProperty('reason')
      // The connection is fine afterwards.
      expect((await store.db.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one).toBe(1)
    })
  },
)
