/**
 * The listener of worker roles (processor, dispatcher, scheduler): `/healthz` (the store takes a
 * write and the processor's cursor moves, see health-check.ts)
 * and `/metrics` (Prometheus), nothing else. A bare `node:http` server: no API, no console, no
 * auth, so it can sit on a private port for probes and scraping.
 * @module
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Registry } from 'prom-client'
import type { ProcessorHealth } from '../pipeline/processor.js'
import type { Queryable } from '../store/db.js'
import { checkHealth } from './health-check.js'

export interface HealthServer {
  url: string
  close(): Promise<void>
}

export async function startHealthServer(
  registry: Registry,
  db: Queryable,
  port: number,
  host: string,
  details: () => Record<string, unknown> = () => ({}),
  processor?: () => ProcessorHealth,
  warnings?: () => string[],
): Promise<HealthServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'x-content-type-options': 'nosniff' })
      res.end(body)
    }
    if (req.method !== 'GET') return send(405, 'application/json', methodNotAllowed)
    if (path === '/healthz') {
      checkHealth(db, processor, details(), warnings).then(
        ({ httpStatus, body }) => send(httpStatus, 'application/json', JSON.stringify(body)),
        () => send(503, 'application/json', storeDown),
      )
      return
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (body) => send(200, registry.contentType, body),
        () => send(500, 'application/json', internal),
      )
      return
    }
    send(404, 'application/json', notFound)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  const addr = server.address() as AddressInfo
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
  return {
    url: `http://${shownHost}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

const body = (code: string, message: string) => JSON.stringify({ error: { code, message } })
const methodNotAllowed = body('NOT_FOUND', 'worker nodes serve only GET /healthz and /metrics')
const notFound = body('NOT_FOUND', 'worker nodes serve only /healthz and /metrics')
const storeDown = body('UNAVAILABLE', 'the store does not answer')
const internal = body('INTERNAL', 'metrics could not be collected')
