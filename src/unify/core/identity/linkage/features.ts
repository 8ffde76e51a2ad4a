/**
 * Per-record features computed once before any pair is compared: every field's values are
 * normalised and interned into one dictionary shared by both sides (so an exact match is an
 * integer comparison), and everything a level needs (phonetic codes, tokens, numbers, dates) is
 * derived once per distinct value, not once per pair.
 *
 * @module
 */
import {
  charMask,
  codesMatch,
  jaroUpperBound,
  jaroWinklerUpperBound,
  dayNumber,
  jaro,
  jaroWinkler,
  levenshtein,
  osaDistance,
  parseDate,
  phoneticCodes,
  tokenize,
  tokenSetSimilarity,
} from './comparators.js'
import { defaultLevels, defaultTermFrequency, detectFieldKind, normalizeValue } from './fields.js'
import type { BlockingRule, FieldConfig, FieldKind, LevelSpec } from './model-config.js'

/** A record: column name → raw value (empty, null or undefined means missing). */
export type LinkageRecord = Readonly<Record<string, string | null | undefined>>

/** Level index 0 means "one side is missing"; levels 1..n follow the spec; n + 1 is "else". */
export const NULL_LEVEL = 0

/** A compared field, prepared for one linkage run. */
export interface PreparedField {
  readonly name: string
  readonly column: string
  readonly kind: FieldKind
  readonly levels: readonly LevelSpec[]
  /** Label per level index: `null`, one per spec, `else`. */
  readonly levelLabels: readonly string[]
  /** Number of level indexes including null and else (levels.length + 2). */
  readonly levelCount: number
  readonly termFrequency: boolean
  /** Distinct normalised values (the dictionary shared by all sides). */
  readonly values: readonly string[]
  /** Per side, per record: the value's dictionary id, or -1 when missing. */
  readonly ids: readonly Int32Array[]
  /** Per dictionary id: share of the non-missing values (over all sides) equal to it. */
  readonly frequency: Float64Array
  /** Level (1..levelCount−1) of two present values given by their dictionary ids. */
  readonly compare: (a: number, b: number) => number
}

/** Human-readable label of a level spec. */
export function levelLabel(spec: LevelSpec): string {
  switch (spec.type) {
    case 'exact':
    case 'phonetic':
    case 'dateDayMonthSwap':
      return spec.type
    case 'jaro':
    case 'jaroWinkler':
    case 'tokenSet':
      return `${spec.type} >= ${spec.min}`
    case 'levenshtein':
    case 'damerauLevenshtein':
    case 'numericAbs':
    case 'numericRel':
    case 'dateDays':
      return `${spec.type} <= ${spec.max}`
    case 'prefix':
      return `prefix ${spec.length}`
  }
}

/** Resolves a field config (kind, levels, term frequency) with the defaults filled in. */
export function resolveFieldConfig(f: FieldConfig): Required<FieldConfig> {
  const kind = f.kind ?? detectFieldKind(f.column) ?? 'text'
  return {
    column: f.column,
    name: f.name ?? f.column,
    kind,
    levels: f.levels ?? defaultLevels(kind),
    termFrequency: f.termFrequency ?? defaultTermFrequency(kind),
  }
}

/**
 * Interns the normalised values of several columns over all sides into one dictionary (so values
 * of different columns can be compared by id); ids and frequencies stay per column.
 */
function internColumns(
  columns: readonly { readonly column: string; readonly kind: FieldKind }[],
  sides: readonly (readonly LinkageRecord[])[],
): { values: string[]; perColumn: { ids: Int32Array[]; frequency: Float64Array }[] } {
  const dict = new Map<string, number>()
  const values: string[] = []
  const perColumn = columns.map(({ column, kind }) => {
    const counts: number[] = []
    const ids: Int32Array[] = []
    let present = 0
    // Raw value cache: many records share the same raw string (states, suburbs, common names).
    const rawCache = new Map<string, number>()
    for (const side of sides) {
      const out = new Int32Array(side.length)
      for (let i = 0; i < side.length; i++) {
        const raw = side[i]![column]
        if (raw === null || raw === undefined || raw === '') {
          out[i] = -1
          continue
        }
        let id = rawCache.get(raw)
        if (id === undefined) {
          const v = normalizeValue(kind, raw)
          if (v === null) id = -1
          else {
            id = dict.get(v)
            if (id === undefined) {
              id = values.length
              dict.set(v, id)
              values.push(v)
            }
          }
          rawCache.set(raw, id)
        }
        out[i] = id
        if (id >= 0) {
          counts[id] = (counts[id] ?? 0) + 1
          present++
        }
      }
      ids.push(out)
    }
    return { ids, counts, present }
  })
  return {
    values,
    perColumn: perColumn.map(({ ids, counts, present }) => {
      const frequency = new Float64Array(values.length)
      for (let i = 0; i < values.length; i++) {
        frequency[i] = present > 0 ? (counts[i] ?? 0) / present : 0
      }
      return { ids, frequency }
    }),
  }
}

/** Interns the normalised values of one column over all sides. */
function intern(
  kind: FieldKind,
  column: string,
  sides: readonly (readonly LinkageRecord[])[],
): { values: string[]; ids: Int32Array[]; frequency: Float64Array } {
  const { values, perColumn } = internColumns([{ column, kind }], sides)
  return { values, ...perColumn[0]! }
}

/**
 * Prepares fields for comparison over one side (dedupe) or two sides (link). Fields given
 * together share one dictionary, so a value of one can be compared with a value of the other
 * (used to recognise given name and surname swapped).
 */
export function prepareFields(
  configs: readonly FieldConfig[],
  sides: readonly (readonly LinkageRecord[])[],
): PreparedField[] {
  const resolved = configs.map(resolveFieldConfig)
  const { values, perColumn } = internColumns(resolved, sides)
  return resolved.map((f, k) => ({
    name: f.name,
    column: f.column,
    kind: f.kind,
    levels: f.levels,
    levelLabels: ['null', ...f.levels.map(levelLabel), 'else'],
    levelCount: f.levels.length + 2,
    termFrequency: f.termFrequency,
    values,
    ids: perColumn[k]!.ids,
    frequency: perColumn[k]!.frequency,
    compare: buildComparator(f.levels, values),
  }))
}

/** Prepares a field for comparison over one side (dedupe) or two sides (link). */
export function prepareField(
  config: FieldConfig,
  sides: readonly (readonly LinkageRecord[])[],
): PreparedField {
  return prepareFields([config], sides)[0]!
}

/** Level codes, so the comparator switches on small integers. */
const enum Op {
  Exact,
  Jaro,
  JaroWinkler,
  Levenshtein,
  Damerau,
  Phonetic,
  TokenSet,
  Prefix,
  NumericAbs,
  NumericRel,
  DateDays,
  DateSwap,
}

function opOf(spec: LevelSpec): { op: Op; param: number } {
  switch (spec.type) {
    case 'exact':
      return { op: Op.Exact, param: 0 }
    case 'jaro':
      return { op: Op.Jaro, param: spec.min }
    case 'jaroWinkler':
      return { op: Op.JaroWinkler, param: spec.min }
    case 'levenshtein':
      return { op: Op.Levenshtein, param: spec.max }
    case 'damerauLevenshtein':
      return { op: Op.Damerau, param: spec.max }
    case 'phonetic':
      return { op: Op.Phonetic, param: 0 }
    case 'tokenSet':
      return { op: Op.TokenSet, param: spec.min }
    case 'prefix':
      return { op: Op.Prefix, param: spec.length }
    case 'numericAbs':
      return { op: Op.NumericAbs, param: spec.max }
    case 'numericRel':
      return { op: Op.NumericRel, param: spec.max }
    case 'dateDays':
      return { op: Op.DateDays, param: spec.max }
    case 'dateDayMonthSwap':
      return { op: Op.DateSwap, param: 0 }
  }
}

const phoneticTables = new WeakMap<
  readonly string[],
  { primary: readonly string[]; secondary: readonly string[] }
>()

/**
 * Double Metaphone codes of every value of a dictionary, computed once per dictionary and shared
 * by the comparator and the blocking keys (the library costs microseconds per call).
 */
function phoneticTable(values: readonly string[]): {
  primary: readonly string[]
  secondary: readonly string[]
} {
  let table = phoneticTables.get(values)
  if (!table) {
    const primary: string[] = []
    const secondary: string[] = []
    for (const v of values) {
      const [p, q] = phoneticCodes(v)
      primary.push(p)
      secondary.push(q)
    }
    table = { primary, secondary }
    phoneticTables.set(values, table)
  }
  return table
}

/**
 * Token-set similarity by dictionary ids, with tokens interned and each distinct token pair's
 * score computed once (address tokens such as "street" repeat across most pairs). Same result as
 * {@link tokenSetSimilarity}.
 */
function tokenSetComparer(values: readonly string[]): (a: number, b: number) => number {
  const tokenIds = new Map<string, number>()
  const tokens: string[] = []
  const perValue = values.map((v) =>
    Int32Array.from(tokenize(v), (t) => {
      let id = tokenIds.get(t)
      if (id === undefined) {
        id = tokens.length
        tokenIds.set(t, id)
        tokens.push(t)
      }
      return id
    }),
  )
  const cache = new Map<number, number>()
  const t = tokens.length
  const score = (x: number, y: number): number => {
    const key = x < y ? x * t + y : y * t + x
    let v = cache.get(key)
    if (v === undefined) {
      v = tokenSetSimilarity([tokens[x]!], [tokens[y]!]) // one token each: the token score
      cache.set(key, v)
    }
    return v
  }
  const best = (x: number, others: Int32Array): number => {
    let b = 0
    for (let k = 0; k < others.length; k++) {
      const y = others[k]!
      if (y === x) return 1
      const v = score(x, y)
      if (v > b) b = v
    }
    return b
  }
  return (a: number, b: number): number => {
    const ta = perValue[a]!
    const tb = perValue[b]!
    if (ta.length === 0 || tb.length === 0) return ta.length === tb.length ? 1 : 0
    let sum = 0
    for (let k = 0; k < ta.length; k++) sum += best(ta[k]!, tb)
    for (let k = 0; k < tb.length; k++) sum += best(tb[k]!, ta)
    return sum / (ta.length + tb.length)
  }
}

/**
 * Builds the level function of a field. Derived features (phonetic codes, tokens, numbers,
 * dates) are computed once per distinct value, and only when a level needs them; each
 * similarity is computed at most once per pair even when several levels use it.
 */
export function buildComparator(
  levels: readonly LevelSpec[],
  values: readonly string[],
): (a: number, b: number) => number {
  const ops = levels.map(opOf)
  const n = ops.length
  const opCodes = Int32Array.from(ops.map((o) => o.op))
  const params = Float64Array.from(ops.map((o) => o.param))
  const need = (op: Op): boolean => ops.some((o) => o.op === op)
  const { primary: phon1, secondary: phon2 } = need(Op.Phonetic)
    ? phoneticTable(values)
    : { primary: [], secondary: [] }
  const tokenSet = need(Op.TokenSet) ? tokenSetComparer(values) : null
  const masks =
    need(Op.Jaro) || need(Op.JaroWinkler) ? Uint32Array.from(values, charMask) : new Uint32Array(0)
  const nums =
    need(Op.NumericAbs) || need(Op.NumericRel)
      ? Float64Array.from(values, (v) => {
          const x = Number(v.replace(/[^0-9.+-]/g, ''))
          return v.trim() === '' ? Number.NaN : x
        })
      : new Float64Array(0)
  const useDates = need(Op.DateDays) || need(Op.DateSwap)
  const days = new Float64Array(useDates ? values.length : 0)
  const dy = new Int32Array(useDates ? values.length : 0)
  const dm = new Int32Array(useDates ? values.length : 0)
  const dd = new Int32Array(useDates ? values.length : 0)
  if (useDates) {
    for (let i = 0; i < values.length; i++) {
      const p = parseDate(values[i]!)
      days[i] = p ? dayNumber(p) : Number.NaN
      dy[i] = p ? p.year : 0
      dm[i] = p ? p.month : 0
      dd[i] = p ? p.day : 0
    }
  }
  return (a: number, b: number): number => {
    if (a === b) {
      // Equal values satisfy every level except a day/month swap.
      for (let k = 0; k < n; k++) if (opCodes[k] !== Op.DateSwap) return k + 1
      return n + 1
    }
    const va = values[a]!
    const vb = values[b]!
    let jw = -1
    let jr = -1
    let jub = -1
    let jwub = -1
    let lev = -1
    let osa = -1
    let ts = -1
    for (let k = 0; k < n; k++) {
      const p = params[k]!
      switch (opCodes[k]) {
        case Op.Exact:
          break
        case Op.Jaro:
          if (jr < 0) {
            if (jub < 0) jub = jaroUpperBound(va, vb, masks[a]!, masks[b]!)
            if (jub < p) break
            jr = jaro(va, vb)
          }
          if (jr >= p) return k + 1
          break
        case Op.JaroWinkler:
          if (jw < 0) {
            if (jub < 0) jub = jaroUpperBound(va, vb, masks[a]!, masks[b]!)
            if (jwub < 0) jwub = jaroWinklerUpperBound(va, vb, jub)
            if (jwub < p) break
            jw = jaroWinkler(va, vb)
          }
          if (jw >= p) return k + 1
          break
        case Op.Levenshtein:
          if (Math.abs(va.length - vb.length) > p) break
          if (lev < 0) lev = levenshtein(va, vb)
          if (lev <= p) return k + 1
          break
        case Op.Damerau:
          if (Math.abs(va.length - vb.length) > p) break
          if (osa < 0) osa = osaDistance(va, vb)
          if (osa <= p) return k + 1
          break
        case Op.Phonetic:
          if (codesMatch(phon1[a]!, phon2[a]!, phon1[b]!, phon2[b]!)) return k + 1
          break
        case Op.TokenSet:
          if (ts < 0) ts = tokenSet!(a, b)
          if (ts >= p) return k + 1
          break
        case Op.Prefix: {
          if (va.length < p || vb.length < p) break
          let same = true
          for (let c = 0; c < p; c++) {
            if (va.charCodeAt(c) !== vb.charCodeAt(c)) {
              same = false
              break
            }
          }
          if (same) return k + 1
          break
        }
        case Op.NumericAbs: {
          const d = Math.abs(nums[a]! - nums[b]!)
          if (d <= p) return k + 1
          break
        }
        case Op.NumericRel: {
          const x = nums[a]!
          const y = nums[b]!
          const m = Math.max(Math.abs(x), Math.abs(y))
          if ((m === 0 ? 0 : Math.abs(x - y) / m) <= p) return k + 1
          break
        }
        case Op.DateDays:
          if (Math.abs(days[a]! - days[b]!) <= p) return k + 1
          break
        case Op.DateSwap:
          if (dy[a]! !== 0 && dy[a] === dy[b] && dd[a] === dm[b] && dm[a] === dd[b]) return k + 1
          break
      }
    }
    return n + 1
  }
}

/** A column's normalised values interned over all sides (a prepared field is one). */
export interface ColumnDictionary {
  readonly kind: FieldKind
  readonly values: readonly string[]
  readonly ids: readonly Int32Array[]
}

/** Interns a column that is not compared (e.g. only used for blocking). */
export function columnDictionary(
  column: string,
  sides: readonly (readonly LinkageRecord[])[],
  kind: FieldKind = detectFieldKind(column) ?? 'text',
): ColumnDictionary {
  const { values, ids } = intern(kind, column, sides)
  return { kind, values, ids }
}

function transformOf(key: BlockingRule['keys'][number], kind: FieldKind, v: string): string | null {
  switch (key.transform) {
    case 'exact':
      return v
    case 'metaphone':
    case 'sortedNames':
      return metaphoneOf(v)
    case 'prefix':
      return v.slice(0, key.length ?? 3)
    case 'year':
      return kind === 'dateOfBirth' && /^\d{8}$/.test(v) ? v.slice(0, 4) : null
    case 'yearMonth':
      return kind === 'dateOfBirth' && /^\d{8}$/.test(v) ? v.slice(0, 6) : null
    case 'digits': {
      const d = v.replace(/\D+/g, '')
      return d === '' ? null : d
    }
    case 'firstToken':
      return v.split(' ')[0] ?? null
  }
}

/**
 * Blocking keys of one rule: per side, per record, a key id shared across sides (equal ids mean
 * equal keys), or -1 when any part of the key is missing. Each key part is derived once per
 * distinct value of its column, then combined per record.
 */
export function blockingKeyIds(
  rule: BlockingRule,
  sides: readonly (readonly LinkageRecord[])[],
  dictionaryOf: (column: string) => ColumnDictionary,
): Int32Array[] {
  // Every part value (over all parts of the rule) gets a small integer id, derived once per
  // distinct column value; a record's key is then a number combined from its part ids.
  const partIds = new Map<string, number>()
  const internPart = (v: string | null): number => {
    if (v === null) return -1
    let id = partIds.get(v)
    if (id === undefined) {
      id = partIds.size
      partIds.set(v, id)
    }
    return id
  }
  const parts = rule.keys.map((key) => {
    const columns =
      key.transform === 'sortedNames' && key.with ? [key.column, key.with] : [key.column]
    return columns.map((c) => {
      const dict = dictionaryOf(c)
      const phonetic =
        key.transform === 'metaphone' || key.transform === 'sortedNames'
          ? phoneticTable(dict.values).primary
          : null
      const byValue = Int32Array.from(dict.values, (v, id) => {
        if (phonetic) return internPart(phonetic[id] === '' ? v : phonetic[id]!)
        return internPart(transformOf(key, dict.kind, v))
      })
      return { ids: dict.ids, byValue }
    })
  })
  const radix = Math.max(1, partIds.size)
  // A part spans radix values (radix² for an unordered pair); the combined key must stay exact.
  const multipliers = parts.map((ps) => (ps.length === 2 ? radix * radix : radix))
  const numeric = multipliers.reduce((a, m) => a * m, 1) < Number.MAX_SAFE_INTEGER
  const keyIds = new Map<number | string, number>()
  const out: Int32Array[] = []
  sides.forEach((side, s) => {
    const keys = new Int32Array(side.length)
    for (let i = 0; i < side.length; i++) {
      let num = 0
      let str = ''
      let missing = false
      for (let k = 0; k < parts.length; k++) {
        const ps = parts[k]!
        let part: number
        const a = ps[0]!.ids[s]![i]!
        const pa = a < 0 ? -1 : ps[0]!.byValue[a]!
        if (ps.length === 2) {
          // Unordered pair of part ids (names in either order).
          const b = ps[1]!.ids[s]![i]!
          const pb = b < 0 ? -1 : ps[1]!.byValue[b]!
          part = pa < 0 || pb < 0 ? -1 : pa < pb ? pa * radix + pb : pb * radix + pa
        } else {
          part = pa
        }
        if (part < 0) {
          missing = true
          break
        }
        if (numeric) num = num * multipliers[k]! + part
        else str += `${part},`
      }
      if (missing) {
        keys[i] = -1
        continue
      }
      const key = numeric ? num : str
      let id = keyIds.get(key)
      if (id === undefined) {
        id = keyIds.size
        keyIds.set(key, id)
      }
      keys[i] = id
    }
    out.push(keys)
  })
  return out
}

function metaphoneOf(v: string): string {
  const [p] = phoneticCodes(v)
  return p === '' ? v : p
}
