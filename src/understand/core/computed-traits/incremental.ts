/**
 * @module computed/incremental
 * Incremental computed traits. The state of one (profile, computed trait) is a set of partial
 * aggregates per time bucket; every operation is a pure function of (definition, state, events,
 * now) and lands on the same state as `recompute` over all the profile's events:
 *
 *   applyEvents(s, A ∪ B, now) = applyEvents(applyEvents(s, A, t1), B, now)   (t1 ≤ now)
 *   expire(applyEvents(s, A, t1), now) = recompute(A, now)
 *   mergeStates(recompute(A), recompute(B)) = recompute(A ∪ B)
 *
 * Exact for every aggregate except float sums (sum, avg), whose addition order differs, so
 * they agree to float rounding (~1e-12 relative), not bit for bit.
 *
 * State layout (JSON, stored in computed_trait_values.state):
 *   { v: 1, b: { <bucket>: BucketPartial } }  with <bucket> = 'all' (no window) or
 *   floor(epochMs / unitMs) as a string (windowed), and BucketPartial by aggregate:
 *   count {n} · sum/avg {n,s} · min/max {m} · first/last {t,id,v} · time_since_* {t,id} ·
 *   most_frequent {vc: [[value,count]…]} · unique_* {vs: [value…]} (lists sorted by compareScalars)
 */
import { matchesEventFilter } from '../segments/evaluate.js'
import { getPath, parseIsoMs, toNumber, toPath } from '../segments/value-condition.js'
import type { ComputedTraitDefinition } from './definition.js'

/** One event of the profile. `messageId` breaks timestamp ties (first/last) deterministically. */
export interface TraitEvent {
  name?: string | null
  type: string
  properties: Record<string, unknown>
  timestamp: Date | number | string
  messageId: string
}

export type Scalar = string | number | boolean

export interface BucketPartial {
  n?: number
  s?: number
  m?: number
  t?: number
  id?: string
  v?: unknown
  vc?: Array<[Scalar, number]>
  vs?: Scalar[]
}

export interface TraitState {
  v: 1
  b: Record<string, BucketPartial>
}

export type TraitValue = unknown

export interface TraitResult {
  state: TraitState
  value: TraitValue
}

export const UNIT_MS = { minutes: 60_000, hours: 3_600_000, days: 86_400_000 } as const

export function emptyState(): TraitState {
  return { v: 1, b: {} }
}

/** Reads a stored state; anything unrecognisable (old version, corrupt) reads as empty. */
export function readState(raw: unknown): TraitState {
  if (
    raw !== null &&
    typeof raw === 'object' &&
    (raw as { v?: unknown }).v === 1 &&
    typeof (raw as { b?: unknown }).b === 'object' &&
    (raw as { b?: unknown }).b !== null
  )
    return raw as TraitState
  return emptyState()
}

const encoder = new TextEncoder()

/** Byte order of UTF-8, which is code point order: what Postgres COLLATE "C" does. */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0
  const x = encoder.encode(a)
  const y = encoder.encode(b)
  const len = Math.min(x.length, y.length)
  for (let i = 0; i < len; i++) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number)
  return x.length - y.length
}

const RANK = { boolean: 0, number: 1, string: 2 } as const

/** Total order of scalar values: booleans (false, true), numbers, strings (by code point). */
export function compareScalars(a: Scalar, b: Scalar): number {
  const ra = RANK[typeof a as keyof typeof RANK]
  const rb = RANK[typeof b as keyof typeof RANK]
  if (ra !== rb) return ra - rb
  if (typeof a === 'string') return compareCodePoints(a, b as string)
  if (typeof a === 'number') return a < (b as number) ? -1 : a > (b as number) ? 1 : 0
  return Number(a) - Number(b as boolean)
}

/** A property value as a distinct-able scalar (numbers must be finite, as in kindred_num). */
function toScalar(v: unknown): Scalar | undefined {
  if (typeof v === 'string' || typeof v === 'boolean') return v
  if (typeof v === 'number') return toNumber(v)
  return undefined
}

function eventMs(t: Date | number | string): number {
  if (typeof t === 'number') return t
  if (t instanceof Date) return t.getTime()
  return parseIsoMs(t) ?? new Date(t).getTime()
}

/** Bucket index of `ms` for a windowed definition. */
function bucketOf(def: ComputedTraitDefinition, ms: number): number {
  return Math.floor(ms / UNIT_MS[(def.window as NonNullable<typeof def.window>).unit])
}

/**
 * The range of buckets a windowed definition keeps at `now`: index > lowExclusive. Those with
 * index ≤ current count in the value; later ones (future-dated events) wait for their time.
 */
export function bucketRange(
  def: ComputedTraitDefinition,
  now: Date,
): { lowExclusive: number; current: number } | undefined {
  if (def.window === undefined) return undefined
  const current = bucketOf(def, now.getTime())
  return { lowExclusive: current - def.window.amount, current }
}

/** First/last ordering on (t, id). */
function before(a: { t?: number; id?: string }, b: { t?: number; id?: string }): boolean {
  const at = a.t as number
  const bt = b.t as number
  return at < bt || (at === bt && compareCodePoints(a.id as string, b.id as string) < 0)
}

function mergeSortedCounts(
  a: Array<[Scalar, number]>,
  b: Array<[Scalar, number]>,
): Array<[Scalar, number]> {
  const out: Array<[Scalar, number]> = []
  let i = 0
  let j = 0
  while (i < a.length || j < b.length) {
    const x = a[i]
    const y = b[j]
    const c = x === undefined ? 1 : y === undefined ? -1 : compareScalars(x[0], y[0])
    if (c < 0) {
      out.push([(x as [Scalar, number])[0], (x as [Scalar, number])[1]])
      i++
    } else if (c > 0) {
      out.push([(y as [Scalar, number])[0], (y as [Scalar, number])[1]])
      j++
    } else {
      out.push([
        (x as [Scalar, number])[0],
        (x as [Scalar, number])[1] + (y as [Scalar, number])[1],
      ])
      i++
      j++
    }
  }
  return out
}

function mergeSortedSets(a: Scalar[], b: Scalar[]): Scalar[] {
  return mergeSortedCounts(
    a.map((v) => [v, 1]),
    b.map((v) => [v, 1]),
  ).map(([v]) => v)
}

/** Merges two partials of the same aggregate (commutative, associative; sums up to rounding). */
export function mergePartials(
  def: ComputedTraitDefinition,
  a: BucketPartial,
  b: BucketPartial,
): BucketPartial {
  switch (def.aggregate) {
    case 'count':
      return { n: (a.n as number) + (b.n as number) }
    case 'sum':
    case 'avg':
      return { n: (a.n as number) + (b.n as number), s: (a.s as number) + (b.s as number) }
    case 'min':
      return { m: Math.min(a.m as number, b.m as number) }
    case 'max':
      return { m: Math.max(a.m as number, b.m as number) }
    case 'first':
    case 'time_since_first':
      return before(b, a) ? b : a
    case 'last':
    case 'time_since_last':
      return before(a, b) ? b : a
    case 'most_frequent':
      return { vc: mergeSortedCounts(a.vc ?? [], b.vc ?? []) }
    case 'unique_list':
    case 'unique_count':
      return { vs: mergeSortedSets(a.vs ?? [], b.vs ?? []) }
  }
}

/** The partial of a single qualifying event, or undefined when the event does not qualify. */
function partialOf(
  def: ComputedTraitDefinition,
  e: TraitEvent,
  ms: number,
): BucketPartial | undefined {
  const raw = def.property === undefined ? undefined : getPath(e.properties, toPath(def.property))
  switch (def.aggregate) {
    case 'count':
      return { n: 1 }
    case 'sum':
    case 'avg': {
      const x = toNumber(raw)
      return x === undefined ? undefined : { n: 1, s: x }
    }
    case 'min':
    case 'max': {
      const x = toNumber(raw)
      return x === undefined ? undefined : { m: x }
    }
    case 'first':
    case 'last':
      return raw === undefined ? undefined : { t: ms, id: e.messageId, v: raw }
    case 'time_since_first':
    case 'time_since_last':
      return { t: ms, id: e.messageId }
    case 'most_frequent': {
      const x = toScalar(raw)
      return x === undefined ? undefined : { vc: [[x, 1]] }
    }
    case 'unique_list':
    case 'unique_count': {
      const x = toScalar(raw)
      return x === undefined ? undefined : { vs: [x] }
    }
  }
}

/** Drops buckets that fell out of the window at `now`. */
function prune(def: ComputedTraitDefinition, state: TraitState, now: Date): TraitState {
  const range = bucketRange(def, now)
  if (range === undefined) return state
  const b: Record<string, BucketPartial> = {}
  for (const [k, p] of Object.entries(state.b)) if (Number(k) > range.lowExclusive) b[k] = p
  return { v: 1, b }
}

/** Empty value of an aggregate (a profile with no qualifying event). */
export function emptyValue(def: ComputedTraitDefinition): TraitValue {
  switch (def.aggregate) {
    case 'count':
    case 'sum':
    case 'unique_count':
      return 0
    case 'unique_list':
      return []
    default:
      return null
  }
}

/**
 * The value of a state at `now`: the merge of the buckets in the window (current and earlier),
 * finished by aggregate. time_since_* values are the ISO timestamp of the first/last event (a
 * stored duration would be stale the moment it is written); segments compare it with the date
 * operators, and `timeSinceMs` turns it into a duration for display.
 */
export function valueOf(def: ComputedTraitDefinition, state: TraitState, now: Date): TraitValue {
  const range = bucketRange(def, now)
  const keys = Object.keys(state.b)
    .filter(
      (k) => range === undefined || (Number(k) > range.lowExclusive && Number(k) <= range.current),
    )
    .sort((a, b) => (range === undefined ? 0 : Number(a) - Number(b)))
  if (keys.length === 0) return emptyValue(def)
  let acc = state.b[keys[0] as string] as BucketPartial
  for (const k of keys.slice(1)) acc = mergePartials(def, acc, state.b[k] as BucketPartial)
  switch (def.aggregate) {
    case 'count':
      return acc.n
    case 'sum':
      return acc.s
    case 'avg':
      return (acc.s as number) / (acc.n as number)
    case 'min':
    case 'max':
      return acc.m
    case 'first':
    case 'last':
      return acc.v
    case 'time_since_first':
    case 'time_since_last':
      return new Date(acc.t as number).toISOString()
    case 'most_frequent': {
      let best: [Scalar, number] | undefined
      for (const vc of acc.vc ?? []) if (best === undefined || vc[1] > best[1]) best = vc
      return best === undefined ? null : best[0]
    }
    case 'unique_list':
      return (acc.vs ?? []).slice(0, def.limit ?? 100)
    case 'unique_count':
      return (acc.vs ?? []).length
  }
}

/** Milliseconds since a time_since_* value (an ISO timestamp) at `now`; undefined when unset. */
export function timeSinceMs(value: TraitValue, now: Date): number | undefined {
  if (typeof value !== 'string') return undefined
  const t = parseIsoMs(value)
  return t === undefined ? undefined : now.getTime() - t
}

/**
 * Folds new events into a state. Events outside the window at `now` are ignored (they could
 * never count again); events may arrive in any order.
 */
export function applyEvents(
  def: ComputedTraitDefinition,
  state: TraitState,
  events: readonly TraitEvent[],
  now: Date,
): TraitResult {
  const nowMs = now.getTime()
  const range = bucketRange(def, now)
  const b: Record<string, BucketPartial> = { ...prune(def, state, now).b }
  for (const e of events) {
    if (!matchesEventFilter(def.event, { ...e, name: e.name ?? null }, nowMs)) continue
    const ms = eventMs(e.timestamp)
    let key = 'all'
    if (range !== undefined) {
      const bucket = bucketOf(def, ms)
      if (bucket <= range.lowExclusive) continue
      key = String(bucket)
    }
    const part = partialOf(def, e, ms)
    if (part === undefined) continue
    const cur = b[key]
    b[key] = cur === undefined ? part : mergePartials(def, cur, part)
  }
  const next: TraitState = { v: 1, b }
  return { state: next, value: valueOf(def, next, now) }
}

/** Moves a state to `now`: drops expired buckets and recomputes the value (no events needed). */
export function expire(def: ComputedTraitDefinition, state: TraitState, now: Date): TraitResult {
  const next = prune(def, state, now)
  return { state: next, value: valueOf(def, next, now) }
}

/** The state of a merged profile from the states of the two profiles merged. */
export function mergeStates(
  def: ComputedTraitDefinition,
  a: TraitState,
  b: TraitState,
): TraitState {
  const out: Record<string, BucketPartial> = { ...a.b }
  for (const [k, p] of Object.entries(b.b)) {
    const cur = out[k]
    out[k] = cur === undefined ? p : mergePartials(def, cur, p)
  }
  return { v: 1, b: out }
}

/** From scratch: the state and value of all of a profile's events (splits, backfill, checks). */
export function recompute(
  def: ComputedTraitDefinition,
  events: readonly TraitEvent[],
  now: Date,
): TraitResult {
  return applyEvents(def, emptyState(), events, now)
}

/**
 * When a windowed state next changes with time alone (the end of the earliest bucket still in
 * the window, or the start of the earliest future bucket), for the scheduler; undefined when it
 * never does.
 */
export function nextExpiry(
  def: ComputedTraitDefinition,
  state: TraitState,
  now: Date,
): Date | undefined {
  const range = bucketRange(def, now)
  if (range === undefined || def.window === undefined) return undefined
  const unit = UNIT_MS[def.window.unit]
  let next: number | undefined
  for (const k of Object.keys(state.b)) {
    const i = Number(k)
    // A bucket i leaves the window when current reaches i + amount; a future one enters at i.
    const at = i <= range.current ? (i + def.window.amount) * unit : i * unit
    if (next === undefined || at < next) next = at
  }
  return next === undefined ? undefined : new Date(next)
}
