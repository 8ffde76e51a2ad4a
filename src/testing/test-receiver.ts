/**
 * Test support: a webhook receiver on 127.0.0.1 that verifies Kindred's HMAC signature the way a
 * customer would (recompute over "<timestamp>.<raw body>", constant-time compare), records every
 * request with its arrival time, and answers through a replaceable handler.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export interface Received {
  at: number
  path: string
  headers: IncomingHttpHeaders
  body: string
  json: unknown
  signatureValid: boolean
}

export interface ReceiverReply {
  status?: number
  headers?: Record<string, string>
  body?: string
  /** Answer after this many ms (a slow vendor). */
  delayMs?: number
}

export interface Receiver {
  url: string
  received: Received[]
  handler: (r: Received, n: number) => ReceiverReply
  close(): Promise<void>
}

export function verifySignature(
  secret: string,
  headers: IncomingHttpHeaders,
  body: string,
): boolean {
  const ts = headers['x-kindred-timestamp']
  const sig = headers['x-kindred-signature']
  if (typeof ts !== 'string' || typeof sig !== 'string') return false
  const expected = `v1=${createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex')}`
  const a = Buffer.from(expected)
  const b = Buffer.from(sig)
  return a.length === b.length && timingSafeEqual(a, b)
}

export async function startReceiver(secret = 'whsec-test-0123456789abcdef'): Promise<Receiver> {
  const received: Received[] = []
  const sockets = new Set<Socket>()
  const receiver: Receiver = {
    url: '',
    received,
    handler: () => ({ status: 200, body: '{"ok":true}' }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      let json: unknown
      try {
        json = JSON.parse(body)
      } catch {
        json = undefined
      }
      const r: Received = {
        at: Date.now(),
        path: req.url ?? '/',
        headers: req.headers,
        body,
        json,
        signatureValid: verifySignature(secret, req.headers, body),
      }
      received.push(r)
      const reply = receiver.handler(r, received.length)
      const send = () => {
        res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers })
        res.end(reply.body ?? '')
      }
      if (reply.delayMs) setTimeout(send, reply.delayMs)
      else send()
    })
  })
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
  return receiver
}

/** Polls `fn` until it returns a truthy value (or throws after `timeoutMs`). */
export async function until<T>(
  fn: () => T | Promise<T>,
  timeoutMs = 10_000,
  stepMs = 20,
): Promise<Exclude<T, undefined | null | false | 0 | ''>> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v) return v as Exclude<T, undefined | null | false | 0 | ''>
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, stepMs))
  }
}
