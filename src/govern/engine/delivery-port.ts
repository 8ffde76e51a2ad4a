/**
 * What govern asks of whoever delivers to destinations (activate, when it runs): the audience
 * changes a consent decision owes, the deletions an erased person owes, where those deletions
 * stand, and what a destination type is for. Govern sits below activate in the order of ADR 0010,
 * so it names what it needs here and the composition root hands in activate's implementation
 * (`createGovernDeliveries` in src/activate/engine/govern-deliveries.ts); govern imports nothing of
 * activate. Every write runs in the caller's transaction, so a decision or an erasure commits
 * with the work it owes or not at all.
 */
import type { Queryable } from '../../platform/store/db.js'

/** What govern needs to know of a destination type. */
export interface DestinationTypeFacts {
  /** The consent purpose the destination's deliveries serve. */
  purpose: string
  /** The destination can delete a person at the vendor (deletion requests are forwarded to it). */
  deletesPeople: boolean
}

/**
 * A profile leaves (consent revoked) or rejoins (consent granted again) one synced audience of a
 * destination, because its consent for the destination's purpose flipped.
 */
export interface ConsentAudienceChange {
  workspaceId: string
  destinationId: string
  profileId: string
  action: 'add' | 'remove'
  /** The synced segment (its name, when it still has one, labels the vendor's audience). */
  segment: { id: string; name: string | null }
  /** Same change, same key: queueing it again does nothing. */
  idempotencyKey: string
}

/** An erased person's deletion, forwarded to one destination. */
export interface DeletionForward {
  workspaceId: string
  destinationId: string
  /** The erased profile; null when the request matched no stored profile. */
  profileId: string | null
  /**
   * What the destination identifies the person by (identifiers, e-mail, phone): the profile is
   * gone by the time the deletion is sent.
   */
  person: {
    id: string
    traits: Record<string, unknown>
    identities: Array<{ type: string; value: string }>
  }
  privacyRequestId: string
  /** One key per request: the forwards are read back by it. */
  idempotencyKey: string
}

/** Where a forwarded deletion stands (`dead`: the destination gave up on it). */
export type ForwardState = 'pending' | 'in_flight' | 'succeeded' | 'skipped' | 'dead'

export interface ForwardedDeletion {
  /** The delivery job that carries it (shown on the request's receipt). */
  jobId: string
  destinationId: string
  state: ForwardState
  lastError: string | null
}

export interface GovernDeliveries {
  /** What a destination type is for; undefined for a type nobody delivers to. */
  destinationType(type: string): DestinationTypeFacts | undefined
  /** Queues the audience changes of consent decisions; returns how many were new. */
  enqueueAudienceChanges(
    tx: Queryable,
    changes: readonly ConsentAudienceChange[],
    now: Date,
  ): Promise<number>
  /** Queues an erased person's deletions; returns how many were new. */
  enqueueDeletions(tx: Queryable, deletions: readonly DeletionForward[], now: Date): Promise<number>
  /** The deletions queued under one idempotency key (one per destination) and their states. */
  deletionsByKey(
    tx: Queryable,
    workspaceId: string,
    idempotencyKey: string,
  ): Promise<ForwardedDeletion[]>
}

/**
 * When nothing delivers (activate not running): no type is known, so consent owes no audience
 * change and every destination's deletion receipt says `unsupported`.
 */
export const noDeliveries: GovernDeliveries = {
  destinationType: () => undefined,
  enqueueAudienceChanges: () => Promise.resolve(0),
  enqueueDeletions: () => Promise.resolve(0),
  deletionsByKey: () => Promise.resolve([]),
}
