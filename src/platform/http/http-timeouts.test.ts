/** Slow and oversized clients get our error shape and a closed socket, not an open one for ever. */
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, type TestKindred } from '../../testing/test-server.js'

let k: TestKindred

beforeAll(async () => {
  k = await startTestKindred({
    httpTimeouts: { headersMs: 300, bodyMs: 400, uploadIdleMs: 400, checkEveryMs: 100 },
  })
})

afterAll(async () => {
  await k.close()
})

/** Writes `chunks` (then one more every `dripMs`, if given) and resolves with what the server sent before closing. */
function raw(first: string, dripMs?: number): Promise<{ text: string; ms: number }> {
  const { port } = new URL(k.url)
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const socket = connect(Number(port), '127.0.0.1')
    let text = ''
    let drip: NodeJS.Timeout | undefined
    socket.on('connect', () => {
      socket.write(first)
      if (dripMs !== undefined) drip = setInterval(() => socket.write('1\r\n \r\n'), dripMs)
    })
    socket.on('data', (d) => (text += d.toString('utf8')))
    socket.on('error', () => undefined)
    socket.on('close', () => {
      clearInterval(drip)
      resolve({ text, ms: Date.now() - started })
    })
    setTimeout(() => {
      socket.destroy()
      reject(new Error(`still open after 10 s; received ${JSON.stringify(text)}`))
    }, 10_000).unref()
  })
}

const bodyOf = (text: string) => JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as unknown

describe('HTTP time and size limits', () => {
  it('cuts off a body that trickles in, with 408 in the error shape', async () => {
    const r = await raw(
      'POST /v1/track HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n',
      100,
    )
    expect(r.text).toMatch(/^HTTP\/1\.1 408 /)
    expect(bodyOf(r.text)).toMatchObject({ error: { code: 'REQUEST_TIMEOUT' } })
    expect(r.ms).toBeLessThan(5_000)
  })

  it('cuts off headers that never end', async () => {
    const r = await raw('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n')
    expect(r.text).toMatch(/^HTTP\/1\.1 408 /)
    expect(bodyOf(r.text)).toMatchObject({ error: { code: 'REQUEST_TIMEOUT' } })
    expect(r.ms).toBeLessThan(5_000)
  })

  it('answers oversized headers with 431 in the error shape', async () => {
    const r = await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)
    expect(r.text).toMatch(/^HTTP\/1\.1 431 /)
    expect(bodyOf(r.text)).toMatchObject({
      error: { code: 'HEADERS_TOO_LARGE', message: expect.any(String) },
    })
  })

  it('still serves ordinary requests', async () => {
    const res = await fetch(`${k.url}/healthz`)
    expect(res.status).toBe(200)
  })
})
