/**
 * How long a client may take: a connection that sends its headers or body a byte at a time
 * (slowloris) otherwise holds a socket and a parser for ever. Headers must arrive within
 * `headersMs`; a body within `bodyMs` of the request's start, except the import upload, which may
 * stream for up to `requestMs` as long as it never pauses for more than `uploadIdleMs`. Idle
 * sockets close after `idleMs` (the live feed pings every 15 s), kept-alive ones after
 * `keepAliveMs`. Kindred answers these, and oversized headers, in its own error shape. A reverse
 * proxy in front (docs/deploy.md) is still the first line.
 * @module
 */
import type { Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { KindredError, type ErrorCode } from '../../protocol/errors.js'

export interface HttpTimeouts {
  headersMs: number
  bodyMs: number
  /** Any request, the import upload included. */
  requestMs: number
  uploadIdleMs: number
  idleMs: number
  keepAliveMs: number
  /** How often Node checks the headers and request timeouts. */
  checkEveryMs: number
}

export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = {
  headersMs: 10_000,
  bodyMs: 30_000,
  requestMs: 60 * 60_000,
  uploadIdleMs: 30_000,
  idleMs: 120_000,
  // Longer than the usual balancer idle timeout (60 s), so the balancer closes first.
  keepAliveMs: 72_000,
  checkEveryMs: 5_000,
}

/** Streams a file of any size; bounded by pauses instead of by total time. */
export const LONG_BODY_ROUTES = new Set(['/api/v1/imports/:id/file'])

/** The Fastify options for these timeouts. */
export function fastifyTimeoutOptions(t: HttpTimeouts) {
  return {
    requestTimeout: t.requestMs,
    connectionTimeout: t.idleMs,
    keepAliveTimeout: t.keepAliveMs,
    http: { headersTimeout: t.headersMs, connectionsCheckingInterval: t.checkEveryMs },
    clientErrorHandler: (err: Error & { code?: string }, socket: Socket) => {
      if (err.code === 'ECONNRESET' || socket.destroyed) return
      if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
        writeRawError(socket, 'REQUEST_TIMEOUT', 'the request took too long to arrive')
      } else if (err.code === 'HPE_HEADER_OVERFLOW') {
        writeRawError(socket, 'HEADERS_TOO_LARGE', 'the request headers are too large')
      } else {
        writeRawError(socket, 'VALIDATION_FAILED', 'malformed HTTP request')
      }
    },
  }
}

/** Answers on the bare socket (no request object exists, or it is still being read), then closes. */
function writeRawError(socket: Socket, code: ErrorCode, message: string): void {
  const error = new KindredError(code, message)
  if (socket.writable) {
    const body = JSON.stringify(error.toBody())
    socket.write(
      `HTTP/1.1 ${error.status} ${code.replace(/_/g, ' ')}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    )
  }
  socket.destroy()
}

/** The body deadline of ordinary routes and the pause limit of long uploads. */
export function registerBodyTimeouts(app: FastifyInstance, t: HttpTimeouts): void {
  app.addHook('onRequest', (req, reply, done) => {
    const raw = req.raw
    const hasBody =
      raw.headers['transfer-encoding'] !== undefined ||
      Number(raw.headers['content-length'] ?? 0) > 0
    if (!hasBody || raw.complete) return done()
    const socket = raw.socket
    if (LONG_BODY_ROUTES.has(req.routeOptions.url ?? '')) {
      socket.setTimeout(t.uploadIdleMs)
      return done()
    }
    const timer = setTimeout(() => {
      if (raw.complete || reply.sent || reply.raw.headersSent) return
      writeRawError(
        socket,
        'REQUEST_TIMEOUT',
        `the request body did not arrive within ${t.bodyMs} ms`,
      )
    }, t.bodyMs)
    timer.unref()
    const clear = () => clearTimeout(timer)
    raw.once('end', clear)
    raw.once('close', clear)
    done()
  })
}
