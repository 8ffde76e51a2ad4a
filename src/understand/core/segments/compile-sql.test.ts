import { describe, expect, it } from 'vitest'
import {
  compileSegmentMembers,
  compileSegmentMembersFor,
  compileSegmentPreview,
} from './compile-sql.js'
import { parseSegmentDefinition, type SegmentNode } from './definition.js'

const now = new Date('2025-01-15T12:00:00.000Z')
const opts = { workspaceId: 'ws_1', now }

/** The 3-condition segment of the benchmark: trait + event count in 30 days + computed trait. */
const threeConditions: SegmentNode = {
  kind: 'and',
  children: [
    { kind: 'trait', trait: 'plan', condition: { op: 'eq', value: 'pro' } },
    {
      kind: 'event',
      event: 'Order Completed',
      count: { op: 'gte', value: 3 },
      window: { kind: 'last', amount: 30, unit: 'days' },
    },
    { kind: 'computed_trait', id: 'ltv', condition: { op: 'gt', value: 100 } },
  ],
}

describe('golden SQL', () => {
  it('batch members of a 3-condition segment', () => {
    expect(compileSegmentMembers(threeConditions, opts)).toMatchInlineSnapshot(`
      {
        "text": "SELECT p.id FROM profiles p WHERE p.workspace_id = $1::text AND p.merged_into IS NULL AND ((coalesce((jsonb_typeof((p.traits -> $2::text)) = 'string' AND ((p.traits -> $2::text) #>> '{}') = $3::text), false)) AND p.id IN (SELECT e1.profile_id FROM events e1 WHERE e1.workspace_id = $1::text AND e1.profile_id IS NOT NULL AND e1.event = $4::text AND e1."timestamp" > $5::timestamptz AND e1."timestamp" <= $6::timestamptz GROUP BY e1.profile_id HAVING count(*) >= $7::int) AND EXISTS (SELECT 1 FROM computed_trait_values ct2 WHERE ct2.workspace_id = $1::text AND ct2.profile_id = p.id AND ct2.computed_trait_id = $8::text AND coalesce(kindred_num(ct2.value) > $9::float8, false)))",
        "values": [
          "ws_1",
          "plan",
          "pro",
          "Order Completed",
          "2024-12-16T12:00:00.000Z",
          "2025-01-15T12:00:00.000Z",
          3,
          "ltv",
          100,
        ],
      }
    `)
  })

  it('the same segment for a micro-batch of profiles (correlated, index range scans)', () => {
    expect(compileSegmentMembersFor(threeConditions, ['p1', 'p2'], opts)).toMatchInlineSnapshot(`
      {
        "text": "SELECT p.id FROM profiles p WHERE p.workspace_id = $1::text AND p.merged_into IS NULL AND p.id = ANY($2::text[]) AND ((coalesce((jsonb_typeof((p.traits -> $3::text)) = 'string' AND ((p.traits -> $3::text) #>> '{}') = $4::text), false)) AND (SELECT count(*) FROM (SELECT 1 FROM events e1 WHERE e1.workspace_id = $1::text AND e1.profile_id = p.id AND e1.event = $5::text AND e1."timestamp" > $6::timestamptz AND e1."timestamp" <= $7::timestamptz LIMIT $8::int) AS c) >= $9::int AND EXISTS (SELECT 1 FROM computed_trait_values ct2 WHERE ct2.workspace_id = $1::text AND ct2.profile_id = p.id AND ct2.computed_trait_id = $10::text AND coalesce(kindred_num(ct2.value) > $11::float8, false)))",
        "values": [
          "ws_1",
          [
            "p1",
            "p2",
          ],
          "plan",
          "pro",
          "Order Completed",
          "2024-12-16T12:00:00.000Z",
          "2025-01-15T12:00:00.000Z",
          3,
          3,
          "ltv",
          100,
        ],
      }
    `)
  })

  it('not performed, funnel, segment, consent, nested path, ignoreCase', () => {
    const def = parseSegmentDefinition({
      kind: 'or',
      children: [
        { kind: 'event', event: 'Signed Up', performed: false },
        {
          kind: 'funnel',
          steps: [
            {
              event: 'Viewed',
              where: [{ property: ['product', 'sku'], condition: { op: 'exists' } }],
            },
            { event: 'Bought' },
          ],
          within: { amount: 1, unit: 'days' },
          window: { kind: 'between', from: '2025-01-01', to: '2025-02-01' },
        },
        {
          kind: 'and',
          children: [
            { kind: 'segment', id: 'seg_vip', member: false },
            { kind: 'consent', purpose: 'email', status: 'granted' },
            {
              kind: 'trait',
              trait: ['address', 'city'],
              condition: { op: 'in', values: ['Paris', 'lyon'], ignoreCase: true },
            },
          ],
        },
      ],
    })
    expect(compileSegmentMembers(def, opts)).toMatchInlineSnapshot(`
      {
        "text": "SELECT p.id FROM profiles p WHERE p.workspace_id = $1::text AND p.merged_into IS NULL AND (NOT (EXISTS (SELECT 1 FROM events e1 WHERE e1.workspace_id = $1::text AND e1.profile_id = p.id AND e1.event = $2::text)) OR EXISTS (SELECT 1 FROM events e2 WHERE e2.workspace_id = $1::text AND e2.profile_id = p.id AND e2.event = $4::text AND coalesce(jsonb_typeof((e2.properties #> $5::text[])) <> 'null', false) AND e2."timestamp" >= $6::timestamptz AND e2."timestamp" < $7::timestamptz AND EXISTS (SELECT 1 FROM events e3 WHERE e3.workspace_id = $1::text AND e3.profile_id = p.id AND e3.event = $8::text AND e3."timestamp" >= $9::timestamptz AND e3."timestamp" < $10::timestamptz AND e3."timestamp" > e2."timestamp" AND e3."timestamp" <= e2."timestamp" + $3::bigint * interval '1 millisecond')) OR (NOT EXISTS (SELECT 1 FROM segment_members sm4 WHERE sm4.workspace_id = $1::text AND sm4.segment_id = $11::text AND sm4.profile_id = p.id) AND EXISTS (SELECT 1 FROM profile_consents pc5 WHERE pc5.workspace_id = $1::text AND pc5.profile_id = p.id AND pc5.purpose = $12::text AND pc5.status = $13::text) AND (coalesce((jsonb_typeof((p.traits #> $14::text[])) = 'string' AND kindred_fold((p.traits #> $14::text[]) #>> '{}') = ANY($15::text[])), false))))",
        "values": [
          "ws_1",
          "Signed Up",
          86400000,
          "Viewed",
          [
            "product",
            "sku",
          ],
          "2025-01-01T00:00:00.000Z",
          "2025-02-01T00:00:00.000Z",
          "Bought",
          "2025-01-01T00:00:00.000Z",
          "2025-02-01T00:00:00.000Z",
          "seg_vip",
          "email",
          "granted",
          [
            "address",
            "city",
          ],
          [
            "paris",
            "lyon",
          ],
        ],
      }
    `)
  })

  it('preview: count and sample in one statement', () => {
    const def: SegmentNode = {
      kind: 'trait',
      trait: 'signup',
      condition: { op: 'date_within_last', amount: 7, unit: 'days' },
    }
    expect(compileSegmentPreview(def, { ...opts, sampleSize: 5 })).toMatchInlineSnapshot(`
      {
        "text": "WITH m AS MATERIALIZED (SELECT p.id FROM profiles p WHERE p.workspace_id = $1::text AND p.merged_into IS NULL AND (coalesce(kindred_ts_ms((p.traits -> $2::text)) BETWEEN $3::float8 AND $4::float8, false))) SELECT (SELECT count(*) FROM m) AS count, coalesce((SELECT array_agg(s.id ORDER BY s.id) FROM (SELECT id FROM m ORDER BY id LIMIT $5::int) s), '{}'::text[]) AS sample",
        "values": [
          "ws_1",
          "signup",
          1736337600000,
          1736942400000,
          5,
        ],
      }
    `)
  })

  it('never puts values into the SQL text', () => {
    const evil = "x'); DROP TABLE profiles; --"
    const def: SegmentNode = {
      kind: 'and',
      children: [
        { kind: 'trait', trait: evil, condition: { op: 'eq', value: evil } },
        {
          kind: 'event',
          event: evil,
          where: [{ property: [evil, evil], condition: { op: 'contains', value: evil } }],
        },
        { kind: 'computed_trait', id: evil, condition: { op: 'starts_with', value: evil } },
        { kind: 'segment', id: evil },
        { kind: 'consent', purpose: evil, status: 'granted' },
      ],
    }
    const q = compileSegmentMembers(def, { workspaceId: evil, now })
    expect(q.text).not.toContain('DROP')
    expect(q.values.filter((v) => v === evil).length).toBeGreaterThanOrEqual(7)
  })
})
