/**
 * @module identity/identity-graph
 * An in-memory identity graph that applies plans the way the processor's SQL does (insert new
 * profiles, redirect merged-away profiles, insert attachments, place events). Tests, the property
 * test and dry runs (`kindred reprocess --dry-run`) use it; it is also the reference for the SQL.
 */
import { IdentityError } from './identity-errors.js'
import type { Identifier } from './identifiers.js'
import { identifierKey, parseIdentifierKey } from './identifiers.js'
import type { GraphSnapshot, IdentityPlan, PlannerEvent } from './merge-planner.js'
import { identifiersToLookup } from './merge-planner.js'
import type { SplitPlan, SplitRecord } from './split-planner.js'

export interface GraphProfile {
  id: string
  createdAt: number
  mergeCount: number
  mergedInto: string | null
}

/** A canonical, sorted, JSON-friendly view: two graphs are equal iff their states are deep-equal. */
export interface GraphState {
  profiles: GraphProfile[]
  identifiers: Array<Identifier & { profileId: string }>
  /** `sourceId/messageId` → profile id (null when the event identified nobody). */
  events: Record<string, string | null>
}

function eventKey(messageId: string, sourceId: string | undefined): string {
  return `${sourceId ?? ''}/${messageId}`
}

export class IdentityGraph {
  private readonly profiles = new Map<string, GraphProfile>()
  private readonly owners = new Map<string, string>()
  private readonly byProfile = new Map<string, Set<string>>()
  private readonly events = new Map<string, string | null>()
  private readonly eventsByProfile = new Map<string, Set<string>>()
  /** Profiles whose `mergedInto` is the key (to keep redirects one hop without a scan). */
  private readonly mergedFrom = new Map<string, Set<string>>()
  readonly splits: SplitRecord[] = []

  /** The snapshot `planIdentity` needs for these events (what the processor would SELECT). */
  snapshotFor(events: readonly PlannerEvent[]): GraphSnapshot {
    const snapshot: GraphSnapshot = { identifiers: [], profiles: [] }
    const included = new Set<string>()
    for (const identifier of identifiersToLookup(events)) {
      const owner = this.owners.get(identifierKey(identifier))
      if (owner === undefined) continue
      snapshot.identifiers.push({ ...identifier, profileId: owner })
      if (included.has(owner)) continue
      included.add(owner)
      const profile = this.profile(owner)
      snapshot.profiles.push({
        id: owner,
        createdAt: profile.createdAt,
        mergeCount: profile.mergeCount,
        counts: this.countsOf(owner),
      })
    }
    return snapshot
  }

  apply(plan: IdentityPlan): void {
    for (const created of plan.newProfiles) {
      this.profiles.set(created.id, {
        id: created.id,
        createdAt: created.createdAt,
        mergeCount: 0,
        mergedInto: null,
      })
      if (created.mergedInto !== null) this.setMergedInto(created.id, created.mergedInto)
    }
    for (const { from, into } of plan.redirects) {
      // UPDATE profiles SET merged_into = into WHERE id = from OR merged_into = from
      for (const earlier of [...(this.mergedFrom.get(from) ?? [])])
        this.setMergedInto(earlier, into)
      this.setMergedInto(from, into)
      // UPDATE identities SET profile_id = into WHERE profile_id = from
      for (const key of [...(this.byProfile.get(from) ?? [])]) this.setOwner(key, into)
      // UPDATE events SET profile_id = into WHERE profile_id = from
      for (const key of [...(this.eventsByProfile.get(from) ?? [])]) this.setEvent(key, into)
    }
    for (const attachment of plan.attachments) {
      this.profile(attachment.profileId)
      this.setOwner(identifierKey(attachment), attachment.profileId)
    }
    // UPDATE profiles SET merge_count = … FROM unnest(plan.profiles)
    for (const state of plan.profiles) this.profile(state.id).mergeCount = state.mergeCount
    for (const resolution of plan.events) {
      this.setEvent(eventKey(resolution.messageId, resolution.sourceId), resolution.profileId)
    }
  }

  applySplit(plan: SplitPlan): void {
    const original = this.profile(plan.profileId)
    if (original.mergedInto !== null) {
      throw new IdentityError('SPLIT_PROFILE_MERGED', `Profile ${plan.profileId} was merged`)
    }
    this.profiles.set(plan.newProfile.id, {
      id: plan.newProfile.id,
      createdAt: plan.newProfile.createdAt,
      mergeCount: 0,
      mergedInto: null,
    })
    for (const identifier of plan.detached)
      this.setOwner(identifierKey(identifier), plan.newProfile.id)
    for (const moved of plan.movedEvents) {
      this.setEvent(eventKey(moved.messageId, moved.sourceId), plan.newProfile.id)
    }
    this.splits.push(plan.record)
  }

  /** Live profile of an identifier, or undefined. */
  profileOf(identifier: Identifier): string | undefined {
    return this.owners.get(identifierKey(identifier))
  }

  /** Follows `mergedInto` to the survivor. */
  resolve(profileId: string): string {
    let current = profileId
    for (let next = this.profiles.get(current)?.mergedInto; next;) {
      current = next
      next = this.profiles.get(current)?.mergedInto
    }
    return current
  }

  identifiersOf(profileId: string): Identifier[] {
    return [...(this.byProfile.get(profileId) ?? [])].sort().map(parseIdentifierKey)
  }

  /** `sourceId/messageId` keys of the events on a profile, sorted. */
  eventsOf(profileId: string): string[] {
    return [...(this.eventsByProfile.get(profileId) ?? [])].sort()
  }

  profileIds(options: { live?: boolean } = {}): string[] {
    return [...this.profiles.values()]
      .filter((p) => !options.live || p.mergedInto === null)
      .map((p) => p.id)
      .sort()
  }

  countsOf(profileId: string): Record<string, number> {
    const counts: Record<string, number> = {}
    for (const key of this.byProfile.get(profileId) ?? []) {
      const type = parseIdentifierKey(key).type
      counts[type] = (counts[type] ?? 0) + 1
    }
    return counts
  }

  toState(): GraphState {
    return {
      profiles: [...this.profiles.values()]
        .map((p) => ({ ...p }))
        .sort((a, b) => (a.id < b.id ? -1 : 1)),
      identifiers: [...this.owners]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([key, profileId]) => ({ ...parseIdentifierKey(key), profileId })),
      events: Object.fromEntries([...this.events].sort(([a], [b]) => (a < b ? -1 : 1))),
    }
  }

  private profile(id: string): GraphProfile {
    const profile = this.profiles.get(id)
    if (!profile) throw new IdentityError('PLAN_UNKNOWN_PROFILE', `Unknown profile ${id}`)
    return profile
  }

  private setMergedInto(id: string, into: string): void {
    const profile = this.profile(id)
    if (profile.mergedInto !== null) this.mergedFrom.get(profile.mergedInto)?.delete(id)
    profile.mergedInto = into
    let set = this.mergedFrom.get(into)
    if (!set) this.mergedFrom.set(into, (set = new Set()))
    set.add(id)
  }

  private setEvent(key: string, profileId: string | null): void {
    const previous = this.events.get(key)
    if (previous !== undefined && previous !== null) this.eventsByProfile.get(previous)?.delete(key)
    this.events.set(key, profileId)
    if (profileId === null) return
    let set = this.eventsByProfile.get(profileId)
    if (!set) this.eventsByProfile.set(profileId, (set = new Set()))
    set.add(key)
  }

  private setOwner(key: string, profileId: string): void {
    const previous = this.owners.get(key)
    if (previous !== undefined) this.byProfile.get(previous)?.delete(key)
    this.owners.set(key, profileId)
    let set = this.byProfile.get(profileId)
    if (!set) this.byProfile.set(profileId, (set = new Set()))
    set.add(key)
  }
}
