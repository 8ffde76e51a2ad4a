/**
 * What `/healthz` answers, on the API server and on worker listeners alike: the store takes a
 * write and gives it back (a full or read-only data dir fails here, where `SELECT 1` would not),
 * and the processor's cursor is moving. Degraded is a 503 with the reason, so probes and load
 * balancers see it.
 * @module
 */
import { hostname } from 'node:os'
import type { ProcessorHealth } from '../pipeline/processor.js'
import type { Queryable } from '../store/db.js'
import { toKindredError } from './errors.js'

export interface HealthReport {
  status: 'ok' | 'degraded'
  reason?: string
  /** Worth a look, not worth a 503 (the lake writer behind: nothing is lost, it catches up). */
  warnings?: string[]
  processor?: ProcessorHealth
  error?: { code: string; message: string; details?: unknown }
}

const node = `${hostname()}:${process.pid}`

export async function checkHealth(
  db: Queryable,
  processor: (() => ProcessorHealth) | undefined,
  extra: Record<string, unknown> = {},
  warnings: () => string[] = () => [],
): Promise<{ httpStatus: number; body: HealthReport & Record<string, unknown> }> {
  const p = processor?.()
  const w = warnings()
  const more = w.length > 0 ? { ...extra, warnings: w } : extra
  try {
    const at = new Date().toISOString()
    const res = await db.query<{ checked_at: Date | string }>(
      `INSERT INTO store_health (node, checked_at) VALUES ($1, $2::timestamptz)
       ON CONFLICT (node) DO UPDATE SET checked_at = EXCLUDED.checked_at RETURNING checked_at`,
      [node, at],
    )
    if (res.rows.length !== 1) throw new Error('the store did not return the health row it wrote')
  } catch (err) {
    const ke = toKindredError(err)
    const code = ke.code === 'INTERNAL' ? 'STORE_UNAVAILABLE' : ke.code
    const message = `the store cannot take a write: ${(err as Error)?.message ?? String(err)}`
    return {
      httpStatus: 503,
      body: {
        status: 'degraded',
        reason: message,
        ...more,
        ...(p ? { processor: p } : {}),
        error: { code, message },
      },
    }
  }
  if (p?.stalled) {
    const message = `event processing is stalled: ${p.reason ?? 'no progress'}`
    return {
      httpStatus: 503,
      body: {
        status: 'degraded',
        reason: message,
        ...more,
        processor: p,
        error: { code: 'UNAVAILABLE', message, details: p },
      },
    }
  }
  return { httpStatus: 200, body: { status: 'ok', ...more, ...(p ? { processor: p } : {}) } }
}
