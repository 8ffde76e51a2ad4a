/**
 * @module identity/split-planner
 * Plans an unmerge: detach identifiers from a profile into a new profile, and decide which of the
 * profile's events follow them. Events are attributed by their own identifiers: an event goes to
 * the side that holds its highest-priority identifier (ties stay on the original profile).
 */
import { IdentityError } from './identity-errors.js'
import type { Identifier } from './identifiers.js'
import { identifierKey } from './identifiers.js'
import type { IdentityRules } from './rules.js'
import { compileIdentityRules } from './rules.js'

export interface SplitEvent {
  messageId: string
  sourceId?: string
  timestamp: number
  /** Re-extracted from the stored event with `extractIdentifiers`. */
  identifiers: Identifier[]
  previousId?: string
}

export interface SplitInput {
  profile: { id: string; identifiers: Identifier[] }
  /** Normalised like at ingest (`normalizeIdentifier`). */
  detach: Identifier[]
  events: readonly SplitEvent[]
  rules: IdentityRules
  /** Id for the new profile; derive it from the split request so a retry plans the same split. */
  newProfileId: string
  /** Epoch ms, from the caller's clock. */
  at: number
  requestedBy?: string
}

export interface SplitRecord {
  profileId: string
  newProfileId: string
  identifiers: Identifier[]
  at: number
  requestedBy?: string
  movedEventCount: number
}

export interface SplitPlan {
  profileId: string
  newProfile: { id: string; createdAt: number }
  detached: Identifier[]
  kept: Identifier[]
  /** Events that move to the new profile, in input order. */
  movedEvents: Array<{ messageId: string; sourceId?: string }>
  keptEventCount: number
  /** Identifier counts per type after the split (for the stats the merge planner reads). */
  counts: { original: Record<string, number>; created: Record<string, number> }
  record: SplitRecord
}

function countByType(identifiers: readonly Identifier[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const { type } of identifiers) counts[type] = (counts[type] ?? 0) + 1
  return counts
}

export function planSplit(input: SplitInput): SplitPlan {
  const rules = compileIdentityRules(input.rules)
  if (input.detach.length === 0) throw new IdentityError('SPLIT_EMPTY', 'Nothing to detach')
  const own = new Map(input.profile.identifiers.map((id) => [identifierKey(id), id]))
  const detachKeys = new Set<string>()
  const unknown: Identifier[] = []
  for (const identifier of input.detach) {
    const key = identifierKey(identifier)
    if (own.has(key)) detachKeys.add(key)
    else unknown.push(identifier)
  }
  if (unknown.length > 0) {
    throw new IdentityError(
      'SPLIT_UNKNOWN_IDENTIFIER',
      `Profile ${input.profile.id} does not hold ${unknown.map(identifierKey).join(', ')}`,
      { identifiers: unknown },
    )
  }
  const detached = [...own.entries()].filter(([key]) => detachKeys.has(key)).map(([, id]) => id)
  const kept = [...own.entries()].filter(([key]) => !detachKeys.has(key)).map(([, id]) => id)
  if (kept.length === 0) {
    throw new IdentityError(
      'SPLIT_WOULD_EMPTY_PROFILE',
      `Profile ${input.profile.id} would be empty`,
    )
  }

  const movedEvents: SplitPlan['movedEvents'] = []
  let createdAt = Number.POSITIVE_INFINITY
  for (const event of input.events) {
    const identifiers = [...event.identifiers]
    if (event.previousId !== undefined) {
      identifiers.push({ type: 'user_id', value: event.previousId })
      identifiers.push({ type: 'anonymous_id', value: event.previousId })
    }
    let bestDetached = Number.POSITIVE_INFINITY
    let bestKept = Number.POSITIVE_INFINITY
    for (const identifier of identifiers) {
      const key = identifierKey(identifier)
      if (!own.has(key)) continue
      const rank = rules.rank(identifier.type)
      if (detachKeys.has(key)) bestDetached = Math.min(bestDetached, rank)
      else bestKept = Math.min(bestKept, rank)
    }
    if (bestDetached < bestKept) {
      movedEvents.push({
        messageId: event.messageId,
        ...(event.sourceId === undefined ? {} : { sourceId: event.sourceId }),
      })
      createdAt = Math.min(createdAt, event.timestamp)
    }
  }
  const record: SplitRecord = {
    profileId: input.profile.id,
    newProfileId: input.newProfileId,
    identifiers: detached,
    at: input.at,
    ...(input.requestedBy === undefined ? {} : { requestedBy: input.requestedBy }),
    movedEventCount: movedEvents.length,
  }
  return {
    profileId: input.profile.id,
    newProfile: {
      id: input.newProfileId,
      createdAt: Number.isFinite(createdAt) ? createdAt : input.at,
    },
    detached,
    kept,
    movedEvents,
    keptEventCount: input.events.length - movedEvents.length,
    counts: { original: countByType(kept), created: countByType(detached) },
    record,
  }
}
