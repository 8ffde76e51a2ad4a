/**
 * Column mapping for batch imports: which column becomes which field of a Segment event, and how
 * its text is coerced. Pure (no I/O, no clock): the runner hands in the fixed import time.
 *
 * A mapping file:
 * ```json
 * { "columns": { "id": "userId", "mail": "traits.email", "crm": "externalIds.crm_id",
 *                "amount": { "to": "properties.amount", "type": "number" } },
 *   "event": "Order Completed", "unmapped": "auto" }
 * ```
 * Targets: `userId`, `anonymousId`, `event`, `timestamp`, `ignore`, `traits.<name>` (→
 * `context.traits` in event imports), `properties.<name>`, `context.<name>`, `externalIds.<type>`
 * (→ `context.externalIds`).
 * Dots after the first one nest (`traits.address.city`).
 * @module
 */
import { z } from 'zod'
import type { FieldIssue } from '../../protocol/errors.js'
import { importContext } from '../../protocol/imported-events.js'
import {
  UNSAFE_PATH_SEGMENTS,
  setPath as writePath,
  unsafeSegment as unsafePathSegment,
} from '../../protocol/json-path.js'

export const importKinds = ['profiles', 'events'] as const
export type ImportKind = (typeof importKinds)[number]
export const importFormats = ['csv', 'jsonl'] as const
export type ImportFormat = (typeof importFormats)[number]
export const coercionTypes = ['string', 'number', 'integer', 'boolean', 'date', 'json'] as const
export type CoercionType = (typeof coercionTypes)[number]

const targetPattern =
  /^(userId|anonymousId|event|timestamp|ignore|(traits|properties|context|externalIds)\.[^.\s][^\s]*)$/

/**
 * Path segments that name JavaScript's object machinery rather than data (protocol/json-path.ts):
 * written through, they reach `Object.prototype` and change every object in the process, so no
 * mapping may produce them.
 */
export { UNSAFE_PATH_SEGMENTS }

/** The unsafe segment of a dotted field path (after its root), if any. */
export function unsafeSegment(path: string): string | undefined {
  return unsafePathSegment(path.split('.'))
}

export const mappingTargetSchema = z
  .string()
  .regex(
    targetPattern,
    'must be userId, anonymousId, event, timestamp, ignore, traits.<name>, properties.<name>, context.<name> or externalIds.<type>',
  )
  .refine((to) => unsafeSegment(to) === undefined, {
    message: 'must not contain the path segments "__proto__", "constructor" or "prototype"',
  })

export const columnSpecSchema = z.union([
  mappingTargetSchema,
  z.strictObject({
    to: mappingTargetSchema,
    type: z.enum(coercionTypes).optional(),
    required: z.boolean().optional(),
  }),
])
export type ColumnSpec = z.infer<typeof columnSpecSchema>

export const importMappingSchema = z.strictObject({
  columns: z.record(z.string(), columnSpecSchema).default({}),
  /** Constant event name for event imports without an `event` column. */
  event: z.string().min(1).max(1024).optional(),
  /**
   * Columns not named in `columns`: `auto` maps well-known names (userId, user_id, anonymousId,
   * anonymous_id, event, timestamp) to those fields and the rest to traits (profiles) or
   * properties (events), as given; `ignore` drops them.
   */
  unmapped: z.enum(['auto', 'ignore']).default('auto'),
})
export type ImportMapping = z.infer<typeof importMappingSchema>

export type ParseResult<T> = { ok: true; value: T } | { ok: false; message: string }

export function parseImportMapping(input: unknown): ParseResult<ImportMapping> {
  const r = importMappingSchema.safeParse(input ?? {})
  if (r.success) return { ok: true, value: r.data }
  const first = r.error.issues[0]
  return {
    ok: false,
    message: `invalid mapping: ${first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'unknown'}`,
  }
}

/** `--map col=target[:type]` flags → mapping columns. The last `:` separates the type. */
export function parseMapFlags(flags: string[]): ParseResult<Record<string, ColumnSpec>> {
  const columns: Record<string, ColumnSpec> = {}
  for (const flag of flags) {
    const eq = flag.indexOf('=')
    if (eq <= 0) return { ok: false, message: `--map "${flag}": expected column=target[:type]` }
    const column = flag.slice(0, eq)
    let target = flag.slice(eq + 1)
    let type: string | undefined
    const colon = target.lastIndexOf(':')
    if (colon > 0) {
      type = target.slice(colon + 1)
      target = target.slice(0, colon)
    }
    const spec = columnSpecSchema.safeParse(type === undefined ? target : { to: target, type })
    if (!spec.success) {
      return {
        ok: false,
        message: `--map "${flag}": ${spec.error.issues[0]?.message ?? 'invalid'}`,
      }
    }
    columns[column] = spec.data
  }
  return { ok: true, value: columns }
}

export type CoerceResult = { ok: true; value: unknown } | { ok: false; message: string }

const trueWords = new Set(['true', 't', 'yes', 'y', '1'])
const falseWords = new Set(['false', 'f', 'no', 'n', '0'])

/** Epoch numbers below 1e11 are seconds (until year 5138), above are milliseconds. */
function epochToIso(n: number): CoerceResult {
  const ms = Math.abs(n) < 1e11 ? n * 1000 : n
  const d = new Date(ms)
  return Number.isNaN(d.getTime())
    ? { ok: false, message: 'is not a valid date' }
    : { ok: true, value: d.toISOString() }
}

/** Coerces one present (non-empty) value. Strings are trimmed for every type but `string`. */
export function coerceValue(value: unknown, type: CoercionType): CoerceResult {
  const text = typeof value === 'string' ? value.trim() : undefined
  switch (type) {
    case 'string':
      if (typeof value === 'string') return { ok: true, value }
      if (typeof value === 'number' || typeof value === 'boolean') {
        return { ok: true, value: String(value) }
      }
      return { ok: false, message: 'expected a string' }
    case 'number':
    case 'integer': {
      const n =
        typeof value === 'number' ? value : text !== undefined && text !== '' ? Number(text) : NaN
      if (!Number.isFinite(n))
        return { ok: false, message: `expected a number, got "${show(value)}"` }
      if (type === 'integer' && !Number.isSafeInteger(n)) {
        return { ok: false, message: `expected an integer, got "${show(value)}"` }
      }
      return { ok: true, value: n }
    }
    case 'boolean': {
      if (typeof value === 'boolean') return { ok: true, value }
      const word = text?.toLowerCase() ?? (typeof value === 'number' ? String(value) : undefined)
      if (word !== undefined && trueWords.has(word)) return { ok: true, value: true }
      if (word !== undefined && falseWords.has(word)) return { ok: true, value: false }
      return {
        ok: false,
        message: `expected a boolean (true/false/yes/no/1/0), got "${show(value)}"`,
      }
    }
    case 'date': {
      if (typeof value === 'number') return epochToIso(value)
      if (text === undefined) return { ok: false, message: 'expected a date' }
      if (/^-?\d+(\.\d+)?$/.test(text)) return epochToIso(Number(text))
      // Date-only values are midnight UTC, not local midnight (no dependence on the machine's zone).
      const iso = /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00.000Z` : text
      const ms = Date.parse(iso)
      if (Number.isNaN(ms)) return { ok: false, message: `expected a date, got "${show(value)}"` }
      return { ok: true, value: new Date(ms).toISOString() }
    }
    case 'json': {
      if (typeof value !== 'string') return { ok: true, value }
      try {
        return { ok: true, value: JSON.parse(value) as unknown }
      } catch {
        return { ok: false, message: `expected JSON, got "${show(value)}"` }
      }
    }
  }
}

function show(value: unknown): string {
  const s = typeof value === 'string' ? value : JSON.stringify(value)
  return s.length > 60 ? `${s.slice(0, 57)}...` : s
}

interface CompiledColumn {
  column: string
  to: string
  type: CoercionType | undefined
  required: boolean
  /** Set when the column cannot become a field: rows with a value in it are rejected with this. */
  unsafe?: string
}

// A Map, not an object literal: a column named "constructor" must not find Object's constructor.
const wellKnown = new Map<string, { to: string; type?: CoercionType }>([
  ['userid', { to: 'userId', type: 'string' }],
  ['user_id', { to: 'userId', type: 'string' }],
  ['anonymousid', { to: 'anonymousId', type: 'string' }],
  ['anonymous_id', { to: 'anonymousId', type: 'string' }],
  ['timestamp', { to: 'timestamp', type: 'date' }],
])

/**
 * Why an auto-mapped column cannot become a field, or undefined when it can. A plain name is
 * always a field, "constructor" and "prototype" included (the bags have no prototype, so they are
 * ordinary keys there); only "__proto__" is refused, because consumers of the event that use
 * plain objects would take it for the prototype. A dotted name nests, and nesting through any of
 * the three segments is refused: `constructor.prototype.x` is how a deep merge pollutes.
 */
export function unsafeAutoColumn(column: string): string | undefined {
  const segments = column.split('.')
  const bad =
    segments.length === 1
      ? segments[0] === '__proto__'
        ? '__proto__'
        : undefined
      : segments.find((s) => UNSAFE_PATH_SEGMENTS.has(s))
  if (bad === undefined) return undefined
  return (
    `column "${column}" cannot be imported as a field: "${bad}" is not allowed in a field path; ` +
    'map the column explicitly to another name, or to "ignore"'
  )
}

/** Default coercion per target: ids are strings, timestamps dates, the rest kept as given. */
function defaultType(to: string): CoercionType | undefined {
  if (to === 'userId' || to === 'anonymousId' || to === 'event') return 'string'
  if (to === 'timestamp') return 'date'
  if (to.startsWith('externalIds.')) return 'string'
  return undefined
}

export type RowResult =
  { ok: true; event: Record<string, unknown> } | { ok: false; issues: FieldIssue[] }

export interface RowMapperOptions {
  kind: ImportKind
  /** Timestamp of rows without one: the import's fixed time, so that replays are identical. */
  defaultTimestamp: string
}

export type RowMapper = (row: Record<string, unknown>) => RowResult

/** A bag without a prototype: whatever its keys, writing them cannot reach `Object.prototype`. */
function bagOf(): Record<string, unknown> {
  return Object.create(null) as Record<string, unknown>
}

/** Writes into the row's bags; new levels are bags too (own keys only, unsafe segments refused). */
function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  writePath(target, path, value, { newLevel: bagOf })
}

/**
 * Builds the mapper for one import. Columns are resolved per row name (a JSONL row may have keys
 * the first row lacked), with a cache so a CSV pays the resolution once per column.
 */
export function createRowMapper(mapping: ImportMapping, options: RowMapperOptions): RowMapper {
  const explicit = new Map<string, CompiledColumn>()
  for (const [column, spec] of Object.entries(mapping.columns)) {
    const to = typeof spec === 'string' ? spec : spec.to
    const type = typeof spec === 'string' ? defaultType(to) : (spec.type ?? defaultType(to))
    const required = typeof spec === 'string' ? false : (spec.required ?? false)
    // Mappings stored before unsafe targets were refused are still run on resume: never written.
    const bad = unsafeSegment(to)
    explicit.set(column, {
      column,
      to,
      type,
      required,
      ...(bad === undefined
        ? {}
        : { unsafe: `column "${column}" → ${to}: "${bad}" is not allowed in a field path` }),
    })
  }
  const requiredColumns = [...explicit.values()].filter((c) => c.required)
  const resolved = new Map<string, CompiledColumn | null>()
  const resolve = (column: string): CompiledColumn | null => {
    const hit = resolved.get(column)
    if (hit !== undefined) return hit
    let c: CompiledColumn | null = explicit.get(column) ?? null
    if (c === null && mapping.unmapped === 'auto') {
      const known = wellKnown.get(column.toLowerCase())
      const unsafe = known ? undefined : unsafeAutoColumn(column)
      if (known) c = { column, to: known.to, type: known.type, required: false }
      else if (unsafe !== undefined) {
        c = { column, to: 'ignore', type: undefined, required: false, unsafe }
      } else if (options.kind === 'events' && column.toLowerCase() === 'event') {
        c = { column, to: 'event', type: 'string', required: false }
      } else {
        const bag = options.kind === 'profiles' ? 'traits' : 'properties'
        c = { column, to: `${bag}.${column}`, type: undefined, required: false }
      }
    }
    if (c !== null && c.to === 'ignore' && c.unsafe === undefined) c = null
    resolved.set(column, c)
    return c
  }

  return (row) => {
    const issues: FieldIssue[] = []
    const event: Record<string, unknown> = {
      type: options.kind === 'profiles' ? 'identify' : 'track',
    }
    const bag = bagOf()
    const context = bagOf()
    const externalIds: { id: string; type: string; collection: string; encoding: string }[] = []
    let timestamp: unknown
    for (const column of requiredColumns) {
      const v = Object.hasOwn(row, column.column) ? row[column.column] : undefined
      if (v === undefined || v === null || v === '') {
        issues.push({
          path: column.column,
          code: 'required',
          message: `column "${column.column}" is required`,
        })
      }
    }
    // Own keys only: `for…in` would also visit anything enumerable on the prototype chain.
    for (const column of Object.keys(row)) {
      const raw = row[column]
      if (raw === undefined || raw === null || raw === '') continue
      const c = resolve(column)
      if (c === null) continue
      if (c.unsafe !== undefined) {
        issues.push({ path: column, code: 'unsafe_column', message: c.unsafe })
        continue
      }
      let value: unknown = raw
      if (c.type !== undefined) {
        const r = coerceValue(raw, c.type)
        if (!r.ok) {
          issues.push({
            path: column,
            code: 'coercion_failed',
            message: `${column} → ${c.to}: ${r.message}`,
          })
          continue
        }
        value = r.value
      }
      const to = c.to
      if (to === 'userId' || to === 'anonymousId' || to === 'event') event[to] = value
      else if (to === 'timestamp') timestamp = value
      else {
        const dot = to.indexOf('.')
        const root = to.slice(0, dot)
        const rest = to.slice(dot + 1)
        if (root === 'externalIds') {
          externalIds.push({ id: String(value), type: rest, collection: 'users', encoding: 'none' })
        } else if (root === 'context') setPath(context, rest.split('.'), value)
        else if (root === 'traits' && options.kind === 'events') {
          // A person's traits on an event travel in context.traits (Segment's place), where
          // identity reads an email or phone: an event row can then be keyed by email too.
          setPath(context, ['traits', ...rest.split('.')], value)
        } else setPath(bag, rest.split('.'), value)
      }
    }
    if (options.kind === 'events' && event.event === undefined && mapping.event !== undefined) {
      event.event = mapping.event
    }
    if (options.kind === 'events' && event.event === undefined) {
      issues.push({
        path: 'event',
        code: 'required',
        message: 'no event name: map an event column or set "event" in the mapping',
      })
    }
    if (issues.length > 0) return { ok: false, issues }
    event[options.kind === 'profiles' ? 'traits' : 'properties'] = bag
    if (externalIds.length > 0) context.externalIds = externalIds
    // Written last, over any mapped context.library or context.import: the mark says the event is
    // a row of an import and whether its time is the row's own (protocol/imported-events.ts).
    Object.assign(context, importContext(timestamp === undefined ? 'import' : 'row'))
    event.context = context
    event.timestamp = timestamp ?? options.defaultTimestamp
    return { ok: true, event }
  }
}
