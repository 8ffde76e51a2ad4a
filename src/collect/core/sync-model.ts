/**
 * Database sources (reverse ETL), the pure part: what a connection and a model say (zod), how a
 * model becomes the import mapping every row goes through (so a synced row is mapped, validated
 * and identified exactly like a row of a file import), how a database value is made exact JSON,
 * the row checksum, the decision per row in each sync mode, and the SQL a run reads with.
 *
 * Why one path with imports: the identity graph, golden records and the processor's dedup already
 * know imported rows (origin `import`, no activity); a sync is an import whose rows come from a
 * query and that remembers what it sent (docs/adr/0019-database-sources.md).
 * @module
 */
import { createHash } from 'node:crypto'
import { z } from 'zod'
import type { FieldIssue } from '../../protocol/errors.js'
import {
  coercionTypes,
  createRowMapper,
  type ColumnSpec,
  type ImportMapping,
  type RowMapper,
} from './import-mapping.js'

export const connectionKinds = ['postgres', 'mysql'] as const
export type ConnectionKind = (typeof connectionKinds)[number]

/** A column or table name as the source database spells it (quoted when used, never pasted). */
const identifierName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[^\0"`]+$/, 'must not contain NUL, double quotes or backticks')

export const connectionInputSchema = z.strictObject({
  name: z.string().min(1).max(200),
  kind: z.enum(connectionKinds),
  host: z.string().min(1).max(255),
  port: z.number().int().min(1).max(65535).optional(),
  database: z.string().min(1).max(128),
  user: z.string().min(1).max(128),
  /** Sealed at rest; answered as `********`. */
  password: z.string().max(1024).optional(),
  ssl: z.boolean().default(false),
  /** Statement timeout of every query of a run (ms). */
  queryTimeoutMs: z.number().int().min(100).max(3_600_000).default(300_000),
})
export type ConnectionInput = z.infer<typeof connectionInputSchema>
export type ConnectionSettings = Omit<ConnectionInput, 'password' | 'name'>

export const defaultPort: Record<ConnectionKind, number> = { postgres: 5432, mysql: 3306 }

export const syncKinds = ['identify', 'group', 'track'] as const
export type SyncKind = (typeof syncKinds)[number]
export const syncModes = ['upsert', 'update_only', 'insert_only', 'mirror'] as const
export type SyncMode = (typeof syncModes)[number]

const fieldTarget = z
  .string()
  .regex(/^(traits|properties|context)\.[A-Za-z0-9_$][A-Za-z0-9_$.-]*$/, {
    message: 'must be traits.<name>, properties.<name> or context.<name>',
  })
  .refine((t) => !t.split('.').some((s) => ['__proto__', 'constructor', 'prototype'].includes(s)), {
    message: 'must not contain the path segments "__proto__", "constructor" or "prototype"',
  })

export const syncModelSchema = z
  .strictObject({
    name: z.string().min(1).max(200),
    connectionId: z.string().min(1),
    /** A table (`schema.table` or `table`) or a SELECT. */
    source: z.union([
      z.strictObject({ table: z.string().min(1).max(300) }),
      z.strictObject({ sql: z.string().min(1).max(100_000) }),
    ]),
    /** The column that tells rows apart (unique in the source); runs read in its order. */
    key: identifierName,
    /** An `updated_at` or increasing id: runs read only rows at or after the last run's highest. */
    cursor: identifierName.optional(),
    kind: z.enum(syncKinds).default('identify'),
    mode: z.enum(syncModes).default('upsert'),
    /** The identifier column per identity type. */
    identifiers: z
      .strictObject({
        email: identifierName.optional(),
        phone: identifierName.optional(),
        user_id: identifierName.optional(),
        anonymous_id: identifierName.optional(),
        custom: z.record(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/), identifierName).optional(),
      })
      .default({}),
    /** Column → trait (identify, group) or property (track), with its type. */
    columns: z
      .record(
        identifierName,
        z.union([
          fieldTarget,
          z.strictObject({ to: fieldTarget, type: z.enum(coercionTypes).optional() }),
        ]),
      )
      .default({}),
    /** Track: the event name, or the column that holds it. */
    event: z.string().min(1).max(1024).optional(),
    eventColumn: identifierName.optional(),
    /** Track: the event's time; group: the account id. */
    timestampColumn: identifierName.optional(),
    groupIdColumn: identifierName.optional(),
  })
  .superRefine((m, ctx) => {
    const ids = m.identifiers
    const any =
      ids.email ?? ids.phone ?? ids.user_id ?? ids.anonymous_id ?? Object.keys(ids.custom ?? {})[0]
    if (any === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['identifiers'],
        message:
          'name at least one identifier column (email, phone, user_id, anonymous_id, custom)',
      })
    }
    if (m.kind === 'track' && m.event === undefined && m.eventColumn === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['event'],
        message: 'a track model needs an event name',
      })
    }
    if (m.kind === 'group' && m.groupIdColumn === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['groupIdColumn'],
        message: 'a group model needs its group id column',
      })
    }
    if (m.kind === 'track' && m.mode === 'mirror') {
      ctx.addIssue({
        code: 'custom',
        path: ['mode'],
        message: 'events are history: a track model cannot mirror deletions (use upsert)',
      })
    }
  })
export type SyncModel = z.infer<typeof syncModelSchema>

export const scheduleSchema = z.union([
  z.strictObject({
    everyMinutes: z
      .number()
      .int()
      .min(1)
      .max(60 * 24 * 31),
  }),
  z.strictObject({ cron: z.string().min(9).max(120) }),
])
export type Schedule = z.infer<typeof scheduleSchema>

/** What the mapper gives the runner for one row. */
export type SyncRowResult =
  | {
      ok: true
      event: Record<string, unknown>
      identity: Record<string, unknown>
      fields: string[]
    }
  | { ok: false; issues: FieldIssue[] }

/**
 * The import mapping of a model: identifiers to where identity reads them (`traits.email`,
 * `traits.phone`, `userId`, `anonymousId`, `externalIds.<type>`), the mapped columns, the time
 * and event columns; every other column is ignored (a database has columns nobody meant to send).
 */
export function importMappingOf(model: SyncModel): ImportMapping {
  const columns: Record<string, ColumnSpec> = {}
  for (const [column, spec] of Object.entries(model.columns)) {
    const to = typeof spec === 'string' ? spec : spec.to
    const type = typeof spec === 'string' ? undefined : spec.type
    // In track models, traits go with the person (context.traits), properties with the event.
    columns[column] = type === undefined ? to : { to, type }
  }
  const ids = model.identifiers
  if (ids.email !== undefined) columns[ids.email] = { to: 'traits.email', type: 'string' }
  if (ids.phone !== undefined) columns[ids.phone] = { to: 'traits.phone', type: 'string' }
  if (ids.user_id !== undefined) columns[ids.user_id] = { to: 'userId', type: 'string' }
  if (ids.anonymous_id !== undefined) columns[ids.anonymous_id] = 'anonymousId'
  for (const [type, column] of Object.entries(ids.custom ?? {}))
    columns[column] = { to: `externalIds.${type}`, type: 'string' }
  if (model.kind === 'track') {
    if (model.timestampColumn !== undefined) columns[model.timestampColumn] = 'timestamp'
    if (model.eventColumn !== undefined) columns[model.eventColumn] = 'event'
  }
  return {
    columns,
    unmapped: 'ignore',
    ...(model.event !== undefined ? { event: model.event } : {}),
  }
}

/** The columns whose values make a row what it is to Kindred (and so its checksum). */
export function modelColumns(model: SyncModel): string[] {
  const ids = model.identifiers
  const all = [
    model.key,
    ...Object.keys(model.columns),
    ids.email,
    ids.phone,
    ids.user_id,
    ids.anonymous_id,
    ...Object.values(ids.custom ?? {}),
    model.timestampColumn,
    model.eventColumn,
    model.groupIdColumn,
  ].filter((c): c is string => c !== undefined)
  return [...new Set(all)].sort()
}

export type ExactValue = { ok: true; value: unknown } | { ok: false; message: string }

/**
 * A driver's value as exact JSON: timestamps as ISO 8601 in UTC (the driver read them with their
 * zone), decimals and 64-bit integers as the text the database wrote (a JSON number would round
 * them), JSON as parsed. Binary columns have no JSON form: refused, so the row is rejected.
 */
export function exactValue(value: unknown): ExactValue {
  if (value === null || value === undefined) return { ok: true, value: null }
  if (value instanceof Date) {
    return Number.isNaN(value.getTime())
      ? { ok: false, message: 'is an invalid date' }
      : { ok: true, value: value.toISOString() }
  }
  if (typeof value === 'bigint') return { ok: true, value: value.toString() }
  if (value instanceof Uint8Array) {
    return {
      ok: false,
      message: 'is binary (bytea/BLOB): no JSON form; cast it to text in a SELECT',
    }
  }
  if (typeof value === 'number' && !Number.isFinite(value))
    return { ok: false, message: `is ${String(value)}, which JSON cannot hold` }
  return { ok: true, value }
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

/** The model's fingerprint: a changed mapping makes every row's checksum change (all resent). */
export function modelFingerprint(model: SyncModel): string {
  return createHash('sha256')
    .update(canonical({ ...model, name: undefined, connectionId: undefined }))
    .digest('hex')
    .slice(0, 16)
}

/** Checksum of a row's model columns (exact values) under a model fingerprint. */
export function rowChecksum(fingerprint: string, columns: string[], row: Record<string, unknown>) {
  const h = createHash('sha256').update(fingerprint)
  for (const c of columns) h.update(`\0${c}\0${canonical(Object.hasOwn(row, c) ? row[c] : null)}`)
  return h.digest('base64url').slice(0, 32)
}

/** Same (model, row, version) → same messageId: a retried batch is stored once by the processor. */
export function syncMessageId(modelId: string, rowKey: string, version: number, what: string) {
  const h = createHash('sha256').update(`${modelId}\0${rowKey}\0${version}\0${what}`)
  return `sync-${modelId.slice(-8)}-${h.digest('base64url').slice(0, 24)}`
}

export interface KnownRow {
  checksum: string
  /** An event was appended for the row (an accepted, sent row). */
  sent: boolean
}

export type RowDecision = 'send' | 'unchanged' | 'skip'

/**
 * What a run does with a read row. `unchanged`: same checksum as last time, nothing sent.
 * upsert, mirror: every new or changed row. insert_only: rows never sent before. update_only:
 * rows sent before, and new rows whose identifier already belongs to a profile (it never creates
 * a person). The caller knows `profileExists` only for update_only models.
 */
export function decideRow(
  mode: SyncMode,
  known: KnownRow | undefined,
  checksum: string,
  profileExists: boolean,
): RowDecision {
  if (known !== undefined && known.checksum === checksum) return 'unchanged'
  switch (mode) {
    case 'upsert':
    case 'mirror':
      return 'send'
    case 'insert_only':
      return known?.sent === true ? 'skip' : 'send'
    case 'update_only':
      return known?.sent === true || profileExists ? 'send' : 'skip'
  }
}

/** The mapper of a model: a database row (exact values) → the event, who it is, what it sets. */
export function createSyncRowMapper(
  model: SyncModel,
  options: { defaultTimestamp: string },
): (row: Record<string, unknown>) => SyncRowResult {
  const mapping = importMappingOf(model)
  const mapper: RowMapper = createRowMapper(mapping, {
    kind: model.kind === 'track' ? 'events' : 'profiles',
    defaultTimestamp: options.defaultTimestamp,
  })
  const wanted = modelColumns(model)
  return (input) => {
    const row: Record<string, unknown> = Object.create(null) as Record<string, unknown>
    const issues: FieldIssue[] = []
    for (const c of wanted) {
      if (!Object.hasOwn(input, c)) {
        if (c === model.key)
          issues.push({ path: c, code: 'missing_column', message: `no column "${c}"` })
        continue
      }
      const v = exactValue(input[c])
      if (!v.ok)
        issues.push({ path: c, code: 'unmappable_type', message: `column "${c}" ${v.message}` })
      else row[c] = typeof v.value === 'object' && v.value !== null ? v.value : v.value
    }
    if (issues.length > 0) return { ok: false, issues }
    // JSON values of a `json` column come parsed; the mapper's `json` type takes them as they are.
    const mapped = mapper(row)
    if (!mapped.ok) return mapped
    const event = mapped.event
    if (model.kind === 'group') {
      const groupId = row[model.groupIdColumn as string]
      if (groupId === null || groupId === undefined || groupId === '') {
        return {
          ok: false,
          issues: [
            { path: model.groupIdColumn as string, code: 'required', message: 'no group id' },
          ],
        }
      }
      // A group row: the person is who the identifiers say (context.traits, where identity reads
      // an email or phone); the mapped traits are the account's.
      const traits = { ...(event.traits as Record<string, unknown>) }
      const person: Record<string, unknown> = {}
      for (const k of ['email', 'phone']) {
        if (k in traits && model.identifiers[k as 'email' | 'phone'] !== undefined) {
          person[k] = traits[k]
          delete traits[k]
        }
      }
      event.type = 'group'
      event.groupId = String(groupId as string | number)
      event.traits = traits
      const context = event.context as Record<string, unknown>
      if (Object.keys(person).length > 0) context.traits = person
    }
    const identity: Record<string, unknown> = {}
    for (const k of ['userId', 'anonymousId']) if (event[k] !== undefined) identity[k] = event[k]
    const traits = (event.traits ?? {}) as Record<string, unknown>
    const ctx = (event.context ?? {}) as Record<string, unknown>
    const personTraits = (model.kind === 'identify' ? traits : (ctx.traits ?? {})) as Record<
      string,
      unknown
    >
    for (const k of ['email', 'phone'])
      if (personTraits[k] !== undefined) identity[k] = personTraits[k]
    if (ctx.externalIds !== undefined) identity.externalIds = ctx.externalIds
    if (event.groupId !== undefined) identity.groupId = event.groupId
    const fields = model.kind === 'track' ? [] : Object.keys(traits).sort()
    return { ok: true, event, identity, fields }
  }
}

/**
 * A deleted row's undo, for mirror: an identify of the same person setting to null the traits
 * the row set (the caller keeps only those whose surviving value still comes from this model),
 * or a group call with the same traits nulled. Null clears a trait (golden records).
 */
export function tombstoneEvent(
  kind: SyncKind,
  identity: Record<string, unknown>,
  clear: string[],
  timestamp: string,
): Record<string, unknown> | undefined {
  if (kind === 'track' || clear.length === 0) return undefined
  const nulls = Object.fromEntries(clear.map((f) => [f, null]))
  const context: Record<string, unknown> = {
    library: { name: 'kindred-import' },
    import: { time: 'import' },
  }
  if (identity.externalIds !== undefined) context.externalIds = identity.externalIds
  const person: Record<string, unknown> = {}
  for (const k of ['email', 'phone']) if (identity[k] !== undefined) person[k] = identity[k]
  const base: Record<string, unknown> = { timestamp, context }
  if (identity.userId !== undefined) base.userId = identity.userId
  if (identity.anonymousId !== undefined) base.anonymousId = identity.anonymousId
  if (kind === 'identify') return { ...base, type: 'identify', traits: { ...nulls, ...person } }
  if (Object.keys(person).length > 0) context.traits = person
  return { ...base, type: 'group', groupId: identity.groupId, traits: nulls }
}

export type Dialect = 'postgres' | 'mysql'

export function quoteIdent(dialect: Dialect, name: string): string {
  return dialect === 'postgres'
    ? `"${name.replaceAll('"', '""')}"`
    : `\`${name.replaceAll('`', '``')}\``
}

/** `schema.table` or `table`, each part quoted. */
export function tableRef(dialect: Dialect, table: string): string {
  return table
    .split('.')
    .map((p) => quoteIdent(dialect, p))
    .join('.')
}

/**
 * The SELECT of one pass: the model's rows after the checkpoint key, at or after the cursor's
 * watermark, in key order (the checkpoint is a key: a resumed run starts after it). A SELECT
 * model is wrapped as a derived table; its text is the workspace editor's, run read-only.
 */
export function readQuery(
  dialect: Dialect,
  model: Pick<SyncModel, 'source' | 'key' | 'cursor'>,
  from: { afterKey?: string | null; watermark?: string | null; limit?: number },
): { text: string; params: unknown[] } {
  const base =
    'table' in model.source
      ? `SELECT * FROM ${tableRef(dialect, model.source.table)}`
      : model.source.sql.trim().replace(/;\s*$/, '')
  const params: unknown[] = []
  const p = (v: unknown) => (params.push(v), dialect === 'postgres' ? `$${params.length}` : '?')
  const key = `m.${quoteIdent(dialect, model.key)}`
  const where: string[] = []
  if (from.afterKey !== undefined && from.afterKey !== null)
    where.push(`${key} > ${p(from.afterKey)}`)
  if (model.cursor !== undefined && from.watermark !== undefined && from.watermark !== null)
    where.push(
      `m.${quoteIdent(dialect, model.cursor)} >= ${p(cursorParam(dialect, from.watermark))}`,
    )
  const text =
    `SELECT * FROM (${base}) AS m` +
    (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
    ` ORDER BY ${key}` +
    (from.limit !== undefined ? ` LIMIT ${Math.trunc(from.limit)}` : '')
  return { text, params }
}

/** MariaDB compares DATETIME with `YYYY-MM-DD HH:MM:SS.ffffff`, not with ISO's `T…Z`. */
function cursorParam(dialect: Dialect, watermark: string): string {
  if (dialect === 'mysql' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(watermark))
    return watermark.replace('T', ' ').replace('Z', '')
  return watermark
}

/** The higher of two cursor values (numbers by value, ISO timestamps and text by order). */
export function maxCursor(a: string | null, b: unknown): string | null {
  if (b === null || b === undefined) return a
  const text = String(b as string | number)
  if (a === null) return text
  const na = Number(a)
  const nb = Number(text)
  if (Number.isFinite(na) && Number.isFinite(nb) && /^-?\d/.test(a) && !a.includes('-', 1))
    return nb > na ? text : a
  return text > a ? text : a
}
