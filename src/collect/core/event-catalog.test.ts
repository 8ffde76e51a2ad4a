import { describe, expect, it } from 'vitest'
import { MAX_FIELDS_PER_CALL, summarizeCatalog } from './event-catalog.js'

const now = new Date('2026-12-01T00:00:00.000Z')
const at = (d: string) => `2026-11-${d}T10:00:00.000Z`

describe('summarizeCatalog', () => {
  it('counts calls and fields by value type, with first and last seen', () => {
    const s = summarizeCatalog(
      [
        {
          workspaceId: 'w',
          sourceId: 's',
          event: {
            type: 'track',
            event: 'Order Completed',
            timestamp: at('03'),
            properties: { total: 10, sku: 'a' },
          },
        },
        {
          workspaceId: 'w',
          sourceId: 's',
          event: {
            type: 'track',
            event: 'Order Completed',
            timestamp: at('01'),
            properties: { total: '10.00' },
          },
        },
        {
          workspaceId: 'w',
          sourceId: 's',
          event: { type: 'identify', timestamp: at('02'), traits: { email: 'a@b.c', tags: ['x'] } },
        },
        {
          workspaceId: 'w',
          sourceId: 's',
          event: { type: 'page', name: 'Home', properties: { path: '/' } },
        },
      ],
      now,
    )
    expect(s.events).toEqual(
      expect.arrayContaining([
        {
          workspaceId: 'w',
          sourceId: 's',
          type: 'track',
          event: 'Order Completed',
          count: 2,
          firstSeen: at('01'),
          lastSeen: at('03'),
        },
        {
          workspaceId: 'w',
          sourceId: 's',
          type: 'identify',
          event: '',
          count: 1,
          firstSeen: at('02'),
          lastSeen: at('02'),
        },
        // No timestamp: the time it was processed.
        {
          workspaceId: 'w',
          sourceId: 's',
          type: 'page',
          event: 'Home',
          count: 1,
          firstSeen: now.toISOString(),
          lastSeen: now.toISOString(),
        },
      ]),
    )
    expect(s.events).toHaveLength(3)
    const fields = s.fields
      .map((f) => `${f.type}/${f.event}/${f.field}:${f.valueType}=${f.count}`)
      .sort()
    expect(fields).toEqual([
      'identify//traits.email:string=1',
      'identify//traits.tags:array=1',
      'page/Home/properties.path:string=1',
      'track/Order Completed/properties.sku:string=1',
      'track/Order Completed/properties.total:number=1',
      'track/Order Completed/properties.total:string=1',
    ])
  })

  it('keeps workspaces and sources apart and bounds the fields of one call', () => {
    const many = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`p${i}`, i]))
    const s = summarizeCatalog(
      [
        {
          workspaceId: 'w1',
          sourceId: 's',
          event: { type: 'track', event: 'X', properties: many },
        },
        {
          workspaceId: 'w2',
          sourceId: 's',
          event: { type: 'track', event: 'X', properties: { a: 1 } },
        },
        {
          workspaceId: 'w1',
          sourceId: 't',
          event: { type: 'track', event: 'X', properties: { [`${'k'.repeat(300)}`]: 1 } },
        },
      ],
      now,
    )
    expect(s.events.map((e) => `${e.workspaceId}/${e.sourceId}`).sort()).toEqual([
      'w1/s',
      'w1/t',
      'w2/s',
    ])
    expect(s.fields.filter((f) => f.workspaceId === 'w1' && f.sourceId === 's')).toHaveLength(
      MAX_FIELDS_PER_CALL,
    )
    expect(s.fields.filter((f) => f.sourceId === 't')).toEqual([])
  })
})
