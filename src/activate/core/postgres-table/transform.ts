import type {
  Destination,
  DestinationInput,
  InputOf,
  SqlEffect,
  TransformContext,
  TransformResult,
} from '../contract.js'
import { defineDestination } from '../contract.js'
import { defaultClassify } from '../shared/classify.js'
import { idempotencyKey, partitionSupported } from '../shared/profile-fields.js'
import { qualified, quoteIdent } from '../shared/sql.js'
import { manifest, type PostgresTableSettings } from './manifest.js'

/** Objects and arrays go in as JSON text; scalars as they are (Postgres casts to the column). */
function sqlValue(v: unknown): unknown {
  if (v === undefined) return null
  if (typeof v === 'object' && v !== null) return JSON.stringify(v)
  return v
}

export function transform(
  inputs: DestinationInput[],
  ctx: TransformContext<PostgresTableSettings>,
): TransformResult {
  const { supported, skipped } = partitionSupported(inputs, manifest.actions)
  const result: TransformResult = { effects: [], skipped }
  const s = ctx.settings
  const now = new Date(ctx.now).toISOString()
  const sql = (op: string, itemIds: string[], statement: string, params: unknown[]): SqlEffect => ({
    type: 'sql',
    connectionRef: 'connectionString',
    statement,
    params,
    idempotencyKey: idempotencyKey(ctx.destinationId, `pg:${op}`, itemIds),
    itemIds,
  })

  // Profiles: the last snapshot of a profile in the batch wins (ON CONFLICT cannot touch a row twice).
  const latest = new Map<string, InputOf<'profile'>>()
  const profileItems = new Map<string, string[]>()
  const audience = {
    add: new Map<string, InputOf<'audience'>[]>(),
    remove: new Map<string, InputOf<'audience'>[]>(),
  }
  const deletes: InputOf<'delete'>[] = []
  for (const input of supported) {
    if (input.kind === 'profile') {
      latest.set(input.profile.id, input)
      profileItems.set(input.profile.id, [...(profileItems.get(input.profile.id) ?? []), input.id])
    } else if (input.kind === 'audience') {
      const m = audience[input.action]
      m.set(input.audience.key, [...(m.get(input.audience.key) ?? []), input])
    } else if (input.kind === 'delete') deletes.push(input)
  }

  if (latest.size > 0) {
    const table = qualified(s.schema, s.profilesTable)
    const traitCols = Object.entries(s.columns)
    const cols = [
      s.keyColumn,
      ...traitCols.map(([, c]) => c),
      ...(s.updatedAtColumn ? [s.updatedAtColumn] : []),
    ]
    const params: unknown[] = []
    const tuples: string[] = []
    for (const input of latest.values()) {
      const row = [
        input.profile.id,
        ...traitCols.map(([t]) => sqlValue(input.profile.traits[t])),
        ...(s.updatedAtColumn ? [now] : []),
      ]
      tuples.push(`(${row.map((v) => `$${params.push(v)}`).join(', ')})`)
    }
    const updates = cols.slice(1).map((c) => `${quoteIdent(c)} = EXCLUDED.${quoteIdent(c)}`)
    const statement =
      `INSERT INTO ${table} (${cols.map(quoteIdent).join(', ')}) VALUES ${tuples.join(', ')} ` +
      `ON CONFLICT (${quoteIdent(s.keyColumn)}) DO ${updates.length > 0 ? `UPDATE SET ${updates.join(', ')}` : 'NOTHING'}`
    result.effects.push(sql('profiles', [...profileItems.values()].flat(), statement, params))
  }

  const members = qualified(s.schema, s.audienceTable)
  for (const [key, items] of audience.add) {
    const ids = [...new Set(items.map((i) => i.profile.id))]
    const cols = ['audience_key', 'profile_id', ...(s.updatedAtColumn ? [s.updatedAtColumn] : [])]
    const select = s.updatedAtColumn ? 'SELECT $1, p, $3::timestamptz' : 'SELECT $1, p'
    const params = s.updatedAtColumn ? [key, ids, now] : [key, ids]
    const conflict = s.updatedAtColumn
      ? `DO UPDATE SET ${quoteIdent(s.updatedAtColumn)} = EXCLUDED.${quoteIdent(s.updatedAtColumn)}`
      : 'DO NOTHING'
    result.effects.push(
      sql(
        `audience:add:${key}`,
        items.map((i) => i.id),
        `INSERT INTO ${members} (${cols.map(quoteIdent).join(', ')}) ${select} FROM unnest($2::text[]) AS p ` +
          `ON CONFLICT ("audience_key", "profile_id") ${conflict}`,
        params,
      ),
    )
  }
  for (const [key, items] of audience.remove) {
    result.effects.push(
      sql(
        `audience:remove:${key}`,
        items.map((i) => i.id),
        `DELETE FROM ${members} WHERE "audience_key" = $1 AND "profile_id" = ANY($2::text[])`,
        [key, [...new Set(items.map((i) => i.profile.id))]],
      ),
    )
  }
  if (deletes.length > 0) {
    const ids = [...new Set(deletes.map((d) => d.profile.id))]
    const itemIds = deletes.map((d) => d.id)
    // One statement (a CTE) so both tables are cleaned atomically.
    result.effects.push(
      sql(
        'delete',
        itemIds,
        `WITH m AS (DELETE FROM ${members} WHERE "profile_id" = ANY($1::text[])) ` +
          `DELETE FROM ${qualified(s.schema, s.profilesTable)} WHERE ${quoteIdent(s.keyColumn)} = ANY($1::text[])`,
        [ids],
      ),
    )
  }
  return result
}

export const postgresTable: Destination<typeof manifest.settings> = defineDestination({
  manifest,
  transform,
  classifyResponse: defaultClassify,
})
