import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import type { HttpEffect } from '../../core/contract.js'
import { defaultClassify } from '../../core/shared/classify.js'
import { executeHttp, executeHttpChain } from './http-executor.js'
import { loopbackGuard, startMockVendor, type MockVendor } from '../../../testing/mock-vendor.js'

let vendor: MockVendor | undefined
afterEach(async () => {
  await vendor?.close()
  vendor = undefined
})

/** A loopback port with nothing listening (bound, then released). */
async function closedPort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const { port } = s.address() as AddressInfo
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

const effect = (url: string, over: Partial<HttpEffect> = {}): HttpEffect => ({
  type: 'http',
  method: 'POST',
  url,
  headers: { 'content-type': 'application/json' },
  body: '{"a":1}',
  idempotencyKey: 'k',
  itemIds: ['i1'],
  ...over,
})

describe('executeHttp', () => {
  it('returns status, lower-case headers, body and an excerpt', async () => {
    vendor = await startMockVendor(() => ({
      status: 201,
      headers: { 'X-Thing': 'yes' },
      body: 'x'.repeat(5000),
    }))
    const r = await executeHttp(effect(`${vendor.base}/p`), {
      fetch: loopbackGuard.fetch,
      timeoutMs: 5000,
      excerptChars: 100,
    })
    expect(r.ok && [r.status, r.headers['x-thing'], r.body.length, r.bodyExcerpt.length]).toEqual([
      201,
      'yes',
      5000,
      101,
    ])
    expect(vendor.requests[0]?.json).toEqual({ a: 1 })
  })

  it('caps the body it keeps', async () => {
    vendor = await startMockVendor(() => ({ body: 'y'.repeat(100_000) }))
    const r = await executeHttp(effect(`${vendor.base}/p`), {
      fetch: loopbackGuard.fetch,
      timeoutMs: 5000,
      maxBodyBytes: 1000,
    })
    expect(r.ok && [r.body.length, r.truncated]).toEqual([1000, true])
  })

  it('classifies refused connections and timeouts as network errors', async () => {
    const refused = await executeHttp(effect(`http://127.0.0.1:${await closedPort()}/`), {
      fetch: loopbackGuard.fetch,
      timeoutMs: 2000,
    })
    expect(!refused.ok && refused.error.code).toBe('CONNECTION_REFUSED')
    const server = createServer(() => undefined) // never answers
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const { port } = server.address() as AddressInfo
    const slow = await executeHttp(effect(`http://127.0.0.1:${port}/`), {
      fetch: loopbackGuard.fetch,
      timeoutMs: 200,
    })
    server.closeAllConnections()
    server.close()
    expect(!slow.ok && slow.error.code).toBe('TIMEOUT')
  })

  it('uses an injected fetch', async () => {
    const seen: string[] = []
    const r = await executeHttp(effect('https://api.example.com/x'), {
      timeoutMs: 1000,
      fetch: async (url) => {
        seen.push(url)
        return new Response('{"ok":true}', { status: 200 })
      },
    })
    expect(seen).toEqual(['https://api.example.com/x'])
    expect(r.ok && r.body).toBe('{"ok":true}')
  })
})

describe('executeHttpChain', () => {
  it('a network error makes the chain retryable and stops it', async () => {
    const r = await executeHttpChain(
      [
        effect('http://127.0.0.1:1/a', { chain: 'c' }),
        effect('http://127.0.0.1:1/b', { chain: 'c' }),
      ],
      {
        fetch: loopbackGuard.fetch,
        timeoutMs: 1000,
        classify: defaultClassify,
      },
    )
    expect(r.classification.outcome).toBe('retry')
    expect(r.steps).toHaveLength(1)
  })

  it('carries captures forward and stops at the first failing step', async () => {
    vendor = await startMockVendor((req) =>
      req.path === '/one' ? { body: { id: 'abc' } } : { status: 400, body: { message: 'nope' } },
    )
    const steps = [
      effect(`${vendor.base}/one`, { chain: 'c', captures: [{ name: 'id', pointer: '/id' }] }),
      effect(`${vendor.base}/two/\${id}`, { chain: 'c', body: '{"ref":"${id}"}' }),
      effect(`${vendor.base}/three`, { chain: 'c' }),
    ]
    const r = await executeHttpChain(steps, {
      fetch: loopbackGuard.fetch,
      timeoutMs: 5000,
      classify: defaultClassify,
    })
    expect(vendor.requests.map((q) => q.path)).toEqual(['/one', '/two/abc'])
    expect(vendor.requests[1]?.json).toEqual({ ref: 'abc' })
    expect(r.classification).toEqual({ outcome: 'fail', message: 'HTTP 400: nope' })
  })
})
