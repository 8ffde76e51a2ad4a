/**
 * The consent decision and the fold of consent observations into current state and history.
 * Pure: the engine loads the current rows, calls `planConsent`, and writes what it returns.
 */
import type { ConsentSettings, ConsentStatus } from './consent-settings.js'

export type ConsentSource = 'event' | 'api' | 'import'

/** Current state of one profile: purpose → status (purposes never answered are absent). */
export type ConsentState = Readonly<Record<string, { status: ConsentStatus } | undefined>>

/**
 * May data of a profile with this consent state be used for `purpose`? An explicit answer wins;
 * otherwise the workspace's default for that purpose (or its global default) decides.
 */
export function allowed(
  state: ConsentState,
  purpose: string,
  policy: Pick<ConsentSettings, 'unknown' | 'unknownByPurpose'>,
): boolean {
  const s = Object.hasOwn(state, purpose) ? state[purpose]?.status : undefined
  if (s === 'granted') return true
  if (s === 'denied') return false
  return (policy.unknownByPurpose[purpose] ?? policy.unknown) === 'allow'
}

/**
 * A settings change that flips what `allowed` answers for profiles that never answered a purpose:
 * their data may be used for it again (`add`) or no more (`remove`). Explicit decisions are not
 * affected by settings, so only profiles without one for `purpose` move.
 */
export interface DefaultFlip {
  purpose: string
  action: 'add' | 'remove'
}

type DefaultPolicy = Pick<ConsentSettings, 'unknown' | 'unknownByPurpose'>

/**
 * Which of `purposes` (the purposes destinations are declared for) change outcome for a profile
 * without a decision, from `before` to `after`. The category mapping, `missingCategories` and the
 * purpose list change how future events are read, never the outcome of a stored state, so only
 * the defaults for unknown count.
 */
export function defaultFlips(
  before: DefaultPolicy,
  after: DefaultPolicy,
  purposes: Iterable<string>,
): DefaultFlip[] {
  const out: DefaultFlip[] = []
  for (const purpose of new Set(purposes)) {
    const was = allowed({}, purpose, before)
    const now = allowed({}, purpose, after)
    if (was !== now) out.push({ purpose, action: now ? 'add' : 'remove' })
  }
  return out
}

/** One consent decision as received (from an event, the API or an import). */
export interface ConsentObservation {
  profileId: string
  purpose: string
  status: ConsentStatus
  source: ConsentSource
  /** Event: the source id; API: the key (actor) id. */
  sourceId: string | null
  /** Event: its messageId; API: the request id. */
  proof: string
  /** When the person decided (event timestamp, or the API call's time), epoch ms. */
  occurredAt: number
  details?: Record<string, unknown>
}

export interface CurrentConsent {
  status: ConsentStatus
  /** occurred_at of the latest decision, epoch ms. */
  updatedAt: number
}

export interface ConsentTransition {
  profileId: string
  purpose: string
  before: ConsentStatus | undefined
  after: ConsentStatus
  at: number
}

export interface ConsentPlan {
  /** Rows for consent_history. */
  history: ConsentObservation[]
  /** New current rows (only those that changed). */
  upserts: Array<{ profileId: string; purpose: string } & CurrentConsent>
  /** Purposes whose status changed (before → after). */
  transitions: ConsentTransition[]
}

export const consentKey = (profileId: string, purpose: string) => `${profileId}\u0000${purpose}`

/**
 * Folds observations into the current state. The latest decision by `occurredAt` wins, so an
 * older event that arrives late never overrides a newer decision (it still goes to the history
 * when it says something different: it is what the person said then). Events repeating the
 * current status are not written to the history (SDKs stamp consent on every event); API and
 * import decisions are always recorded, being deliberate acts with their own proof. A repeated
 * status still advances `updatedAt`, so a late contrary event older than the confirmation loses.
 */
export function planConsent(
  current: ReadonlyMap<string, CurrentConsent>,
  observations: readonly ConsentObservation[],
): ConsentPlan {
  const ordered = observations
    .map((o, i) => ({ o, i }))
    .sort((a, b) => a.o.occurredAt - b.o.occurredAt || a.i - b.i)
    .map((x) => x.o)
  const state = new Map<string, CurrentConsent>()
  const touched = new Map<string, { profileId: string; purpose: string }>()
  const history: ConsentObservation[] = []
  for (const o of ordered) {
    const key = consentKey(o.profileId, o.purpose)
    const cur = state.get(key) ?? current.get(key)
    const deliberate = o.source !== 'event'
    if (cur === undefined || o.occurredAt >= cur.updatedAt) {
      if (cur === undefined || cur.status !== o.status || deliberate) history.push(o)
      if (cur === undefined || cur.status !== o.status || cur.updatedAt !== o.occurredAt) {
        state.set(key, { status: o.status, updatedAt: o.occurredAt })
        touched.set(key, { profileId: o.profileId, purpose: o.purpose })
      }
    } else if (cur.status !== o.status || deliberate) {
      history.push(o)
    }
  }
  const upserts: ConsentPlan['upserts'] = []
  const transitions: ConsentTransition[] = []
  for (const [key, { profileId, purpose }] of touched) {
    const next = state.get(key) as CurrentConsent
    upserts.push({ profileId, purpose, ...next })
    const before = current.get(key)?.status
    if (before !== next.status)
      transitions.push({ profileId, purpose, before, after: next.status, at: next.updatedAt })
  }
  return { history, upserts, transitions }
}

/** The current state a list of decisions leads to (split recomputes a profile from its history). */
export function latestDecisions(
  observations: ReadonlyArray<Pick<ConsentObservation, 'purpose' | 'status' | 'occurredAt'>>,
): Map<string, CurrentConsent> {
  const out = new Map<string, CurrentConsent>()
  for (const o of observations) {
    const cur = out.get(o.purpose)
    if (cur === undefined || o.occurredAt >= cur.updatedAt)
      out.set(o.purpose, { status: o.status, updatedAt: o.occurredAt })
  }
  return out
}
