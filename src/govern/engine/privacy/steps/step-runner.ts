/**
 * What every privacy step shares: its signature `(tx, row, deps) => StepResult`, the
 * dependencies the worker hands in, and `saveStep`, which writes a step's receipt with the new
 * working state in the step's own transaction (so a crash re-runs at most the step that was
 * interrupted).
 */
import type { Queryable } from '../../../../platform/store/db.js'
import {
  withReceipt,
  type DestinationReceipt,
  type StepName,
  type StepReceipt,
} from '../../../core/privacy/privacy-request.js'
import type { SuppressionKey } from '../../../core/privacy/suppression.js'
import type { GovernDeliveries } from '../../delivery-port.js'
import type { OutsideStoreErasure } from '../outside-store.js'
import type { PrivacyRequestRow, RequestSubject } from '../requests.js'
import type { SuppressionMatcher } from '../suppression-cache.js'

export type StepResult =
  | { kind: 'done' }
  /** Not finished (waiting for destinations): look again at `retryInMs`. */
  | { kind: 'wait'; retryInMs: number }

export interface FinishPatch {
  status: 'completed' | 'failed'
  error: string | null
  subject?: RequestSubject
}

export interface StepDeps {
  /** Epoch ms. */
  clock: () => number
  newId: (prefix: string) => string
  suppressionKey: SuppressionKey
  matcher: SuppressionMatcher
  /** How long a completed deletion's tombstone keeps blocking the identifiers. */
  tombstoneGraceMs: number
  /** Forwards deletions to destinations and follows them (see delivery-port.ts). */
  deliveries: GovernDeliveries
  /** New delivery jobs were enqueued (destination deletions). */
  onEnqueued?: () => void
  /** What the file pass before this request's scrub step did, for its receipt. */
  outsideDone?: OutsideStoreErasure
  /** Ends the request (status, audit), in the step's transaction. */
  finish(tx: Queryable, row: PrivacyRequestRow, patch: FinishPatch): Promise<void>
}

export type StepRunner = (
  tx: Queryable,
  row: PrivacyRequestRow,
  deps: StepDeps,
) => Promise<StepResult>

export const nowIso = (deps: Pick<StepDeps, 'clock'>) => new Date(deps.clock()).toISOString()

/** Saves a step's receipt and the new working state, in the step's transaction. */
export async function saveStep(
  tx: Queryable,
  deps: Pick<StepDeps, 'clock'>,
  row: PrivacyRequestRow,
  step: StepName,
  result: { status: StepReceipt['status']; details: Record<string, unknown> },
  subject: RequestSubject,
  extra: { destinations?: DestinationReceipt[]; runAt?: number } = {},
): Promise<StepReceipt[]> {
  const steps = withReceipt(row.steps, { step, at: nowIso(deps), ...result })
  await tx.query(
    `UPDATE privacy_requests SET steps = $3, subject = $4,
       destinations = coalesce($5::jsonb, destinations), next_run_at = $6, updated_at = $7
     WHERE workspace_id = $1 AND id = $2`,
    [
      row.workspace_id,
      row.id,
      JSON.stringify(steps),
      JSON.stringify(subject),
      extra.destinations ? JSON.stringify(extra.destinations) : null,
      new Date(extra.runAt ?? deps.clock()).toISOString(),
      nowIso(deps),
    ],
  )
  row.steps = steps
  row.subject = subject
  if (extra.destinations) row.destinations = extra.destinations
  return steps
}

/** Replaces the person's identifiers and profile ids in a text (vendor error messages). */
export function redactor(subject: RequestSubject): (text: string) => string {
  const needles = [
    ...(subject.identities ?? []).map((i) => i.value),
    ...(subject.profileIds ?? []),
  ].filter((v) => v.length >= 3)
  return (text) => {
    let out = text
    for (const n of needles) out = out.split(n).join('[redacted]')
    for (const n of needles) {
      const re = new RegExp(n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi')
      out = out.replace(re, '[redacted]')
    }
    return out
  }
}
