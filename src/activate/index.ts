/**
 * What other capabilities may use of activate: enqueueing delivery jobs (consent's audience
 * changes, privacy's deletions) and reading where a set of them stands. Small and typed, so the
 * jobs' table stays activate's to change.
 */
import type { Queryable } from '../platform/store/db.js'
import {
  deliveryJobsRepository,
  type AudienceChange,
  type DeliveryJobState,
  type NewDeliveryJob,
} from './engine/dispatcher/delivery-jobs-repository.js'

export type { AudienceChange, DeliveryJobState, NewDeliveryJob }

/** Enqueues jobs in the caller's transaction; a job whose idempotency key exists is skipped. */
export function enqueueDeliveryJobs(
  tx: Queryable,
  jobs: readonly NewDeliveryJob[],
  now: Date,
): Promise<number> {
  return deliveryJobsRepository.enqueue(tx, jobs, now)
}

/** The jobs enqueued under one idempotency key (one per destination) and their states. */
export function deliveryJobsByKey(
  tx: Queryable,
  workspaceId: string,
  idempotencyKey: string,
): ReturnType<typeof deliveryJobsRepository.byIdempotencyKey> {
  return deliveryJobsRepository.byIdempotencyKey(tx, workspaceId, idempotencyKey)
}
