/**
 * @module engine/effects/outbound-guard
 * The I/O half of the outbound-address policy (`src/protocol/outbound-policy.ts`): resolve a
 * destination's host at send time (every address DNS returns), refuse it unless every address is
 * allowed, and connect to the address that was checked. The connection's `lookup` hook returns
 * only that address, so a DNS answer that changes between the check and the connect (rebinding)
 * cannot move the request to another machine.
 *
 * - `fetch`: a `FetchLike` on node:http/https with the pinned lookup (TLS still verifies the
 *   certificate against the host name). Redirects are never followed.
 * - `pgStream`: a socket factory for `pg` (`stream` option) whose connect goes through the same
 *   check, for the postgres-table destination.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { Readable } from 'node:stream'
import {
  checkAddress,
  checkLiteralHost,
  checkOutboundUrl,
  formatIp,
  parseIp,
  strictOutboundPolicy,
  type OutboundPolicy,
  type OutboundRefusal,
} from '../../../protocol/outbound-policy.js'
import type { FetchLike } from './http-executor.js'
import { DomainError } from '../../../protocol/errors.js'

/** A refusal as an error, with the policy's stable code in `code` (never retried). */
export class OutboundRefusedError extends DomainError<OutboundRefusal['code']> {
  constructor(refusal: OutboundRefusal) {
    super('forbidden', refusal.code, refusal.message)
  }
}

export type LookupAll = (host: string) => Promise<LookupAddress[]>

const systemLookup: LookupAll = (host) =>
  new Promise((resolve, reject) =>
    dnsLookup(host, { all: true, verbatim: true }, (err, addresses) =>
      err ? reject(err) : resolve(addresses),
    ),
  )

export interface OutboundGuard {
  policy: OutboundPolicy
  /** The one address to connect to, checked; throws `OutboundRefusedError` or a DNS error. */
  resolve(host: string, port: number): Promise<{ address: string; family: 4 | 6 }>
  fetch: FetchLike
  /** For `new pg.Pool({ stream })`. */
  pgStream: () => net.Socket
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void

/** A `lookup` for net/http that answers with the pinned address only. */
function pinnedLookup(address: string, family: 4 | 6) {
  return (_host: string, options: { all?: boolean }, cb: LookupCallback): void => {
    if (options.all) cb(null, [{ address, family }])
    else cb(null, address, family)
  }
}

function headersOf(res: http.IncomingMessage): Headers {
  const h = new Headers()
  for (let i = 0; i < res.rawHeaders.length; i += 2) {
    try {
      h.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!)
    } catch {
      // a header value fetch would refuse: drop it rather than fail the delivery
    }
  }
  return h
}

export function createOutboundGuard(
  policy: OutboundPolicy = strictOutboundPolicy,
  options: { lookup?: LookupAll } = {},
): OutboundGuard {
  const lookupAll = options.lookup ?? systemLookup
  // Keep-alive pools per guard: a reused socket is one that was checked when it was opened.
  const agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: 64 }),
    'https:': new https.Agent({ keepAlive: true, maxSockets: 64 }),
  }

  async function resolve(host: string, port: number): Promise<{ address: string; family: 4 | 6 }> {
    const literal = parseIp(host)
    if (literal) {
      const refusal = checkAddress(policy, { host, port, address: literal })
      if (refusal) throw new OutboundRefusedError(refusal)
      return { address: formatIp(literal), family: literal.family }
    }
    const named = checkLiteralHost(policy, { host, port })
    if (named) throw new OutboundRefusedError(named)
    const answers = await lookupAll(host)
    if (answers.length === 0) {
      throw Object.assign(new Error(`${host} has no addresses`), { code: 'ENOTFOUND' })
    }
    // Every answer must pass: a client may use any of them, and an attacker controls the order.
    for (const a of answers) {
      const ip = parseIp(a.address)
      const refusal = ip
        ? checkAddress(policy, { host, port, address: ip })
        : { code: 'OUTBOUND_ADDRESS_REFUSED' as const, message: `unreadable address ${a.address}` }
      if (refusal) throw new OutboundRefusedError(refusal)
    }
    const first = answers[0]!
    return { address: first.address, family: first.family === 6 ? 6 : 4 }
  }

  const guardedFetch: FetchLike = async (rawUrl, init) => {
    const checked = checkOutboundUrl(policy, rawUrl)
    if (!checked.ok) throw new OutboundRefusedError(checked.refusal)
    const { url, target } = checked
    const signal = init.signal ?? undefined
    signal?.throwIfAborted()
    const pinned = await resolve(target.host, target.port)
    signal?.throwIfAborted()
    const mod = url.protocol === 'https:' ? https : http
    const headers = new Headers(init.headers)
    const outHeaders: Record<string, string> = {}
    headers.forEach((v, k) => (outHeaders[k] = v))
    const body = typeof init.body === 'string' ? init.body : undefined
    if (body !== undefined) outHeaders['content-length'] = String(Buffer.byteLength(body))
    return new Promise<Response>((resolvePromise, reject) => {
      const req = mod.request(
        {
          protocol: url.protocol,
          hostname: url.hostname.replace(/^\[|\]$/g, ''),
          port: target.port,
          path: `${url.pathname}${url.search}`,
          method: init.method ?? 'GET',
          headers: outHeaders,
          agent: agents[url.protocol as 'http:' | 'https:'],
          lookup: pinnedLookup(pinned.address, pinned.family) as unknown as net.LookupFunction,
          ...(signal ? { signal } : {}),
        },
        (res) => {
          const status = res.statusCode ?? 0
          const noBody = [101, 204, 205, 304].includes(status) || init.method === 'HEAD'
          const stream = noBody
            ? null
            : (Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>)
          if (noBody) res.resume()
          try {
            resolvePromise(new Response(stream, { status, headers: headersOf(res) }))
          } catch (err) {
            res.destroy()
            reject(err as Error)
          }
        },
      )
      req.on('error', (err) => reject(signal?.aborted ? (signal.reason as Error) : err))
      req.end(body)
    })
  }

  function pgStream(): net.Socket {
    const socket = new net.Socket()
    const connect = socket.connect.bind(socket) as (opts: net.TcpSocketConnectOpts) => net.Socket
    // pg calls connect(port, host), or connect(path) for a Unix socket.
    ;(socket as unknown as { connect: (...a: unknown[]) => net.Socket }).connect = (
      port: unknown,
      host: unknown,
    ) => {
      if (typeof host !== 'string' || !/^\d+$/.test(String(port))) {
        process.nextTick(() =>
          socket.destroy(
            new OutboundRefusedError({
              code: 'OUTBOUND_ADDRESS_REFUSED',
              message: 'Unix sockets are local to Kindred: name a database host',
            }),
          ),
        )
        return socket
      }
      const p = Number(port)
      resolve(host, p).then(
        (pinned) =>
          connect({ port: p, host, lookup: pinnedLookup(pinned.address, pinned.family) as never }),
        (err: Error) => socket.destroy(err),
      )
      return socket
    }
    return socket
  }

  return { policy, resolve, fetch: guardedFetch, pgStream }
}
