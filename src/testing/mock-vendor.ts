/**
 * A local stand-in for a vendor API: a node:http server on 127.0.0.1 that records every request
 * and answers through a handler. Tests only.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { HttpEffect } from '../activate/core/contract.js'
import { parseOutboundAllow } from '../protocol/outbound-policy.js'
import { createOutboundGuard } from '../activate/engine/executors/outbound-guard.js'

/**
 * Mock vendors listen on loopback, which the default outbound policy refuses: tests send through
 * a guard that allows loopback explicitly, as an operator's allow-list would.
 */
export const loopbackGuard = createOutboundGuard(parseOutboundAllow('127.0.0.0/8,::1'))

export interface RecordedRequest {
  method: string
  /** Path and query, as received. */
  url: string
  path: string
  query: URLSearchParams
  headers: IncomingMessage['headers']
  body: string
  json: unknown
}

export interface Reply {
  status?: number
  headers?: Record<string, string>
  body?: unknown
}

export interface MockVendor {
  base: string
  requests: RecordedRequest[]
  close(): Promise<void>
}

export async function startMockVendor(
  handler: (req: RecordedRequest) => Reply | Promise<Reply> = () => ({}),
): Promise<MockVendor> {
  const requests: RecordedRequest[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      let json: unknown
      try {
        json = body === '' ? undefined : JSON.parse(body)
      } catch {
        json = undefined
      }
      const u = new URL(req.url ?? '/', 'http://127.0.0.1')
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        path: u.pathname,
        query: u.searchParams,
        headers: req.headers,
        body,
        json,
      }
      requests.push(recorded)
      void Promise.resolve(handler(recorded)).then((reply) => {
        const payload =
          reply.body === undefined
            ? ''
            : typeof reply.body === 'string'
              ? reply.body
              : JSON.stringify(reply.body)
        res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers })
        res.end(payload)
      })
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    base: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}

/** The same effect aimed at the mock: origin replaced, path and query kept. */
export function retarget(effect: HttpEffect, base: string): HttpEffect {
  return { ...effect, url: effect.url.replace(/^https?:\/\/[^/]+/, base) }
}
