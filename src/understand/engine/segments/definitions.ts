/**
 * Stored segment and computed trait definitions: reading them (parsed once per version) and the
 * ordering helpers the stage, the scheduler and the API share.
 */
import {
  dependencies,
  evaluationOrder,
  parseSegmentDefinition,
  type SegmentDefinition,
  type SegmentDependencies,
} from '../../core/segments/index.js'
import {
  computedTraitDependencies,
  parseComputedTraitDefinition,
  type ComputedTraitDefinition,
} from '../../core/computed-traits/index.js'
import { LRUCache } from 'lru-cache'
import type { Queryable } from '../../../platform/store/db.js'

export interface StoredSegment {
  id: string
  name: string
  description: string | null
  definition: SegmentDefinition
  deps: SegmentDependencies
  timeDependent: boolean
  status: 'active' | 'building' | 'paused'
  version: number
  createdAt: string
  updatedAt: string
  lastEvaluatedAt: string | null
}

export interface StoredComputedTrait {
  id: string
  name: string
  description: string | null
  definition: ComputedTraitDefinition
  deps: ReturnType<typeof computedTraitDependencies>
  status: 'active' | 'building' | 'paused'
  version: number
  createdAt: string
  updatedAt: string
}

const iso = (v: Date | string | null): string | null =>
  v === null ? null : new Date(v).toISOString()

// Definitions were validated when saved; parsing again per batch would cost more than the batch.
// Keyed by workspace, id and version, so an edit is a new key; at most 5,000 of each (LRU).
const DEFINITION_CACHE_MAX = 5_000
const segmentCache = new LRUCache<string, { def: SegmentDefinition; deps: SegmentDependencies }>({
  max: DEFINITION_CACHE_MAX,
})
const traitCache = new LRUCache<string, ComputedTraitDefinition>({ max: DEFINITION_CACHE_MAX })

interface SegmentRow {
  id: string
  name: string
  description: string | null
  definition: unknown
  time_dependent: boolean
  status: StoredSegment['status']
  version: number
  created_at: Date | string
  updated_at: Date | string
  last_evaluated_at: Date | string | null
}

function toSegment(workspaceId: string, r: SegmentRow): StoredSegment {
  const key = `${workspaceId}\u0000${r.id}\u0000${r.version}`
  let hit = segmentCache.get(key)
  if (hit === undefined) {
    const def = parseSegmentDefinition(r.definition)
    hit = { def, deps: dependencies(def) }
    segmentCache.set(key, hit)
  }
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    definition: hit.def,
    deps: hit.deps,
    timeDependent: hit.deps.timeDependent,
    status: r.status,
    version: r.version,
    createdAt: iso(r.created_at) as string,
    updatedAt: iso(r.updated_at) as string,
    lastEvaluatedAt: iso(r.last_evaluated_at),
  }
}

const segmentColumns =
  'id, name, description, definition, time_dependent, status, version, created_at, updated_at, last_evaluated_at'

export async function loadSegments(
  q: Queryable,
  workspaceId: string,
  opts: { activeOnly?: boolean } = {},
): Promise<StoredSegment[]> {
  const res = await q.query<SegmentRow>(
    `SELECT ${segmentColumns} FROM segments WHERE workspace_id = $1
     ${opts.activeOnly === true ? `AND status = 'active'` : ''} ORDER BY id`,
    [workspaceId],
  )
  return res.rows.map((r) => toSegment(workspaceId, r))
}

export async function loadSegment(
  q: Queryable,
  workspaceId: string,
  id: string,
): Promise<StoredSegment | undefined> {
  const res = await q.query<SegmentRow>(
    `SELECT ${segmentColumns} FROM segments WHERE workspace_id = $1 AND id = $2`,
    [workspaceId, id],
  )
  const r = res.rows[0]
  return r === undefined ? undefined : toSegment(workspaceId, r)
}

interface TraitRow {
  id: string
  name: string
  description: string | null
  definition: unknown
  status: StoredComputedTrait['status']
  version: number
  created_at: Date | string
  updated_at: Date | string
}

function toTrait(workspaceId: string, r: TraitRow): StoredComputedTrait {
  const key = `${workspaceId}\u0000${r.id}\u0000${r.version}`
  let def = traitCache.get(key)
  if (def === undefined) {
    def = parseComputedTraitDefinition(r.definition)
    traitCache.set(key, def)
  }
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    definition: def,
    deps: computedTraitDependencies(def),
    status: r.status,
    version: r.version,
    createdAt: iso(r.created_at) as string,
    updatedAt: iso(r.updated_at) as string,
  }
}

const traitColumns = 'id, name, description, definition, status, version, created_at, updated_at'

export async function loadComputedTraits(
  q: Queryable,
  workspaceId: string,
  opts: { activeOnly?: boolean } = {},
): Promise<StoredComputedTrait[]> {
  const res = await q.query<TraitRow>(
    `SELECT ${traitColumns} FROM computed_traits WHERE workspace_id = $1
     ${opts.activeOnly === true ? `AND status = 'active'` : ''} ORDER BY id`,
    [workspaceId],
  )
  return res.rows.map((r) => toTrait(workspaceId, r))
}

export async function loadComputedTrait(
  q: Queryable,
  workspaceId: string,
  id: string,
): Promise<StoredComputedTrait | undefined> {
  const res = await q.query<TraitRow>(
    `SELECT ${traitColumns} FROM computed_traits WHERE workspace_id = $1 AND id = $2`,
    [workspaceId, id],
  )
  const r = res.rows[0]
  return r === undefined ? undefined : toTrait(workspaceId, r)
}

/** Segments in evaluation order: each after the segments it references. */
export function orderSegments(segments: readonly StoredSegment[]): StoredSegment[] {
  const byId = new Map(segments.map((s) => [s.id, s]))
  return evaluationOrder(new Map(segments.map((s) => [s.id, s.definition])))
    .map((id) => byId.get(id))
    .filter((s): s is StoredSegment => s !== undefined)
}

/**
 * The given segments plus every segment that references them (transitively), in evaluation
 * order: what must be re-evaluated after their membership may have changed.
 */
export function withDependents(
  all: readonly StoredSegment[],
  roots: Iterable<string>,
): StoredSegment[] {
  const picked = new Set(roots)
  let grew = true
  while (grew) {
    grew = false
    for (const s of all)
      if (!picked.has(s.id) && s.deps.segments.some((r) => picked.has(r))) {
        picked.add(s.id)
        grew = true
      }
  }
  return orderSegments(all.filter((s) => picked.has(s.id)))
}
