/**
 * @module value-condition
 * Conditions on one JSON value (a trait, an event property, a computed trait value): the zod
 * schema, the in-memory matcher and the SQL compiler, side by side so that the two halves of
 * every rule sit next to each other. The SQL half leans on the helper functions created by
 * `src/platform/store/migrations/0100-segments.sql` (kindred_num, kindred_bool, kindred_fold,
 * kindred_ts_ms), which implement the same coercions as the functions below.
 *
 * Semantics (identical in both evaluators; see README.md):
 * - Missing and JSON null are the same: "not set".
 * - Numbers: JSON numbers and plain decimal strings (`-?d{1,15}(.d{1,15})?`) compare as float8.
 * - Booleans: JSON booleans and the exact strings "true" / "false".
 * - Strings compare by code point, case-sensitive; `ignoreCase` folds ASCII A-Z only.
 * - Dates: ISO 8601 strings (`YYYY-MM-DD`, optional `THH:MM[:SS[.fff]]`, optional `Z`/`±HH:MM`,
 *   UTC when no offset), compared at millisecond precision.
 * - Negative operators (neq, not_in, not_contains, not_exists) are exactly NOT of their positive
 *   twin, so they match profiles where the value is missing.
 */
import { z } from 'zod'
import { getPath as walkPath } from '../../../protocol/json-path.js'
import type { SqlParams } from './sql-params.js'

export const MAX_STRING_LENGTH = 1000
export const MAX_LIST_SIZE = 1000

export const timeUnitSchema = z.enum(['minutes', 'hours', 'days', 'weeks'])
export type TimeUnit = z.infer<typeof timeUnitSchema>

const UNIT_MS: Record<TimeUnit, number> = {
  minutes: 60_000,
  hours: 3_600_000,
  days: 86_400_000,
  weeks: 604_800_000,
}

/** A fixed duration: days are 24 hours and weeks 7 days (no calendar, no DST). */
export const durationSchema = z.object({
  amount: z.number().int().min(1).max(100_000),
  unit: timeUnitSchema,
})
export type Duration = z.infer<typeof durationSchema>

export function durationMs(d: Duration): number {
  return d.amount * UNIT_MS[d.unit]
}

const ISO_RE =
  /^([1-9][0-9]{3})-([0-9]{2})-([0-9]{2})(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?)?(Z|([+-])([0-9]{2}):([0-9]{2}))?$/
const NUMERIC_RE = /^-?[0-9]{1,15}(\.[0-9]{1,15})?$/

/** Epoch milliseconds of an ISO 8601 string as kindred_ts_ms() reads it, or undefined. */
export function parseIsoMs(s: string): number | undefined {
  const m = ISO_RE.exec(s)
  if (!m) return undefined
  const int = (x: string | undefined): number => (x === undefined ? 0 : Number(x))
  const [y, mo, d, h, mi, sec, oh, om] = [m[1], m[2], m[3], m[4], m[5], m[6], m[10], m[11]].map(
    int,
  ) as [number, number, number, number, number, number, number, number]
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59 || oh > 23 || om > 59)
    return undefined
  const frac = Number(((m[7] ?? '') + '000').slice(0, 3))
  const sign = m[9] === '+' ? 1 : m[9] === '-' ? -1 : 0
  return (
    Date.UTC(y, mo - 1, 1) +
    (d - 1) * 86_400_000 +
    h * 3_600_000 +
    mi * 60_000 +
    sec * 1000 +
    frac -
    sign * (oh * 3_600_000 + om * 60_000)
  )
}

/** An ISO 8601 date string that parseIsoMs accepts. */
export const isoDateSchema = z
  .string()
  .max(40)
  .refine((s) => parseIsoMs(s) !== undefined, {
    message: 'expected an ISO 8601 date, e.g. 2025-01-31 or 2025-01-31T12:00:00Z',
  })

/** A JSON value as a number (kindred_num). */
export function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && Math.abs(v) < 1e300 ? v : undefined
  if (typeof v === 'string' && NUMERIC_RE.test(v)) return Number(v)
  return undefined
}

/** A JSON value as a boolean (kindred_bool). */
export function toBoolean(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v
  if (v === 'true') return true
  if (v === 'false') return false
  return undefined
}

/** A JSON value as epoch ms (kindred_ts_ms). */
export function toTimestampMs(v: unknown): number | undefined {
  return typeof v === 'string' ? parseIsoMs(v) : undefined
}

/** ASCII-only case folding (kindred_fold). */
export function foldAscii(s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32))
}

/**
 * A value at a path, as Postgres `#>` reads it: objects by own key, arrays by integer index
 * (negative counts from the end), anything else (or a missing step) is undefined; JSON null is
 * "not set", undefined too. The walk is protocol's, shared with destinations and imports.
 */
export function getPath(root: unknown, path: readonly string[]): unknown {
  const v = walkPath(root, path)
  return v === null ? undefined : v
}

/** A trait or property reference: a top-level key, or a path into nested objects/arrays. */
export const pathSchema = z.union([
  z.string().min(1).max(200),
  z.array(z.string().min(1).max(200)).min(1).max(10),
])
export type PathRef = z.infer<typeof pathSchema>

export function toPath(ref: PathRef): string[] {
  return typeof ref === 'string' ? [ref] : [...ref]
}

const scalarSchema = z.union([z.string().max(MAX_STRING_LENGTH), z.number(), z.boolean()])
export type Scalar = z.infer<typeof scalarSchema>
const text = z.string().min(1).max(MAX_STRING_LENGTH)
const ignoreCase = z.boolean().optional()

/** A point in time: an absolute ISO date, or N units before / after `now`. */
export const datePointSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('absolute'), at: isoDateSchema }),
  z.object({
    kind: z.literal('relative'),
    amount: z.number().int().min(0).max(100_000),
    unit: timeUnitSchema,
    direction: z.enum(['ago', 'from_now']).default('ago'),
  }),
])
export type DatePoint = z.infer<typeof datePointSchema>

export function datePointMs(p: DatePoint, nowMs: number): number {
  if (p.kind === 'absolute') return parseIsoMs(p.at) as number
  const d = p.amount * UNIT_MS[p.unit]
  return p.direction === 'ago' ? nowMs - d : nowMs + d
}

export const valueConditionSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('eq'), value: scalarSchema, ignoreCase }),
  z.object({ op: z.literal('neq'), value: scalarSchema, ignoreCase }),
  z.object({
    op: z.literal('in'),
    values: z.array(scalarSchema).min(1).max(MAX_LIST_SIZE),
    ignoreCase,
  }),
  z.object({
    op: z.literal('not_in'),
    values: z.array(scalarSchema).min(1).max(MAX_LIST_SIZE),
    ignoreCase,
  }),
  z.object({ op: z.literal('contains'), value: text, ignoreCase }),
  z.object({ op: z.literal('not_contains'), value: text, ignoreCase }),
  z.object({ op: z.literal('starts_with'), value: text, ignoreCase }),
  z.object({ op: z.literal('gt'), value: z.number() }),
  z.object({ op: z.literal('gte'), value: z.number() }),
  z.object({ op: z.literal('lt'), value: z.number() }),
  z.object({ op: z.literal('lte'), value: z.number() }),
  z.object({ op: z.literal('between'), min: z.number(), max: z.number() }),
  z.object({ op: z.literal('exists') }),
  z.object({ op: z.literal('not_exists') }),
  z.object({ op: z.literal('is_true') }),
  z.object({ op: z.literal('is_false') }),
  z.object({
    op: z.literal('date_within_last'),
    amount: z.number().int().min(1).max(100_000),
    unit: timeUnitSchema,
  }),
  z.object({ op: z.literal('date_before'), date: datePointSchema }),
  z.object({ op: z.literal('date_after'), date: datePointSchema }),
])
export type ValueCondition = z.infer<typeof valueConditionSchema>

/** Whether a condition's answer can change with the clock alone. */
export function isTimeDependent(c: ValueCondition): boolean {
  if (c.op === 'date_within_last') return true
  if (c.op === 'date_before' || c.op === 'date_after') return c.date.kind === 'relative'
  return false
}

const NEGATIONS = {
  neq: 'eq',
  not_in: 'in',
  not_contains: 'contains',
  not_exists: 'exists',
} as const

// ---------------------------------------------------------------------------------------------
// In memory

function scalarEquals(v: unknown, operand: Scalar, fold: boolean): boolean {
  if (typeof operand === 'number') return toNumber(v) === operand
  if (typeof operand === 'boolean') return toBoolean(v) === operand
  if (typeof v !== 'string') return false
  return fold ? foldAscii(v) === foldAscii(operand) : v === operand
}

/** Does `value` (undefined when missing) satisfy `cond` at `nowMs`? */
export function matchValue(cond: ValueCondition, value: unknown, nowMs: number): boolean {
  const v = value === null ? undefined : value
  switch (cond.op) {
    case 'neq':
    case 'not_in':
    case 'not_contains':
    case 'not_exists':
      return !matchValue({ ...cond, op: NEGATIONS[cond.op] } as ValueCondition, v, nowMs)
    case 'eq':
      return scalarEquals(v, cond.value, cond.ignoreCase === true)
    case 'in':
      return cond.values.some((x) => scalarEquals(v, x, cond.ignoreCase === true))
    case 'contains': {
      const fold = cond.ignoreCase === true
      if (typeof v === 'string')
        return fold ? foldAscii(v).includes(foldAscii(cond.value)) : v.includes(cond.value)
      if (Array.isArray(v)) return v.some((el) => scalarEquals(el, cond.value, fold))
      return false
    }
    case 'starts_with':
      if (typeof v !== 'string') return false
      return cond.ignoreCase === true
        ? foldAscii(v).startsWith(foldAscii(cond.value))
        : v.startsWith(cond.value)
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const n = toNumber(v)
      if (n === undefined) return false
      return compareOp(cond.op, n, cond.value)
    }
    case 'between': {
      const n = toNumber(v)
      return n !== undefined && n >= cond.min && n <= cond.max
    }
    case 'exists':
      return v !== undefined
    case 'is_true':
      return toBoolean(v) === true
    case 'is_false':
      return toBoolean(v) === false
    case 'date_within_last': {
      const t = toTimestampMs(v)
      return t !== undefined && t >= nowMs - cond.amount * UNIT_MS[cond.unit] && t <= nowMs
    }
    case 'date_before': {
      const t = toTimestampMs(v)
      return t !== undefined && t < datePointMs(cond.date, nowMs)
    }
    case 'date_after': {
      const t = toTimestampMs(v)
      return t !== undefined && t > datePointMs(cond.date, nowMs)
    }
  }
}

function compareOp(op: 'gt' | 'gte' | 'lt' | 'lte', a: number, b: number): boolean {
  switch (op) {
    case 'gt':
      return a > b
    case 'gte':
      return a >= b
    case 'lt':
      return a < b
    case 'lte':
      return a <= b
  }
}

// ---------------------------------------------------------------------------------------------
// SQL

const SQL_CMP = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const

/** Is `cond` a negative operator (true when the value is missing)? */
export function isNegative(cond: ValueCondition): boolean {
  return cond.op in NEGATIONS
}

/** The positive twin of a negative operator (the condition itself when positive). */
export function positive(cond: ValueCondition): ValueCondition {
  return cond.op in NEGATIONS
    ? ({ ...cond, op: NEGATIONS[cond.op as keyof typeof NEGATIONS] } as ValueCondition)
    : cond
}

function sqlText(x: string, fold: boolean): string {
  return fold ? `kindred_fold(${x} #>> '{}')` : `(${x} #>> '{}')`
}

function sqlScalarIn(x: string, operands: readonly Scalar[], fold: boolean, p: SqlParams): string {
  const strs = operands.filter((o): o is string => typeof o === 'string')
  const nums = operands.filter((o): o is number => typeof o === 'number')
  const bools = operands.filter((o): o is boolean => typeof o === 'boolean')
  const parts: string[] = []
  const one = operands.length === 1
  if (strs.length > 0) {
    const vals = fold ? strs.map(foldAscii) : strs
    parts.push(
      `(jsonb_typeof(${x}) = 'string' AND ${sqlText(x, fold)} ${
        one ? `= ${p.add(vals[0], 'text')}` : `= ANY(${p.add(vals, 'text[]')})`
      })`,
    )
  }
  if (nums.length > 0)
    parts.push(
      `kindred_num(${x}) ${one ? `= ${p.add(nums[0], 'float8')}` : `= ANY(${p.add(nums, 'float8[]')})`}`,
    )
  if (bools.length > 0)
    parts.push(
      `kindred_bool(${x}) ${one ? `= ${p.add(bools[0], 'boolean')}` : `= ANY(${p.add(bools, 'boolean[]')})`}`,
    )
  return parts.length === 1 ? (parts[0] as string) : `(${parts.join(' OR ')})`
}

/**
 * SQL for a positive condition on the jsonb expression `x` (SQL NULL when missing). The
 * result may be NULL where the in-memory answer is false: callers wrap it in coalesce.
 */
function sqlPositive(cond: ValueCondition, x: string, p: SqlParams, nowMs: number): string {
  switch (cond.op) {
    case 'neq':
    case 'not_in':
    case 'not_contains':
    case 'not_exists':
      throw new Error('negative operators are compiled through their positive twin')
    case 'eq':
      return sqlScalarIn(x, [cond.value], cond.ignoreCase === true, p)
    case 'in':
      return sqlScalarIn(x, cond.values, cond.ignoreCase === true, p)
    case 'contains': {
      const fold = cond.ignoreCase === true
      const needle = p.add(fold ? foldAscii(cond.value) : cond.value, 'text')
      return (
        `CASE jsonb_typeof(${x}) WHEN 'string' THEN strpos(${sqlText(x, fold)}, ${needle}) > 0 ` +
        `WHEN 'array' THEN EXISTS (SELECT 1 FROM jsonb_array_elements(${x}) AS el(v) ` +
        `WHERE jsonb_typeof(el.v) = 'string' AND ${sqlText('el.v', fold)} = ${needle}) ELSE false END`
      )
    }
    case 'starts_with': {
      const fold = cond.ignoreCase === true
      const prefix = p.add(fold ? foldAscii(cond.value) : cond.value, 'text')
      return `(jsonb_typeof(${x}) = 'string' AND starts_with(${sqlText(x, fold)}, ${prefix}))`
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return `kindred_num(${x}) ${SQL_CMP[cond.op]} ${p.add(cond.value, 'float8')}`
    case 'between':
      return `kindred_num(${x}) BETWEEN ${p.add(cond.min, 'float8')} AND ${p.add(cond.max, 'float8')}`
    case 'exists':
      return `jsonb_typeof(${x}) <> 'null'`
    case 'is_true':
      return `kindred_bool(${x})`
    case 'is_false':
      return `NOT kindred_bool(${x})`
    case 'date_within_last':
      return `kindred_ts_ms(${x}) BETWEEN ${p.add(nowMs - cond.amount * UNIT_MS[cond.unit], 'float8')} AND ${p.add(nowMs, 'float8')}`
    case 'date_before':
      return `kindred_ts_ms(${x}) < ${p.add(datePointMs(cond.date, nowMs), 'float8')}`
    case 'date_after':
      return `kindred_ts_ms(${x}) > ${p.add(datePointMs(cond.date, nowMs), 'float8')}`
  }
}

/**
 * SQL for `cond` on the jsonb expression `x`: never NULL, true exactly when matchValue is.
 * `x` must be trusted SQL (a column or `col #> $n::text[]`), never user text.
 */
export function compileValueCondition(
  cond: ValueCondition,
  x: string,
  p: SqlParams,
  nowMs: number,
): string {
  const pos = `coalesce(${sqlPositive(positive(cond), x, p, nowMs)}, false)`
  return isNegative(cond) ? `NOT ${pos}` : pos
}

/**
 * SQL for the positive twin only (NULL-safe with coalesce), for callers that express the
 * negation with NOT EXISTS instead (computed trait rows that may be absent).
 */
export function compilePositiveValueCondition(
  cond: ValueCondition,
  x: string,
  p: SqlParams,
  nowMs: number,
): string {
  return `coalesce(${sqlPositive(positive(cond), x, p, nowMs)}, false)`
}
