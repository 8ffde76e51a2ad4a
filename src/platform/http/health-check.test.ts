import { describe, expect, it } from 'vitest'
import type { Queryable } from '../store/db.js'
import { toKindredError } from './errors.js'
import { checkHealth } from './health-check.js'

const failing = (err: unknown): Queryable =>
  ({ query: () => Promise.reject(err) }) as unknown as Queryable

describe('store I/O errors', () => {
  it.each([
    [{ code: '42501', message: 'could not open file "base/5/16671": Permission denied' }],
    [{ code: '53100', message: 'could not extend file: No space left on device' }],
    [{ code: '58030', message: 'could not write to file' }],
    [Object.assign(new Error('EROFS: read-only file system, open'), { code: 'EROFS' })],
  ])('are a 503 STORE_UNAVAILABLE with Retry-After, not a 500', (err) => {
    const ke = toKindredError(err)
    expect(ke.code).toBe('STORE_UNAVAILABLE')
    expect(ke.status).toBe(503)
    expect(ke.headers['Retry-After']).toBeDefined()
  })

  it('leave other failures alone', () => {
    expect(toKindredError(new Error('boom')).code).toBe('INTERNAL')
    expect(toKindredError({ code: '42501', message: 'permission denied for table x' }).code).toBe(
      'INTERNAL',
    )
    expect(toKindredError({ code: '23505', message: 'duplicate key' }).code).toBe('INTERNAL')
  })

  it('degrade /healthz, which writes to the store, and clear when the store takes writes again', async () => {
    let down = true
    const db = {
      query: () =>
        down
          ? Promise.reject({ code: '42501', message: 'could not open file: Permission denied' })
          : Promise.resolve({ rows: [{ checked_at: new Date() }] }),
    } as unknown as Queryable
    const bad = await checkHealth(db, undefined)
    expect(bad.httpStatus).toBe(503)
    expect(bad.body).toMatchObject({ status: 'degraded', error: { code: 'STORE_UNAVAILABLE' } })
    down = false
    expect((await checkHealth(db, undefined)).httpStatus).toBe(200)
    expect((await checkHealth(failing(new Error('x')), undefined)).body.error?.code).toBe(
      'STORE_UNAVAILABLE',
    )
  })
})
