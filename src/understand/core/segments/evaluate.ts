/**
 * @module evaluate
 * The in-memory evaluator for the real-time path: one profile's facts in, membership out.
 * Its meaning is the SQL compiler's (compile-sql.ts); agreement.test.ts proves it on random data.
 */
import type {
  CountCondition,
  EventFilter,
  EventWindow,
  FunnelNode,
  SegmentDefinition,
  SegmentNode,
} from './definition.js'
import { durationMs, getPath, matchValue, parseIsoMs, toPath } from './value-condition.js'

/** One event of the profile, as stored in the `events` table. */
export interface FactEvent {
  /** The `event` column (track events' name); null for identify, page without name, … */
  name?: string | null
  type: string
  properties: Record<string, unknown>
  /** A Date, epoch milliseconds, or an ISO 8601 string with an offset. */
  timestamp: Date | number | string
}

/** Everything a segment may read about one profile. */
export interface ProfileFacts {
  profile: { id: string; traits: Record<string, unknown> }
  /** That profile's events (any order). Only the ones conditions can match are needed. */
  events: readonly FactEvent[]
  /** Computed trait values by computed trait id (absent = no value row). */
  computedTraits: Record<string, unknown>
  /** Ids of segments the profile is currently a member of. */
  segments: ReadonlySet<string>
  consent: Record<string, 'granted' | 'denied'>
}

function eventMs(t: Date | number | string): number {
  if (typeof t === 'number') return t
  if (t instanceof Date) return t.getTime()
  return parseIsoMs(t) ?? new Date(t).getTime()
}

interface PreparedEvent {
  name: string | null
  type: string
  properties: Record<string, unknown>
  ms: number
}

/** Does an event pass a filter (name, type, property conditions)? */
export function matchesEventFilter(
  f: EventFilter,
  e: { name?: string | null; type: string; properties: Record<string, unknown> },
  nowMs: number,
): boolean {
  if (f.event !== undefined && e.name !== f.event) return false
  if (f.type !== undefined && e.type !== f.type) return false
  for (const w of f.where ?? [])
    if (!matchValue(w.condition, getPath(e.properties, toPath(w.property)), nowMs)) return false
  return true
}

/** [fromMs, toMs] bounds with inclusivity, for an event window. */
export function windowBounds(
  w: EventWindow,
  nowMs: number,
): { from: number; fromInclusive: boolean; to: number; toInclusive: boolean } {
  if (w.kind === 'last')
    return { from: nowMs - durationMs(w), fromInclusive: false, to: nowMs, toInclusive: true }
  return {
    from: parseIsoMs(w.from) as number,
    fromInclusive: true,
    to: parseIsoMs(w.to) as number,
    toInclusive: false,
  }
}

function inWindow(ms: number, w: EventWindow | undefined, nowMs: number): boolean {
  if (w === undefined) return true
  const b = windowBounds(w, nowMs)
  const afterFrom = b.fromInclusive ? ms >= b.from : ms > b.from
  const beforeTo = b.toInclusive ? ms <= b.to : ms < b.to
  return afterFrom && beforeTo
}

function countOk(c: CountCondition, n: number): boolean {
  return c.op === 'gte' ? n >= c.value : c.op === 'lte' ? n <= c.value : n === c.value
}

/** Is there a strictly ordered sequence of steps, all within `within` of the first step? */
function funnelMatches(node: FunnelNode, events: PreparedEvent[], nowMs: number): boolean {
  const span = durationMs(node.within)
  const inWin = events.filter((e) => inWindow(e.ms, node.window, nowMs))
  const stepEvents = node.steps.map((s) =>
    inWin
      .filter((e) => matchesEventFilter(s, e, nowMs))
      .map((e) => e.ms)
      .sort((a, b) => a - b),
  )
  const [first, ...rest] = stepEvents
  for (const t0 of first ?? []) {
    // Greedy: the earliest possible next step is always the best choice for a fixed first step.
    let prev = t0
    let ok = true
    for (const times of rest) {
      const next = times.find((t) => t > prev)
      if (next === undefined || next > t0 + span) {
        ok = false
        break
      }
      prev = next
    }
    if (ok) return true
  }
  return false
}

/**
 * Evaluates a segment definition for one profile at `now`.
 * @example evaluateSegment(def, facts, new Date('2025-01-01T00:00:00Z')) // → true | false
 */
export function evaluateSegment(def: SegmentDefinition, facts: ProfileFacts, now: Date): boolean {
  const nowMs = now.getTime()
  let prepared: PreparedEvent[] | undefined
  const events = (): PreparedEvent[] =>
    (prepared ??= facts.events.map((e) => ({
      name: e.name ?? null,
      type: e.type,
      properties: e.properties,
      ms: eventMs(e.timestamp),
    })))
  const visit = (n: SegmentNode): boolean => {
    switch (n.kind) {
      case 'and':
        return n.children.every(visit)
      case 'or':
        return n.children.some(visit)
      case 'not':
        return !visit(n.child)
      case 'trait':
        return matchValue(n.condition, getPath(facts.profile.traits, toPath(n.trait)), nowMs)
      case 'computed_trait':
        return matchValue(
          n.condition,
          Object.hasOwn(facts.computedTraits, n.id) ? facts.computedTraits[n.id] : undefined,
          nowMs,
        )
      case 'segment':
        return facts.segments.has(n.id) === (n.member ?? true)
      case 'consent':
        return Object.hasOwn(facts.consent, n.purpose) && facts.consent[n.purpose] === n.status
      case 'event': {
        let count = 0
        for (const e of events())
          if (inWindow(e.ms, n.window, nowMs) && matchesEventFilter(n, e, nowMs)) count++
        const ok = countOk(n.count ?? { op: 'gte', value: 1 }, count)
        return (n.performed ?? true) ? ok : !ok
      }
      case 'funnel':
        return funnelMatches(n, events(), nowMs)
    }
  }
  return visit(def)
}

/**
 * Evaluates many segments for one profile, in the given order (use `evaluationOrder` so that a
 * segment comes after the segments it references): each result updates the membership later
 * segments see. Returns the profile's membership of every given segment.
 */
export function evaluateSegments(
  ordered: Iterable<readonly [id: string, def: SegmentDefinition]>,
  facts: ProfileFacts,
  now: Date,
): Map<string, boolean> {
  const current = new Set(facts.segments)
  const out = new Map<string, boolean>()
  for (const [id, def] of ordered) {
    const member = evaluateSegment(def, { ...facts, segments: current }, now)
    out.set(id, member)
    if (member) current.add(id)
    else current.delete(id)
  }
  return out
}

/** Entered / exited segment ids between a profile's previous membership and new results. */
export function membershipChanges(
  previous: ReadonlySet<string>,
  results: ReadonlyMap<string, boolean>,
): { entered: string[]; exited: string[] } {
  const entered: string[] = []
  const exited: string[] = []
  for (const [id, member] of results) {
    if (member && !previous.has(id)) entered.push(id)
    else if (!member && previous.has(id)) exited.push(id)
  }
  return { entered, exited }
}
