/**
 * @module engine/destinations/stage
 * The processor stage of destinations (runs in the batch transaction, after identity and after
 * the events are stored): forwarded events and profile upserts become delivery jobs, inserted
 * with one statement per micro-batch. Destination configs are cached per workspace (a few
 * seconds, and invalidated at once by the API of this process).
 */
import { ttlCache } from '../../platform/cache.js'
import type { Queryable } from '../../platform/store/db.js'
import {
  groupByWorkspace,
  type ProcessedEvent,
  type ProcessorStage,
} from '../../platform/pipeline/processor.js'
import { applyMapping, matchesForward } from '../core/destination-config.js'
import { destinationsRepository, type DestinationRow } from './destinations-repository.js'
import {
  deliveryJobsRepository,
  type NewDeliveryJob,
} from './dispatcher/delivery-jobs-repository.js'

export interface DestinationConfigCache {
  enabled(db: Queryable, workspaceId: string): Promise<DestinationRow[]>
  invalidate(workspaceId?: string): void
}

/** Workspaces whose enabled destinations one node keeps. */
export const DESTINATION_CONFIG_CACHE_MAX = 10_000

/** Each workspace's enabled destinations for `ttlMs` (0: none kept), at most `max` workspaces (LRU). */
export function createDestinationConfigCache(
  clock: () => number,
  ttlMs = 5_000,
  max = DESTINATION_CONFIG_CACHE_MAX,
): DestinationConfigCache {
  const cache = ttlMs > 0 ? ttlCache<string, DestinationRow[]>({ max, ttlMs, clock }) : undefined
  return {
    async enabled(db, workspaceId) {
      const hit = cache?.get(workspaceId)
      if (hit !== undefined) return hit
      const rows = await destinationsRepository.listEnabled(db, workspaceId)
      cache?.set(workspaceId, rows)
      return rows
    },
    invalidate(workspaceId) {
      if (workspaceId === undefined) cache?.clear()
      else cache?.delete(workspaceId)
    },
  }
}

function hasTraitUpdate(e: ProcessedEvent): boolean {
  const ctxTraits = e.event.context.traits
  const ctxHas =
    typeof ctxTraits === 'object' && ctxTraits !== null && Object.keys(ctxTraits).length > 0
  return ctxHas || (e.event.type === 'identify' && Object.keys(e.event.traits).length > 0)
}

/** Trait names whose value differs between two trait objects. */
export function changedTraitNames(
  before: Record<string, unknown> | null,
  after: Record<string, unknown>,
): string[] {
  const prev = before ?? {}
  const keys = new Set([...Object.keys(prev), ...Object.keys(after)])
  return [...keys].filter((k) => JSON.stringify(prev[k]) !== JSON.stringify(after[k])).sort()
}

export function createDestinationsStage(opts: {
  cache: DestinationConfigCache
  clock: () => number
  /** Called after jobs were inserted (the dispatcher's wake-up). */
  onEnqueued?: (count: number) => void
}): ProcessorStage {
  return async (tx, batch) => {
    const jobs: NewDeliveryJob[] = []
    for (const [workspaceId, events] of groupByWorkspace(batch)) {
      const dests = await opts.cache.enabled(tx, workspaceId)
      if (dests.length === 0) continue
      const forwarders = dests.filter((d) => d.actions.forwardEvents)
      for (const e of events) {
        for (const d of forwarders) {
          const f = d.actions.forwardEvents
          if (!f || !matchesForward(f, e.event)) continue
          jobs.push({
            workspaceId,
            destinationId: d.id,
            kind: 'event',
            profileId: e.profileId,
            input: { kind: 'event', event: applyMapping(e.event, f.mapping) },
            idempotencyKey: `event:${e.sourceId}:${e.event.messageId}`,
          })
        }
      }
      const upserters = dests.filter((d) => d.actions.upsertProfiles)
      if (upserters.length > 0)
        jobs.push(...(await profileJobs(tx, workspaceId, events, upserters)))
    }
    if (jobs.length === 0) return
    const n = await deliveryJobsRepository.enqueue(tx, jobs, new Date(opts.clock()))
    if (n > 0) opts.onEnqueued?.(n)
  }
}

async function profileJobs(
  tx: Queryable,
  workspaceId: string,
  events: ProcessedEvent[],
  upserters: DestinationRow[],
): Promise<NewDeliveryJob[]> {
  const last = new Map<string, ProcessedEvent>()
  for (const e of events) if (e.profileId && hasTraitUpdate(e)) last.set(e.profileId, e)
  if (last.size === 0) return []
  const r = await tx.query<{
    id: string
    traits: Record<string, unknown>
    prev: Record<string, unknown> | null
  }>(
    `SELECT p.id, p.traits, s.traits AS prev FROM profiles p
     LEFT JOIN destination_profile_traits s ON s.workspace_id = p.workspace_id AND s.profile_id = p.id
     WHERE p.workspace_id = $1 AND p.id = ANY($2::text[])`,
    [workspaceId, [...last.keys()]],
  )
  const jobs: NewDeliveryJob[] = []
  const snapshots: { profile_id: string; traits: Record<string, unknown> }[] = []
  for (const row of r.rows) {
    const changed = changedTraitNames(row.prev, row.traits)
    if (changed.length === 0) continue
    const e = last.get(row.id) as ProcessedEvent
    snapshots.push({ profile_id: row.id, traits: row.traits })
    for (const d of upserters) {
      jobs.push({
        workspaceId,
        destinationId: d.id,
        kind: 'profile',
        profileId: row.id,
        input: { kind: 'profile', changedTraits: changed },
        idempotencyKey: `profile:${row.id}:${e.sourceId}:${e.event.messageId}`,
      })
    }
  }
  if (snapshots.length > 0) {
    await tx.query(
      `INSERT INTO destination_profile_traits (workspace_id, profile_id, traits)
       SELECT $1, profile_id, traits FROM jsonb_to_recordset($2::jsonb) AS x(profile_id text, traits jsonb)
       ON CONFLICT (workspace_id, profile_id) DO UPDATE SET traits = EXCLUDED.traits`,
      [workspaceId, JSON.stringify(snapshots)],
    )
  }
  return jobs
}
