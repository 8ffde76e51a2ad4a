import { createServer as createTcpServer, type AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import type { HttpEffect } from '../../core/contract.js'
import { defaultClassify } from '../../core/shared/classify.js'
import { parseOutboundAllow } from '../../../protocol/outbound-policy.js'
import { executeHttp, executeHttpChain } from './http-executor.js'
import { createOutboundGuard, type LookupAll } from './outbound-guard.js'
import { createPgPool, executeSql } from './sql-executor.js'
import { startMockVendor, type MockVendor } from '../../../testing/mock-vendor.js'

let vendor: MockVendor | undefined
afterEach(async () => {
  await vendor?.close()
  vendor = undefined
})

const effect = (url: string): HttpEffect => ({
  type: 'http',
  method: 'POST',
  url,
  headers: { 'content-type': 'application/json' },
  body: '{"a":1}',
  idempotencyKey: 'k',
  itemIds: ['i1'],
})

/** A resolver answering from a table, counting questions. */
function fakeDns(answers: Record<string, string[][]>): LookupAll & { calls: string[] } {
  const calls: string[] = []
  const seen: Record<string, number> = {}
  const fn = async (host: string) => {
    calls.push(host)
    const n = (seen[host] = (seen[host] ?? -1) + 1)
    const list = answers[host]
    const pick = list?.[Math.min(n, list.length - 1)]
    if (!pick) throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' })
    return pick.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
  }
  return Object.assign(fn, { calls })
}

describe('outbound guard (strict by default)', () => {
  it('refuses loopback in every spelling without connecting, and does not retry', async () => {
    vendor = await startMockVendor()
    const port = new URL(vendor.base).port
    for (const host of ['127.0.0.1', '0x7f000001', '2130706433', '127.1', '[::ffff:127.0.0.1]']) {
      const r = await executeHttp(effect(`http://${host}:${port}/probe`), { timeoutMs: 2000 })
      expect(!r.ok && r.error.code, host).toBe('OUTBOUND_ADDRESS_REFUSED')
    }
    expect(vendor.requests).toHaveLength(0)
    const chain = await executeHttpChain([effect(`http://127.0.0.1:${port}/x`)], {
      timeoutMs: 2000,
      classify: defaultClassify,
    })
    expect(chain.classification).toMatchObject({
      outcome: 'fail',
      message: expect.stringMatching(/^OUTBOUND_ADDRESS_REFUSED: 127\.0\.0\.1 is a loopback/),
    })
  })

  it('refuses unsupported schemes as a permanent failure', async () => {
    for (const url of ['file:///etc/passwd', 'data:text/plain,hi', 'ftp://example.com/']) {
      const chain = await executeHttpChain([effect(url)], {
        timeoutMs: 2000,
        classify: defaultClassify,
      })
      expect(chain.classification.outcome, url).toBe('fail')
    }
  })

  it('refuses a name when any of its addresses is private', async () => {
    const dns = fakeDns({
      'internal.example': [['10.0.0.7']],
      'mixed.example': [['93.184.216.34', '169.254.169.254']],
    })
    const guard = createOutboundGuard(undefined, { lookup: dns })
    await expect(guard.resolve('internal.example', 80)).rejects.toMatchObject({
      code: 'OUTBOUND_ADDRESS_REFUSED',
      message: expect.stringContaining('internal.example (10.0.0.7) is a private address'),
    })
    await expect(guard.resolve('mixed.example', 443)).rejects.toMatchObject({
      code: 'OUTBOUND_ADDRESS_REFUSED',
    })
    expect(await guard.resolve('93.184.216.34', 443)).toEqual({
      address: '93.184.216.34',
      family: 4,
    })
  })

  it('connects to the address it checked: a DNS answer that changes afterwards is not used', async () => {
    vendor = await startMockVendor(() => ({ body: { ok: true } }))
    const port = new URL(vendor.base).port
    // First answer: allowed loopback (the "vendor"); any later answer would be the metadata host.
    const dns = fakeDns({ 'rebind.example': [['127.0.0.1'], ['169.254.169.254']] })
    const guard = createOutboundGuard(parseOutboundAllow('127.0.0.1'), { lookup: dns })
    const r = await executeHttp(effect(`http://rebind.example:${port}/hook`), {
      fetch: guard.fetch,
      timeoutMs: 5000,
    })
    expect(r.ok && r.status).toBe(200)
    expect(dns.calls).toEqual(['rebind.example'])
    expect(vendor.requests[0]?.headers.host).toBe(`rebind.example:${port}`)
    // The next request asks again, gets the rebound answer, and is refused.
    const again = await executeHttp(effect(`http://rebind.example:${port}/hook`), {
      fetch: guard.fetch,
      timeoutMs: 5000,
    })
    expect(!again.ok && again.error.code).toBe('OUTBOUND_ADDRESS_REFUSED')
    expect(vendor.requests).toHaveLength(1)
  })

  it('keeps the postgres-table pool off internal TCP ports unless allowed', async () => {
    let connections = 0
    const tcp = createTcpServer((s) => {
      connections++
      s.destroy()
    })
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r))
    const { port } = tcp.address() as AddressInfo
    try {
      const sql = {
        type: 'sql' as const,
        connectionRef: 'connectionString',
        statement: 'SELECT 1',
        params: [],
        idempotencyKey: 'k',
        itemIds: ['i1'],
      }
      const strict = createPgPool(`postgres://probe:probe@127.0.0.1:${port}/probe`)
      const refused = await executeSql(sql, strict)
      await strict.end()
      expect(refused).toMatchObject({
        ok: false,
        error: { code: 'OUTBOUND_ADDRESS_REFUSED', retryable: false },
      })
      const socket = createPgPool('postgres://probe@/probe?host=/var/run/postgresql')
      expect(await executeSql(sql, socket)).toMatchObject({
        ok: false,
        error: { code: 'OUTBOUND_ADDRESS_REFUSED' },
      })
      await socket.end()
      expect(connections).toBe(0)
      const allowed = createPgPool(`postgres://probe:probe@127.0.0.1:${port}/probe`, {
        guard: createOutboundGuard(parseOutboundAllow(`127.0.0.1:${port}`)),
      })
      const r = await executeSql(sql, allowed)
      await allowed.end()
      expect(r.ok).toBe(false)
      expect(connections).toBe(1)
    } finally {
      await new Promise<void>((r) => tcp.close(() => r()))
    }
  })
})
