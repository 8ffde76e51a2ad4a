/**
 * The one answer for an insight query over its time limit, whichever backend ran it: a clear
 * `QUERY_TIMEOUT` (504) naming the limit and what to do, never a hung request.
 */
import { KindredError } from '../../../protocol/errors.js'

export const DEFAULT_INSIGHT_TIMEOUT_MS = 30_000

export function queryTimeout(
  limitMs: number,
  backend: 'postgres' | 'duckdb',
  details: Record<string, unknown> = {},
): KindredError {
  return new KindredError(
    'QUERY_TIMEOUT',
    `the insight query ran over its time limit of ${limitMs} ms on the ${backend} backend and was stopped; narrow the range, drop a breakdown, or run it on the lake (backend "duckdb")`,
    { details: { limitMs, backend, ...details } },
  )
}
