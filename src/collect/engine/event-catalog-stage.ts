/**
 * The pipeline stage that keeps each source's event catalogue: the batch summarised in memory
 * (pure, collect/core/event-catalog.ts) and added to the totals with one upsert per table, in the
 * batch's transaction, so a batch that rolls back and is replayed counts once.
 */
import type { ProcessorStage } from '../../platform/pipeline/processor.js'
import { summarizeCatalog } from '../core/event-catalog.js'
import { eventCatalogRepository } from './event-catalog-repository.js'

export function createEventCatalogStage(clock: () => Date): ProcessorStage {
  return async (tx, batch) => {
    if (batch.length === 0) return
    const summary = summarizeCatalog(
      batch.map((e) => ({ workspaceId: e.workspaceId, sourceId: e.sourceId, event: e.event })),
      clock(),
    )
    await eventCatalogRepository.record(tx, summary)
  }
}
