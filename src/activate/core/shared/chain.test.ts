import { describe, expect, it } from 'vitest'
import type { Effect, HttpEffect } from '../contract.js'
import { extractCaptures, groupEffects, resolveEffect, shouldSkip } from './chain.js'

const step = (over: Partial<HttpEffect> = {}): HttpEffect => ({
  type: 'http',
  method: 'POST',
  url: 'https://api.example.com/v1/${job}:run',
  headers: {},
  body: '{"ids":"${ids}","keep":"${missing}"}',
  idempotencyKey: 'k',
  itemIds: ['a'],
  ...over,
})

describe('captures', () => {
  it('reads JSON pointers, maps * over arrays and picks keys', () => {
    const body = JSON.stringify({
      resourceName: 'customers/1/jobs/2',
      results: [{ id: '7', x: 1 }, { id: '8' }],
      data: [{ type: 'p', id: 'a', attributes: {} }],
    })
    expect(
      extractCaptures(
        [
          { name: 'job', pointer: '/resourceName' },
          { name: 'ids', pointer: '/results/*/id' },
          { name: 'refs', pointer: '/data', pick: ['type', 'id'] },
          { name: 'absent', pointer: '/nope' },
        ],
        body,
      ),
    ).toEqual({ job: 'customers/1/jobs/2', ids: ['7', '8'], refs: [{ type: 'p', id: 'a' }] })
    expect(extractCaptures([{ name: 'x', pointer: '/a' }], 'not json')).toEqual({})
  })

  it('fills url (raw when path-safe, else encoded) and body (as JSON values), leaving unknown names', () => {
    const r = resolveEffect(step(), { job: 'customers/1/jobs/2', ids: ['7', '8'] })
    expect(r.url).toBe('https://api.example.com/v1/customers/1/jobs/2:run')
    expect(JSON.parse(r.body!)).toEqual({ ids: ['7', '8'], keep: '${missing}' })
    expect(resolveEffect(step(), { job: 'a b?c' }).url).toBe(
      'https://api.example.com/v1/a%20b%3Fc:run',
    )
  })

  it('skips a step when its skipIfEmpty capture is empty or missing', () => {
    const s = step({ skipIfEmpty: 'ids' })
    expect(shouldSkip(s, {})).toBe(true)
    expect(shouldSkip(s, { ids: [] })).toBe(true)
    expect(shouldSkip(s, { ids: ['1'] })).toBe(false)
    expect(shouldSkip(step(), {})).toBe(false)
  })
})

it('groups chained effects in order and keeps others alone', () => {
  const e = (id: string, chain?: string): Effect =>
    step({ idempotencyKey: id, ...(chain ? { chain } : {}) })
  const groups = groupEffects([e('1', 'a'), e('2'), e('3', 'a'), e('4', 'b'), e('5')])
  expect(groups.map((g) => g.map((x) => x.idempotencyKey))).toEqual([
    ['1', '3'],
    ['2'],
    ['4'],
    ['5'],
  ])
})
