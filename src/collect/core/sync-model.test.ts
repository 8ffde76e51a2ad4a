import { describe, expect, it } from 'vitest'
import {
  createSyncRowMapper,
  decideRow,
  exactValue,
  maxCursor,
  modelFingerprint,
  readQuery,
  rowChecksum,
  syncMessageId,
  syncModelSchema,
  tombstoneEvent,
} from './sync-model.js'

const model = (over: Record<string, unknown> = {}) =>
  syncModelSchema.parse({
    name: 'crm',
    connectionId: 'scon_1',
    source: { table: 'crm.customers' },
    key: 'id',
    identifiers: { email: 'email', custom: { crm_id: 'id' } },
    columns: { plan: 'traits.plan', ltv: 'traits.ltv', meta: { to: 'traits.meta', type: 'json' } },
    ...over,
  })

describe('sync models', () => {
  it('keeps database values exact: decimals as text, timestamps in UTC, binary refused', () => {
    expect(exactValue('12345678901234567890.0001')).toEqual({
      ok: true,
      value: '12345678901234567890.0001',
    })
    expect(exactValue(new Date('2026-12-04T10:00:00.123+02:00'))).toEqual({
      ok: true,
      value: '2026-12-04T08:00:00.123Z',
    })
    expect(exactValue(9007199254740993n)).toEqual({ ok: true, value: '9007199254740993' })
    expect(exactValue(Buffer.from([0, 255])).ok).toBe(false)
    expect(exactValue(Number.NaN).ok).toBe(false)
  })

  it('maps a row to an identify with its identifiers, traits and the import mark', () => {
    const map = createSyncRowMapper(model(), { defaultTimestamp: '2026-12-04T00:00:00.000Z' })
    const r = map({
      id: 7,
      email: 'a@example.com',
      plan: 'pro',
      ltv: '10.50',
      meta: '{"a":1}',
      x: 1,
    })
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(r.event.type).toBe('identify')
    expect(r.event.traits).toEqual({
      email: 'a@example.com',
      plan: 'pro',
      ltv: '10.50',
      meta: { a: 1 },
    })
    expect((r.event.context as Record<string, unknown>).externalIds).toEqual([
      { id: '7', type: 'crm_id', collection: 'users', encoding: 'none' },
    ])
    expect((r.event.context as Record<string, unknown>).library).toEqual({ name: 'kindred-import' })
    expect(r.fields).toEqual(['email', 'ltv', 'meta', 'plan'])
    expect(r.identity).toMatchObject({ email: 'a@example.com' })
  })

  it('maps group and track rows', () => {
    const group = createSyncRowMapper(
      model({ kind: 'group', groupIdColumn: 'account', identifiers: { email: 'email' } }),
      { defaultTimestamp: '2026-12-04T00:00:00.000Z' },
    )({ id: 1, account: 42, email: 'a@example.com', plan: 'pro' })
    expect(group.ok && group.event).toMatchObject({
      type: 'group',
      groupId: '42',
      traits: { plan: 'pro' },
      context: { traits: { email: 'a@example.com' } },
    })
    const track = createSyncRowMapper(
      model({
        kind: 'track',
        event: 'Order Completed',
        timestampColumn: 'at',
        identifiers: { user_id: 'customer' },
        columns: { total: 'properties.total' },
      }),
      { defaultTimestamp: '2026-12-04T00:00:00.000Z' },
    )({ id: 1, customer: 5, at: new Date('2026-01-02T03:04:05Z'), total: '19.99' })
    expect(track.ok && track.event).toMatchObject({
      type: 'track',
      event: 'Order Completed',
      userId: '5',
      timestamp: '2026-01-02T03:04:05.000Z',
      properties: { total: '19.99' },
    })
  })

  it('refuses models that cannot work', () => {
    expect(syncModelSchema.safeParse({ ...model(), identifiers: {} }).success).toBe(false)
    expect(
      syncModelSchema.safeParse({ ...model(), kind: 'track', mode: 'mirror', event: 'x' }).success,
    ).toBe(false)
    expect(syncModelSchema.safeParse({ ...model(), kind: 'group' }).success).toBe(false)
    expect(
      syncModelSchema.safeParse({ ...model(), columns: { a: 'traits.__proto__.x' } }).success,
    ).toBe(false)
  })

  it('decides per mode: new, changed, unchanged, and update-only only for known people', () => {
    const known = { checksum: 'a', sent: true }
    expect(decideRow('upsert', known, 'a', false)).toBe('unchanged')
    expect(decideRow('upsert', known, 'b', false)).toBe('send')
    expect(decideRow('mirror', undefined, 'b', false)).toBe('send')
    expect(decideRow('insert_only', undefined, 'b', false)).toBe('send')
    expect(decideRow('insert_only', known, 'b', false)).toBe('skip')
    expect(decideRow('insert_only', { checksum: 'a', sent: false }, 'b', false)).toBe('send')
    expect(decideRow('update_only', undefined, 'b', false)).toBe('skip')
    expect(decideRow('update_only', undefined, 'b', true)).toBe('send')
    expect(decideRow('update_only', known, 'b', false)).toBe('send')
  })

  it('checksums change with the row and with the model, never with unmapped columns', () => {
    const m = model()
    const f = modelFingerprint(m)
    const cols = ['email', 'id', 'plan']
    const a = rowChecksum(f, cols, { id: 1, email: 'a', plan: 'pro', other: 1 })
    expect(rowChecksum(f, cols, { id: 1, email: 'a', plan: 'pro', other: 2 })).toBe(a)
    expect(rowChecksum(f, cols, { id: 1, email: 'a', plan: 'basic' })).not.toBe(a)
    expect(
      rowChecksum(modelFingerprint(model({ mode: 'mirror' })), cols, {
        id: 1,
        email: 'a',
        plan: 'pro',
      }),
    ).not.toBe(a)
    expect(syncMessageId('smod_1', '1', 1, 'row')).toBe(syncMessageId('smod_1', '1', 1, 'row'))
    expect(syncMessageId('smod_1', '1', 2, 'row')).not.toBe(syncMessageId('smod_1', '1', 1, 'row'))
  })

  it('reads in key order after the checkpoint and from the watermark, quoted per dialect', () => {
    const m = model({ cursor: 'updated_at' })
    expect(
      readQuery('postgres', m, { afterKey: '10', watermark: '2026-12-04T00:00:00.000Z' }),
    ).toEqual({
      text: 'SELECT * FROM (SELECT * FROM "crm"."customers") AS m WHERE m."id" > $1 AND m."updated_at" >= $2 ORDER BY m."id"',
      params: ['10', '2026-12-04T00:00:00.000Z'],
    })
    expect(readQuery('mysql', m, { watermark: '2026-12-04T00:00:00.000Z', limit: 5 })).toEqual({
      text: 'SELECT * FROM (SELECT * FROM `crm`.`customers`) AS m WHERE m.`updated_at` >= ? ORDER BY m.`id` LIMIT 5',
      params: ['2026-12-04 00:00:00.000'],
    })
    expect(maxCursor('9', 10)).toBe('10')
    expect(maxCursor('2026-12-04T00:00:00.000Z', '2026-12-03T00:00:00.000Z')).toBe(
      '2026-12-04T00:00:00.000Z',
    )
  })

  it('undoes a deleted row by clearing the traits it set, keeping who the person is', () => {
    expect(
      tombstoneEvent(
        'identify',
        { email: 'a@example.com' },
        ['plan', 'email'],
        '2026-12-04T00:00:00.000Z',
      ),
    ).toMatchObject({ type: 'identify', traits: { plan: null, email: 'a@example.com' } })
    expect(tombstoneEvent('identify', { email: 'a@example.com' }, [], 'x')).toBeUndefined()
    expect(tombstoneEvent('track', { email: 'a@example.com' }, ['plan'], 'x')).toBeUndefined()
  })
})
