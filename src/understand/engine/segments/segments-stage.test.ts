/**
 * The real-time path (stage) against the batch path (SQL backfill and batch evaluation) on the
 * same random data, fed in several micro-batches: same computed trait values, same members.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { openStore, type Store } from '../../../platform/store/open-store.js'
import type { ProcessedEvent } from '../../../platform/pipeline/processor.js'
import type { KindredEvent } from '../../../protocol/event-schema.js'
import { createComputedTrait, createSegment } from './segments-service.js'
import { createSegmentsStage } from './segments-stage.js'
import { evaluateSegmentBatch } from './membership.js'
import { loadSegments } from './definitions.js'
import {
  compileComputedTraitBackfill,
  readState,
  valueOf,
} from '../../core/computed-traits/index.js'
import { loadComputedTraits } from './definitions.js'

const WS = 'ws_stage'
const NOW = new Date('2026-03-10T12:00:00.000Z')
const DAY = 86_400_000
let store: Store

function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

beforeAll(async () => {
  store = await openStore({})
})
afterAll(() => store.close())

const traits = [
  {
    id: 'orders_7d',
    def: { aggregate: 'count', event: { event: 'Order' }, window: { amount: 7, unit: 'days' } },
  },
  { id: 'spend', def: { aggregate: 'sum', property: 'total', event: { event: 'Order' } } },
  { id: 'last_plan', def: { aggregate: 'last', property: 'plan', event: { type: 'track' } } },
  { id: 'pages', def: { aggregate: 'unique_count', property: 'path', event: { type: 'page' } } },
]
const segments = [
  { kind: 'computed_trait', id: 'orders_7d', condition: { op: 'gte', value: 2 } },
  {
    kind: 'and',
    children: [
      { kind: 'computed_trait', id: 'spend', condition: { op: 'gt', value: 100 } },
      { kind: 'trait', trait: 'tier', condition: { op: 'in', values: ['gold', 'silver'] } },
    ],
  },
  {
    kind: 'event',
    event: 'Order',
    count: { op: 'lte', value: 1 },
    window: { kind: 'last', amount: 3, unit: 'days' },
  },
  {
    kind: 'or',
    children: [
      { kind: 'segment', id: 's0' },
      { kind: 'computed_trait', id: 'pages', condition: { op: 'gte', value: 3 } },
    ],
  },
  { kind: 'not', child: { kind: 'segment', id: 's1' } },
]

it('keeps the same values and members in real time as a batch run over the same events', async () => {
  const { db } = store
  const now = () => NOW
  for (const t of traits)
    await createComputedTrait(db, WS, { id: t.id, name: t.id, definition: t.def }, NOW)
  for (const [i, def] of segments.entries())
    await createSegment(db, WS, { id: `s${i}`, name: `S${i}`, definition: def }, NOW)
  const stage = createSegmentsStage(now)
  const rand = rng(7)
  const profiles = Array.from({ length: 25 }, (_, i) => `prf_${String(i).padStart(3, '0')}`)
  let seq = 0
  for (let b = 0; b < 6; b++) {
    // Profiles are created by the batch that first names them, at its receive time (as identity does).
    const receivedAt = new Date(NOW.getTime() + b * 1000).toISOString()
    const batch: ProcessedEvent[] = []
    for (let i = 0; i < 40; i++) {
      const pid = profiles[Math.floor(rand() * profiles.length)] as string
      const kind = rand()
      const ts = new Date(NOW.getTime() - Math.floor(rand() * 10 * DAY)).toISOString()
      const event: KindredEvent = {
        messageId: `m-${b}-${i}`,
        type: kind < 0.5 ? 'track' : kind < 0.8 ? 'page' : 'identify',
        ...(kind < 0.5 ? { event: rand() < 0.7 ? 'Order' : 'Other' } : {}),
        ...(kind >= 0.5 && kind < 0.8 ? { name: 'Page' } : {}),
        properties:
          kind < 0.5
            ? { total: Math.floor(rand() * 90), plan: ['a', 'b', 'c'][Math.floor(rand() * 3)] }
            : { path: `/p${Math.floor(rand() * 5)}` },
        traits: kind >= 0.8 ? { tier: ['gold', 'silver', 'bronze'][Math.floor(rand() * 3)] } : {},
        context: {},
        integrations: {},
        timestamp: ts,
        originalTimestamp: ts,
        receivedAt,
      }
      batch.push({ workspaceId: WS, sourceId: 'src_1', seq: ++seq, event, profileId: pid })
    }
    await db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO profiles (workspace_id, id, traits, created_at, updated_at)
         SELECT $1, id, '{}'::jsonb, $3, $3 FROM unnest($2::text[]) AS id ON CONFLICT DO NOTHING`,
        [WS, [...new Set(batch.map((e) => e.profileId))], receivedAt],
      )
      // What the identity stage and the processor do before our stage: traits, then events.
      for (const e of batch)
        if (e.event.type === 'identify')
          await tx.query(
            `UPDATE profiles SET traits = traits || $3::jsonb WHERE workspace_id = $1 AND id = $2`,
            [WS, e.profileId, JSON.stringify(e.event.traits)],
          )
      await tx.query(
        `INSERT INTO events (workspace_id, profile_id, source_id, message_id, seq, type, event,
           "timestamp", received_at, properties, payload)
         SELECT $1, x.profile_id, 'src_1', x.message_id, x.seq, x.type, x.event, x.ts, x.ts, x.properties, '{}'
         FROM jsonb_to_recordset($2::jsonb) AS x(profile_id text, message_id text, seq bigint,
           type text, event text, ts timestamptz, properties jsonb)`,
        [
          WS,
          JSON.stringify(
            batch.map((e) => ({
              profile_id: e.profileId,
              message_id: e.event.messageId,
              seq: e.seq,
              type: e.event.type,
              event: e.event.event ?? (e.event.type === 'page' ? e.event.name : null),
              ts: e.event.timestamp,
              properties: e.event.properties,
            })),
          ),
        ],
      )
      await stage(tx, batch)
    })
  }

  // Computed traits: stored (incremental) = SQL backfill.
  for (const ct of await loadComputedTraits(db, WS)) {
    const q = compileComputedTraitBackfill(ct.definition, { workspaceId: WS, now: NOW })
    const backfill = await db.query<{ profile_id: string; state: unknown }>(q.text, q.values)
    const stored = await db.query<{ profile_id: string; value: unknown }>(
      `SELECT profile_id, value FROM computed_trait_values WHERE workspace_id = $1 AND computed_trait_id = $2 ORDER BY profile_id`,
      [WS, ct.id],
    )
    const expected = backfill.rows
      .map((r) => ({
        profile_id: r.profile_id,
        value: valueOf(ct.definition, readState(r.state), NOW),
      }))
      .sort((a, b) => a.profile_id.localeCompare(b.profile_id))
    expect(stored.rows.length, ct.id).toBeGreaterThan(0)
    for (const [i, r] of stored.rows.entries()) {
      const e = expected[i]
      expect(r.profile_id).toBe(e?.profile_id)
      if (typeof r.value === 'number') expect(r.value).toBeCloseTo(e?.value as number, 9)
      else expect(r.value).toEqual(e?.value)
    }
    expect(stored.rows).toHaveLength(expected.length)
  }

  // Segments: members kept in real time = a batch evaluation from scratch.
  let nonTrivial = 0
  for (const seg of await loadSegments(db, WS)) {
    const rt = await db.query<{ profile_id: string }>(
      'SELECT profile_id FROM segment_members WHERE workspace_id = $1 AND segment_id = $2 ORDER BY profile_id',
      [WS, seg.id],
    )
    const fresh = await db.transaction(async (tx) => {
      await tx.query('DELETE FROM segment_members WHERE workspace_id = $1 AND segment_id = $2', [
        WS,
        seg.id,
      ])
      const d = await evaluateSegmentBatch(tx, WS, seg, NOW)
      return d.entered.sort()
    })
    expect(
      rt.rows.map((r) => r.profile_id),
      seg.id,
    ).toEqual(fresh)
    if (fresh.length > 0 && fresh.length < profiles.length) nonTrivial++
  }
  expect(nonTrivial).toBeGreaterThanOrEqual(3)

  // History: every current member has exactly one open stay.
  const open = await db.query<{ n: number | string }>(
    `SELECT count(*) AS n FROM segment_membership_history h WHERE h.workspace_id = $1 AND h.exited_at IS NULL
     AND NOT EXISTS (SELECT 1 FROM segment_members m WHERE m.workspace_id = h.workspace_id
       AND m.segment_id = h.segment_id AND m.profile_id = h.profile_id)`,
    [WS],
  )
  expect(Number(open.rows[0]?.n)).toBe(0)
})
