/**
 * Activate's side of govern's delivery port (src/govern/engine/delivery-port.ts): consent's
 * audience changes and privacy's deletions become delivery jobs, and a destination type's manifest
 * answers what govern asks of it. The composition root hands this to the consent and privacy
 * modules, so the jobs' table and shape stay activate's to change and govern imports nothing here.
 */
import type {
  ConsentAudienceChange,
  DeletionForward,
  DestinationTypeFacts,
  GovernDeliveries,
} from '../../govern/index.js'
import { getDestination } from '../core/index.js'
import {
  deliveryJobsRepository,
  type NewDeliveryJob,
} from './dispatcher/delivery-jobs-repository.js'

function destinationType(type: string): DestinationTypeFacts | undefined {
  let manifest
  try {
    manifest = getDestination(type).manifest
  } catch {
    return undefined // an unknown type: the dispatcher dead-letters its jobs anyway
  }
  return {
    purpose: manifest.purpose,
    deletesPeople: manifest.supportsDeletion && manifest.actions.includes('delete'),
  }
}

function audienceJob(c: ConsentAudienceChange): NewDeliveryJob {
  return {
    workspaceId: c.workspaceId,
    destinationId: c.destinationId,
    kind: 'audience',
    profileId: c.profileId,
    input: {
      kind: 'audience',
      action: c.action,
      audience: { id: c.segment.id, name: c.segment.name ?? c.segment.id, key: c.segment.id },
      // Lets the dispatcher send this removal although the purpose is now denied.
      reason: 'consent',
    },
    idempotencyKey: c.idempotencyKey,
  }
}

function deletionJob(d: DeletionForward): NewDeliveryJob {
  return {
    workspaceId: d.workspaceId,
    destinationId: d.destinationId,
    kind: 'delete',
    profileId: d.profileId,
    input: { profile: d.person, privacyRequestId: d.privacyRequestId },
    idempotencyKey: d.idempotencyKey,
  }
}

export function createGovernDeliveries(): GovernDeliveries {
  return {
    destinationType,
    enqueueAudienceChanges: (tx, changes, now) =>
      deliveryJobsRepository.enqueue(tx, changes.map(audienceJob), now),
    enqueueDeletions: (tx, deletions, now) =>
      deliveryJobsRepository.enqueue(tx, deletions.map(deletionJob), now),
    async deletionsByKey(tx, workspaceId, idempotencyKey) {
      const jobs = await deliveryJobsRepository.byIdempotencyKey(tx, workspaceId, idempotencyKey)
      return jobs.map((j) => ({
        jobId: j.id,
        destinationId: j.destinationId,
        state: j.state,
        lastError: j.lastError,
      }))
    },
  }
}
