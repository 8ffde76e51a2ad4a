/**
 * @module identity/merge-planner
 * Plans identity resolution for one micro-batch, as data. The planner replays the batch event by
 * event against an overlay of a graph snapshot (only the identifiers the batch mentions and their
 * profiles), so a batch gives exactly the plan that one-event batches would give, one after the
 * other: micro-batch cuts never change the graph. The processor turns the plan into a handful of
 * set-based statements (see README.md: applying a plan).
 */
import { IdentityError } from './identity-errors.js'
import type { Identifier } from './identifiers.js'
import { identifierKey } from './identifiers.js'
import type { ProfileIdGenerator } from './profile-ids.js'
import { deterministicProfileIds } from './profile-ids.js'
import type { CompiledIdentityRules, IdentityRules } from './rules.js'
import { compileIdentityRules } from './rules.js'

/** One event of the micro-batch, in log order, with identifiers already extracted and normalised. */
export interface PlannerEvent {
  messageId: string
  sourceId?: string
  /** Epoch milliseconds; becomes `createdAt` of a profile this event creates. */
  timestamp: number
  identifiers: Identifier[]
  /** `alias` only: matched against `user_id` and `anonymous_id` (see extractIdentifiers). */
  previousId?: string
}

/** A live profile as the store knows it before the batch. */
export interface SnapshotProfile {
  id: string
  /** Epoch milliseconds; "oldest" = smallest (createdAt, id). */
  createdAt: number
  /** Profiles merged into this one so far, transitively. */
  mergeCount: number
  /** Identifiers per type, counting all of the profile's identifiers, not only those involved. */
  counts: Record<string, number>
}

/**
 * The graph restricted to the batch: every identifier of `identifiersToLookup(events)` that
 * exists, with the live profile owning it, and every such profile.
 */
export interface GraphSnapshot {
  identifiers: Array<Identifier & { profileId: string }>
  profiles: SnapshotProfile[]
  /**
   * Pairs of live profiles that must never merge (a split separated them). Only pairs touching a
   * snapshot profile matter; either order.
   */
  separations?: Array<{ profileId: string; otherProfileId: string }>
}

export interface PlanInput {
  events: readonly PlannerEvent[]
  snapshot: GraphSnapshot
  rules: IdentityRules
  /** Defaults to `deterministicProfileIds()`; pass `deterministicProfileIds(workspaceId)`. */
  newProfileId?: ProfileIdGenerator
}

export type DropReason = 'limit' | 'max_merges' | 'max_identifiers' | 'separated'

export interface DroppedIdentifier {
  messageId: string
  identifier: Identifier
  /** The profile that identifier points to, or null when it was new. */
  profileId: string | null
  reason: DropReason
  /** For `limit`: the identifier type whose per-profile limit would break. */
  limitType?: string
  /** For `separated`: the profile a split keeps apart from the one the identifier points to. */
  separatedFrom?: string
  limit: number
  /** The count the profile would have reached. */
  wouldBe: number
}

export interface CapHit {
  messageId: string
  /** The profile the event resolved to (it would have grown past the cap). */
  profileId: string | null
  cap: 'max_merges' | 'max_identifiers'
  limit: number
  wouldBe: number
}

export interface EventResolution {
  messageId: string
  sourceId?: string
  /** Where the event lives once the whole batch is applied (survivor of later merges), or null. */
  profileId: string | null
  /** The profile the event resolved to when it was processed. */
  resolvedProfileId: string | null
  /** Identifiers used for matching (existing and newly attached), highest priority first. */
  matched: Identifier[]
  /** New identifiers this event attached to its profile. */
  attached: Identifier[]
  /** Identifiers kept out of matching by merge protection (details in `plan.dropped`). */
  dropped: Identifier[]
}

export interface NewProfile {
  id: string
  createdAt: number
  /** The event that created it. */
  messageId: string
  sourceId?: string
  /** Final survivor when the profile was merged away later in the same batch. */
  mergedInto: string | null
}

export interface Attachment extends Identifier {
  /** Final owner (after the batch's merges). */
  profileId: string
  messageId: string
}

export type MergeRule = 'identifier' | 'alias'

export interface MergeRecord {
  /** Position in the batch's merge order. */
  index: number
  from: string
  into: string
  messageId: string
  sourceId?: string
  at: number
  rule: MergeRule
  /** The event's identifiers that pointed to `from`. */
  identifiers: Identifier[]
  /** The event's identifiers that pointed to `into`, or were attached with it. */
  joinedWith: Identifier[]
}

export interface ProfileState {
  id: string
  createdAt: number
  mergeCount: number
  identifierCount: number
  counts: Record<string, number>
  isNew: boolean
  /** Final survivor when merged away in this batch (the stats are those it had then). */
  mergedInto: string | null
}

export interface IdentityPlan {
  events: EventResolution[]
  newProfiles: NewProfile[]
  attachments: Attachment[]
  merges: MergeRecord[]
  /** Each profile merged away in this batch → its final survivor (one hop). */
  redirects: Array<{ from: string; into: string }>
  dropped: DroppedIdentifier[]
  capsHit: CapHit[]
  /** Final state of every profile the batch touched (created, grown, merged into or away). */
  profiles: ProfileState[]
}

/**
 * The identifiers whose owners the snapshot must hold: every event identifier, and for alias
 * events `previousId` as both `user_id` and `anonymous_id`. De-duplicated.
 */
export function identifiersToLookup(events: readonly PlannerEvent[]): Identifier[] {
  const out = new Map<string, Identifier>()
  const add = (identifier: Identifier): void => {
    out.set(identifierKey(identifier), identifier)
  }
  for (const event of events) {
    event.identifiers.forEach(add)
    if (event.previousId !== undefined) {
      add({ type: 'user_id', value: event.previousId })
      add({ type: 'anonymous_id', value: event.previousId })
    }
  }
  return [...out.values()]
}

interface WorkingProfile {
  id: string
  createdAt: number
  mergeCount: number
  identifierCount: number
  counts: Map<string, number>
  mergedInto: string | undefined
  isNew: boolean
}

interface Candidate {
  identifier: Identifier
  key: string
  profileId: string | undefined
  /** An alias `previousId` candidate: ranks after the event's own identifiers of its type. */
  previous: boolean
}

interface Violation {
  reason: DropReason
  limitType?: string
  separatedFrom?: string
  limit: number
  wouldBe: number
}

function olderFirst(a: WorkingProfile, b: WorkingProfile): number {
  return a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

/**
 * Plans a micro-batch. Per event, in order:
 * 1. its identifiers (plus alias candidates) are ranked: priority of the type, then existing
 *    before new, then older profile first, then value;
 * 2. greedily, in that order, each identifier joins the event's matching set unless the profiles
 *    and new identifiers gathered so far would break a per-type limit or a cap, or would join two
 *    profiles a split separated: then it is dropped (merge protection), so the lowest-priority
 *    conflicting identifiers are the ones left out;
 * 3. no profile matched → a new profile (id from the event); several → all merge into the oldest;
 * 4. new identifiers attach to the resulting profile.
 */
export function planIdentity(input: PlanInput): IdentityPlan {
  const rules = compileIdentityRules(input.rules)
  const newProfileId = input.newProfileId ?? deterministicProfileIds()
  const state = new PlanState(input.snapshot)
  const plan: IdentityPlan = {
    events: [],
    newProfiles: [],
    attachments: [],
    merges: [],
    redirects: [],
    dropped: [],
    capsHit: [],
    profiles: [],
  }
  const usedIds = new Set<string>()
  const attachmentsAt: Array<Identifier & { profileId: string; messageId: string }> = []

  for (const event of input.events) {
    if (!Number.isFinite(event.timestamp)) {
      throw new IdentityError('INVALID_EVENT_TIMESTAMP', `Event ${event.messageId}`, {
        messageId: event.messageId,
      })
    }
    const candidates = state.candidates(event, rules)
    const bypassLimits = event.previousId !== undefined && rules.rules.aliasBypassesLimits
    const profiles: WorkingProfile[] = []
    const fresh: Candidate[] = []
    const accepted: Candidate[] = []
    const dropped: Identifier[] = []
    for (const candidate of candidates) {
      const owner = candidate.profileId === undefined ? undefined : state.get(candidate.profileId)
      if (owner && profiles.includes(owner)) {
        accepted.push(candidate)
        continue
      }
      const nextProfiles = owner ? [...profiles, owner] : profiles
      const nextFresh = owner ? fresh : [...fresh, candidate]
      const apart = owner ? profiles.find((p) => state.separated(p, owner)) : undefined
      const violation: Violation | undefined = apart
        ? { reason: 'separated', separatedFrom: apart.id, limit: 0, wouldBe: 0 }
        : checkViolation(nextProfiles, nextFresh, rules, bypassLimits)
      if (violation) {
        dropped.push(candidate.identifier)
        plan.dropped.push({
          messageId: event.messageId,
          identifier: candidate.identifier,
          profileId: owner?.id ?? null,
          ...violation,
        })
        if (violation.reason === 'max_merges' || violation.reason === 'max_identifiers') {
          plan.capsHit.push({
            messageId: event.messageId,
            profileId: [...profiles].sort(olderFirst)[0]?.id ?? null,
            cap: violation.reason,
            limit: violation.limit,
            wouldBe: violation.wouldBe,
          })
        }
        continue
      }
      if (owner) profiles.push(owner)
      else fresh.push(candidate)
      accepted.push(candidate)
    }

    let target: WorkingProfile | undefined
    if (accepted.length > 0) {
      if (profiles.length === 0) {
        let attempt = 0
        let id = newProfileId(event, attempt)
        while (usedIds.has(id) || state.has(id)) id = newProfileId(event, ++attempt)
        usedIds.add(id)
        target = state.create(id, event.timestamp)
        plan.newProfiles.push({
          id,
          createdAt: event.timestamp,
          messageId: event.messageId,
          ...(event.sourceId === undefined ? {} : { sourceId: event.sourceId }),
          mergedInto: null,
        })
      } else {
        profiles.sort(olderFirst)
        target = profiles[0] as WorkingProfile
        const joinedWith = accepted
          .filter((c) => c.profileId === undefined || state.resolve(c.profileId) === target?.id)
          .map((c) => c.identifier)
        for (const from of profiles.slice(1)) {
          plan.merges.push({
            index: plan.merges.length,
            from: from.id,
            into: target.id,
            messageId: event.messageId,
            ...(event.sourceId === undefined ? {} : { sourceId: event.sourceId }),
            at: event.timestamp,
            rule: event.previousId !== undefined ? 'alias' : 'identifier',
            identifiers: accepted
              .filter((c) => c.profileId !== undefined && state.resolve(c.profileId) === from.id)
              .map((c) => c.identifier),
            joinedWith,
          })
          state.merge(from, target)
        }
      }
      state.touch(target.id)
      for (const candidate of fresh) {
        state.attach(candidate, target)
        attachmentsAt.push({
          ...candidate.identifier,
          profileId: target.id,
          messageId: event.messageId,
        })
      }
    }
    plan.events.push({
      messageId: event.messageId,
      ...(event.sourceId === undefined ? {} : { sourceId: event.sourceId }),
      profileId: target?.id ?? null,
      resolvedProfileId: target?.id ?? null,
      matched: accepted.map((c) => c.identifier),
      attached: fresh.map((c) => c.identifier),
      dropped,
    })
  }

  // Final ids: everything the batch produced points at survivors, so the processor writes once.
  for (const resolution of plan.events) {
    if (resolution.profileId !== null) resolution.profileId = state.resolve(resolution.profileId)
  }
  for (const created of plan.newProfiles) {
    const survivor = state.resolve(created.id)
    created.mergedInto = survivor === created.id ? null : survivor
  }
  plan.attachments = attachmentsAt.map((a) => ({ ...a, profileId: state.resolve(a.profileId) }))
  for (const merge of plan.merges)
    plan.redirects.push({ from: merge.from, into: state.resolve(merge.from) })
  plan.profiles = state.touchedProfiles()
  return plan
}

function checkViolation(
  profiles: readonly WorkingProfile[],
  fresh: readonly Candidate[],
  rules: CompiledIdentityRules,
  bypassLimits: boolean,
): Violation | undefined {
  if (!bypassLimits) {
    const combined = new Map<string, number>()
    const largest = new Map<string, number>()
    for (const profile of profiles) {
      for (const [type, count] of profile.counts) {
        combined.set(type, (combined.get(type) ?? 0) + count)
        largest.set(type, Math.max(largest.get(type) ?? 0, count))
      }
    }
    for (const candidate of fresh) {
      const type = candidate.identifier.type
      combined.set(type, (combined.get(type) ?? 0) + 1)
    }
    // Report the highest-priority broken limit, whatever order the counts were built in.
    const types = [...combined.keys()].sort(
      (a, b) => rules.rank(a) - rules.rank(b) || (a < b ? -1 : a > b ? 1 : 0),
    )
    for (const type of types) {
      const wouldBe = combined.get(type) ?? 0
      const limit = rules.limit(type)
      // A profile already over a (lowered) limit may keep what it has, but never grow.
      if (limit !== undefined && wouldBe > limit && wouldBe > (largest.get(type) ?? 0)) {
        return { reason: 'limit', limitType: type, limit, wouldBe }
      }
    }
  }
  const { maxMergesPerProfile, maxIdentifiersPerProfile } = rules.rules.caps
  if (profiles.length > 1) {
    const merges = profiles.reduce((sum, p) => sum + p.mergeCount, 0) + profiles.length - 1
    if (merges > maxMergesPerProfile) {
      return { reason: 'max_merges', limit: maxMergesPerProfile, wouldBe: merges }
    }
  }
  const total = profiles.reduce((sum, p) => sum + p.identifierCount, 0) + fresh.length
  const largestTotal = profiles.reduce((max, p) => Math.max(max, p.identifierCount), 0)
  if (total > maxIdentifiersPerProfile && total > largestTotal) {
    return { reason: 'max_identifiers', limit: maxIdentifiersPerProfile, wouldBe: total }
  }
  return undefined
}

/** The snapshot plus everything the batch did so far. */
class PlanState {
  private readonly owners = new Map<string, string>()
  private readonly profiles = new Map<string, WorkingProfile>()
  private readonly touched = new Set<string>()
  /** Profile id → ids it must never merge with; unioned into the survivor on merge. */
  private readonly apart = new Map<string, Set<string>>()

  constructor(snapshot: GraphSnapshot) {
    for (const profile of snapshot.profiles) {
      const counts = new Map<string, number>()
      let identifierCount = 0
      for (const [type, count] of Object.entries(profile.counts)) {
        if (count > 0) counts.set(type, count)
        identifierCount += count
      }
      this.profiles.set(profile.id, {
        id: profile.id,
        createdAt: profile.createdAt,
        mergeCount: profile.mergeCount,
        identifierCount,
        counts,
        mergedInto: undefined,
        isNew: false,
      })
    }
    for (const entry of snapshot.identifiers) {
      if (!this.profiles.has(entry.profileId)) {
        throw new IdentityError(
          'SNAPSHOT_INCOMPLETE',
          `Identifier ${entry.type}:${entry.value} points to profile ${entry.profileId}, absent from the snapshot`,
          { profileId: entry.profileId },
        )
      }
      this.owners.set(identifierKey(entry), entry.profileId)
    }
    for (const { profileId, otherProfileId } of snapshot.separations ?? []) {
      this.keepApart(profileId, otherProfileId)
      this.keepApart(otherProfileId, profileId)
    }
  }

  private keepApart(id: string, other: string): void {
    let set = this.apart.get(id)
    if (!set) this.apart.set(id, (set = new Set()))
    set.add(other)
  }

  /** Whether a split separated these two (live) profiles, following the batch's merges. */
  separated(a: WorkingProfile, b: WorkingProfile): boolean {
    for (const other of this.apart.get(a.id) ?? []) if (this.resolve(other) === b.id) return true
    for (const other of this.apart.get(b.id) ?? []) if (this.resolve(other) === a.id) return true
    return false
  }

  has(id: string): boolean {
    return this.profiles.has(id)
  }

  get(id: string): WorkingProfile {
    const profile = this.profiles.get(this.resolve(id))
    if (!profile) throw new IdentityError('SNAPSHOT_INCOMPLETE', `Unknown profile ${id}`)
    return profile
  }

  resolve(id: string): string {
    let current = id
    for (let next = this.profiles.get(current)?.mergedInto; next;) {
      current = next
      next = this.profiles.get(current)?.mergedInto
    }
    return current
  }

  candidates(event: PlannerEvent, rules: CompiledIdentityRules): Candidate[] {
    const byKey = new Map<string, Candidate>()
    const add = (identifier: Identifier, previous: boolean): void => {
      const key = identifierKey(identifier)
      if (byKey.has(key)) return
      const owner = this.owners.get(key)
      const profileId = owner === undefined ? undefined : this.resolve(owner)
      byKey.set(key, { identifier, key, profileId, previous })
    }
    for (const identifier of event.identifiers) add(identifier, false)
    if (event.previousId !== undefined) {
      const asUser = { type: 'user_id', value: event.previousId }
      const asAnonymous = { type: 'anonymous_id', value: event.previousId }
      const known = [asUser, asAnonymous].filter((id) => this.owners.has(identifierKey(id)))
      // An unknown previousId is most often the anonymousId the user browsed with.
      ;(known.length > 0 ? known : [asAnonymous]).forEach((id) => add(id, true))
    }
    const rank = (c: Candidate): number => rules.rank(c.identifier.type)
    return [...byKey.values()].sort((a, b) => {
      const byRank = rank(a) - rank(b)
      if (byRank !== 0) return byRank
      if (a.previous !== b.previous) return a.previous ? 1 : -1
      if (a.profileId !== b.profileId) {
        if (a.profileId === undefined) return 1
        if (b.profileId === undefined) return -1
        const byAge = olderFirst(this.get(a.profileId), this.get(b.profileId))
        if (byAge !== 0) return byAge
      }
      return a.key < b.key ? -1 : a.key > b.key ? 1 : 0
    })
  }

  create(id: string, createdAt: number): WorkingProfile {
    const profile: WorkingProfile = {
      id,
      createdAt,
      mergeCount: 0,
      identifierCount: 0,
      counts: new Map(),
      mergedInto: undefined,
      isNew: true,
    }
    this.profiles.set(id, profile)
    this.touched.add(id)
    return profile
  }

  merge(from: WorkingProfile, into: WorkingProfile): void {
    into.mergeCount += from.mergeCount + 1
    into.identifierCount += from.identifierCount
    for (const [type, count] of from.counts)
      into.counts.set(type, (into.counts.get(type) ?? 0) + count)
    from.mergedInto = into.id
    for (const other of this.apart.get(from.id) ?? []) this.keepApart(into.id, other)
    this.touched.add(into.id)
    this.touched.add(from.id)
  }

  attach(candidate: Candidate, profile: WorkingProfile): void {
    this.owners.set(candidate.key, profile.id)
    const type = candidate.identifier.type
    profile.counts.set(type, (profile.counts.get(type) ?? 0) + 1)
    profile.identifierCount += 1
    this.touched.add(profile.id)
  }

  touch(id: string): void {
    this.touched.add(id)
  }

  touchedProfiles(): ProfileState[] {
    const out: ProfileState[] = []
    for (const id of this.touched) {
      const profile = this.profiles.get(id)
      if (!profile) continue
      const survivor = this.resolve(id)
      out.push({
        id: profile.id,
        createdAt: profile.createdAt,
        mergeCount: profile.mergeCount,
        identifierCount: profile.identifierCount,
        counts: Object.fromEntries([...profile.counts].sort(([a], [b]) => (a < b ? -1 : 1))),
        isNew: profile.isNew,
        mergedInto: survivor === id ? null : survivor,
      })
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : 1))
  }
}
