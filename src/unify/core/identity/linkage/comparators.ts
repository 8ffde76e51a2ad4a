/**
 * String, number and date comparison functions used by the comparison levels.
 *
 * All functions are pure and allocation-free on the hot path: the edit-distance and Jaro
 * functions reuse module-level scratch buffers that grow on demand (JavaScript is single
 * threaded, so sharing them is safe).
 *
 * @module
 */
import { doubleMetaphone } from 'double-metaphone'

let flagsA = new Uint8Array(64)
let flagsB = new Uint8Array(64)
let rowPrev2 = new Int32Array(65)
let rowPrev = new Int32Array(65)
let rowCur = new Int32Array(65)

function ensureFlags(n: number): void {
  if (flagsA.length < n) {
    flagsA = new Uint8Array(n * 2)
    flagsB = new Uint8Array(n * 2)
  }
}

function ensureRows(n: number): void {
  if (rowCur.length < n + 1) {
    rowPrev2 = new Int32Array(n * 2 + 1)
    rowPrev = new Int32Array(n * 2 + 1)
    rowCur = new Int32Array(n * 2 + 1)
  }
}

/** 1 when both strings are equal, else 0. */
export function exact(a: string, b: string): number {
  return a === b ? 1 : 0
}

/**
 * Jaro similarity in [0, 1].
 * @example jaro('dwayne', 'duane') // ≈ 0.822
 */
export function jaro(a: string, b: string): number {
  if (a === b) return a.length === 0 ? 1 : 1
  const la = a.length
  const lb = b.length
  if (la === 0 || lb === 0) return 0
  const window = Math.max(0, (Math.max(la, lb) >> 1) - 1)
  ensureFlags(Math.max(la, lb))
  flagsA.fill(0, 0, la)
  flagsB.fill(0, 0, lb)
  let matches = 0
  for (let i = 0; i < la; i++) {
    const lo = i - window > 0 ? i - window : 0
    const hi = i + window + 1 < lb ? i + window + 1 : lb
    const ca = a.charCodeAt(i)
    for (let j = lo; j < hi; j++) {
      if (flagsB[j] === 0 && b.charCodeAt(j) === ca) {
        flagsA[i] = 1
        flagsB[j] = 1
        matches++
        break
      }
    }
  }
  if (matches === 0) return 0
  let transpositions = 0
  let k = 0
  for (let i = 0; i < la; i++) {
    if (flagsA[i] === 0) continue
    while (flagsB[k] === 0) k++
    if (a.charCodeAt(i) !== b.charCodeAt(k)) transpositions++
    k++
  }
  const t = transpositions / 2
  return (matches / la + matches / lb + (matches - t) / matches) / 3
}

/**
 * Jaro–Winkler similarity in [0, 1] (prefix scale 0.1, prefix up to 4 characters, boost applied
 * when the Jaro similarity exceeds 0.7, as in Winkler's original definition).
 * @example jaroWinkler('martha', 'marhta') // ≈ 0.961
 */
export function jaroWinkler(a: string, b: string, prefixScale = 0.1): number {
  const j = jaro(a, b)
  if (j <= 0.7) return j
  const max = Math.min(4, a.length, b.length)
  let prefix = 0
  while (prefix < max && a.charCodeAt(prefix) === b.charCodeAt(prefix)) prefix++
  return j + prefix * prefixScale * (1 - j)
}

/** A 32-bit set of the characters of a string (char code mod 32), for {@link jaroUpperBound}. */
export function charMask(s: string): number {
  let m = 0
  for (let i = 0; i < s.length; i++) m |= 1 << (s.charCodeAt(i) & 31)
  return m >>> 0
}

/**
 * A cheap upper bound of `jaro(a, b)` from the characters the strings can have in common
 * (`maskA`, `maskB` from {@link charMask}): lets a comparison skip Jaro–Winkler when it cannot
 * reach a threshold. O(|a| + |b|) instead of Jaro's O(|a| · window).
 */
export function jaroUpperBound(a: string, b: string, maskA: number, maskB: number): number {
  const la = a.length
  const lb = b.length
  if (la === 0 || lb === 0) return la === lb ? 1 : 0
  let ca = 0
  for (let i = 0; i < la; i++) if ((maskB >>> (a.charCodeAt(i) & 31)) & 1) ca++
  let cb = 0
  for (let j = 0; j < lb; j++) if ((maskA >>> (b.charCodeAt(j) & 31)) & 1) cb++
  const m = ca < cb ? ca : cb
  return m === 0 ? 0 : (m / la + m / lb + 1) / 3
}

/** Upper bound of `jaroWinkler(a, b)` given an upper bound of their Jaro similarity. */
export function jaroWinklerUpperBound(a: string, b: string, jaroBound: number): number {
  if (jaroBound <= 0.7) return jaroBound
  const max = Math.min(4, a.length, b.length)
  let prefix = 0
  while (prefix < max && a.charCodeAt(prefix) === b.charCodeAt(prefix)) prefix++
  return jaroBound + prefix * 0.1 * (1 - jaroBound)
}

/**
 * Levenshtein edit distance (insertions, deletions, substitutions).
 * @example levenshtein('kitten', 'sitting') // 3
 */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0
  if (a.length < b.length) {
    const t = a
    a = b
    b = t
  }
  const la = a.length
  const lb = b.length
  if (lb === 0) return la
  ensureRows(lb)
  let prev = rowPrev
  let cur = rowCur
  for (let j = 0; j <= lb; j++) prev[j] = j
  for (let i = 1; i <= la; i++) {
    cur[0] = i
    const ca = a.charCodeAt(i - 1)
    for (let j = 1; j <= lb; j++) {
      const cost = ca === b.charCodeAt(j - 1) ? 0 : 1
      const del = prev[j]! + 1
      const ins = cur[j - 1]! + 1
      const sub = prev[j - 1]! + cost
      cur[j] = del < ins ? (del < sub ? del : sub) : ins < sub ? ins : sub
    }
    const t = prev
    prev = cur
    cur = t
  }
  return prev[lb]!
}

/**
 * Damerau–Levenshtein distance in its optimal string alignment (OSA) form: Levenshtein plus
 * transposition of two adjacent characters, no substring edited twice.
 * @example osaDistance('ca', 'ac') // 1
 */
export function osaDistance(a: string, b: string): number {
  if (a === b) return 0
  const la = a.length
  const lb = b.length
  if (la === 0) return lb
  if (lb === 0) return la
  ensureRows(lb)
  // Rotate three rows: p2 = i-2, p1 = i-1, c = i.
  let p2 = rowPrev2
  let p1 = rowPrev
  let c = rowCur
  for (let j = 0; j <= lb; j++) p1[j] = j
  for (let i = 1; i <= la; i++) {
    c[0] = i
    const ca = a.charCodeAt(i - 1)
    for (let j = 1; j <= lb; j++) {
      const cb = b.charCodeAt(j - 1)
      const cost = ca === cb ? 0 : 1
      const del = p1[j]! + 1
      const ins = c[j - 1]! + 1
      const sub = p1[j - 1]! + cost
      let v = del < ins ? (del < sub ? del : sub) : ins < sub ? ins : sub
      if (i > 1 && j > 1 && ca === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === cb) {
        const tr = p2[j - 2]! + 1
        if (tr < v) v = tr
      }
      c[j] = v
    }
    const t = p2
    p2 = p1
    p1 = c
    c = t
  }
  return p1[lb]!
}

/** Absolute difference between two numbers; NaN when either is not finite. */
export function numericDistance(a: number, b: number): number {
  if (!Number.isFinite(a) || !Number.isFinite(b)) return Number.NaN
  return Math.abs(a - b)
}

/** Relative difference |a−b| / max(|a|, |b|) in [0, 1]; 0 when both are 0. */
export function relativeDistance(a: number, b: number): number {
  const d = numericDistance(a, b)
  if (Number.isNaN(d)) return d
  const m = Math.max(Math.abs(a), Math.abs(b))
  return m === 0 ? 0 : d / m
}

/** A calendar date split into parts (month 1–12, day 1–31). */
export interface DateParts {
  readonly year: number
  readonly month: number
  readonly day: number
}

/**
 * Parses `YYYYMMDD`, `YYYY-MM-DD` (also with `/` or `.`) and `DD/MM/YYYY` (day first unless
 * `dayFirst` is false). Returns null for anything else or for impossible month/day values.
 */
export function parseDate(value: string, dayFirst = true): DateParts | null {
  const s = value.trim()
  let y: number
  let m: number
  let d: number
  let match = /^(\d{4})(\d{2})(\d{2})$/.exec(s) ?? /^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})/.exec(s)
  if (match) {
    y = Number(match[1])
    m = Number(match[2])
    d = Number(match[3])
  } else {
    match = /^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$/.exec(s)
    if (!match) return null
    const first = Number(match[1])
    const second = Number(match[2])
    y = Number(match[3])
    m = dayFirst ? second : first
    d = dayFirst ? first : second
  }
  if (m < 1 || m > 12 || d < 1 || d > 31) return null
  return { year: y, month: m, day: d }
}

/** Days since 1970-01-01 (proleptic Gregorian), computed arithmetically (no Date object). */
export function dayNumber(p: DateParts): number {
  // Howard Hinnant's days_from_civil.
  const y = p.month <= 2 ? p.year - 1 : p.year
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const mp = (p.month + 9) % 12
  const doy = Math.floor((153 * mp + 2) / 5) + p.day - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
}

/** Absolute distance in days between two dates. */
export function dateDistanceDays(a: DateParts, b: DateParts): number {
  return Math.abs(dayNumber(a) - dayNumber(b))
}

/** True when the two dates differ only by day and month being swapped (e.g. 03/07 vs 07/03). */
export function isDayMonthSwap(a: DateParts, b: DateParts): boolean {
  return a.year === b.year && a.day !== a.month && a.day === b.month && a.month === b.day
}

/** Double Metaphone codes `[primary, secondary]` of a value (empty strings for no letters). */
export function phoneticCodes(value: string): [string, string] {
  return doubleMetaphone(value)
}

/** True when any Double Metaphone code of `a` equals any non-empty code of `b`. */
export function phoneticMatch(a: string, b: string): boolean {
  const [a1, a2] = doubleMetaphone(a)
  const [b1, b2] = doubleMetaphone(b)
  return codesMatch(a1, a2, b1, b2)
}

/** Whether two pairs of precomputed phonetic codes share a non-empty code. */
export function codesMatch(a1: string, a2: string, b1: string, b2: string): boolean {
  if (a1 !== '' && (a1 === b1 || a1 === b2)) return true
  if (a2 !== '' && (a2 === b1 || a2 === b2)) return true
  return false
}

/** Splits a value into its unique, sorted, non-empty tokens. */
export function tokenize(value: string): string[] {
  const parts = value.split(/[^\p{L}\p{N}]+/u).filter((t) => t.length > 0)
  return [...new Set(parts)].sort()
}

/**
 * Token-set similarity in [0, 1] between two token lists: every token is matched to its most
 * similar token on the other side (Jaro–Winkler, counted when ≥ `tokenThreshold`, exact tokens
 * count 1), and the matched scores of both sides are averaged. Order and repeated tokens do not
 * matter, small typos inside a token cost little: robust for addresses.
 * @example tokenSetSimilarity(['12', 'high', 'street'], ['high', 'street', '12']) // 1
 */
export function tokenSetSimilarity(
  a: readonly string[],
  b: readonly string[],
  tokenThreshold = 0.85,
): number {
  const la = a.length
  const lb = b.length
  if (la === 0 || lb === 0) return la === lb ? 1 : 0
  let sum = 0
  for (let i = 0; i < la; i++) sum += bestTokenScore(a[i]!, b, tokenThreshold)
  for (let j = 0; j < lb; j++) sum += bestTokenScore(b[j]!, a, tokenThreshold)
  return sum / (la + lb)
}

function bestTokenScore(t: string, others: readonly string[], threshold: number): number {
  let best = 0
  for (let k = 0; k < others.length; k++) {
    const o = others[k]!
    if (o === t) return 1
    // Digits must match exactly: "12" and "21" are different street numbers.
    if (isDigit(t.charCodeAt(0)) || isDigit(o.charCodeAt(0))) continue
    const s = jaroWinkler(t, o)
    if (s >= threshold && s > best) best = s
  }
  return best
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57
}

/** Convenience: token-set similarity of two raw strings. */
export function tokenSetSimilarityOf(a: string, b: string): number {
  return tokenSetSimilarity(tokenize(a), tokenize(b))
}
