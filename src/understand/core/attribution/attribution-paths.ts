/**
 * @module attribution/attribution-paths
 * Paths to conversion. A profile's touchpoints and conversions, in time order, become one path
 * per conversion (the touchpoints within the lookback window before it and after the previous
 * conversion) and, for the touchpoints left after the last conversion, one path that did not
 * convert: the Markov model needs those to know how often a channel leads nowhere.
 */

export interface Touchpoint {
  readonly channel: string
  readonly campaign: string | null
  readonly timestampMs: number
}

export interface ConversionPath {
  /** Touchpoints in time order; may be empty for a conversion with no touch in the window. */
  readonly touchpoints: readonly Touchpoint[]
  readonly converted: boolean
  /** When the conversion happened (the last touch's time for a path that did not convert). */
  readonly endMs: number
  /** The conversion's revenue (0 when it carries none, or when the path did not convert). */
  readonly revenue: number
}

export type ProfileMoment =
  | ({ readonly kind: 'touch' } & Touchpoint)
  | { readonly kind: 'conversion'; readonly timestampMs: number; readonly revenue: number }

export interface PathOptions {
  readonly lookbackMs: number
}

/** One profile's moments (any order) to its paths. */
export function pathsOfProfile(
  moments: readonly ProfileMoment[],
  options: PathOptions,
): ConversionPath[] {
  const sorted = [...moments].sort(
    (a, b) =>
      a.timestampMs - b.timestampMs || (a.kind === b.kind ? 0 : a.kind === 'touch' ? -1 : 1),
  )
  const out: ConversionPath[] = []
  let pending: Touchpoint[] = []
  for (const m of sorted) {
    if (m.kind === 'touch') {
      pending.push({ channel: m.channel, campaign: m.campaign, timestampMs: m.timestampMs })
      continue
    }
    const from = m.timestampMs - options.lookbackMs
    out.push({
      touchpoints: pending.filter((t) => t.timestampMs >= from),
      converted: true,
      endMs: m.timestampMs,
      revenue: m.revenue,
    })
    pending = []
  }
  if (pending.length > 0) {
    out.push({
      touchpoints: pending,
      converted: false,
      endMs: pending[pending.length - 1]!.timestampMs,
      revenue: 0,
    })
  }
  return out
}

/** What a touchpoint is credited under: its channel, or its campaign (null campaigns as "(none)"). */
export type AttributionKey = 'channel' | 'campaign'

export function keyOf(t: Touchpoint, key: AttributionKey): string {
  return key === 'channel' ? t.channel : (t.campaign ?? '(none)')
}

/** Credits per key: conversions and revenue. */
export type Credits = Map<string, { conversions: number; revenue: number }>

export function addCredit(
  credits: Credits,
  key: string,
  share: number,
  path: ConversionPath,
): void {
  const c = credits.get(key) ?? { conversions: 0, revenue: 0 }
  c.conversions += share
  c.revenue += share * path.revenue
  credits.set(key, c)
}
