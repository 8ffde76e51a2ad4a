/**
 * `kindred reprocess`: rebuild identities and golden records from the stored events (after a
 * rule change), or, with `dryRun`, report how many of today's profiles would merge or split
 * under the new rules without changing anything.
 */
import {
  deterministicProfileIds,
  diffGraphs,
  extractIdentifiers,
  IdentityGraph,
  parseIdentityRules,
  planIdentity,
  type GraphDiff,
  type GraphState,
  type IdentityRules,
  type PlannerEvent,
} from '../core/identity/index.js'
import type { KindredEvent } from '../../protocol/event-schema.js'
import type { Db, Queryable } from '../../platform/store/db.js'
import { createIdentitySettingsCache } from './identity-settings.js'
import { createIdentityStage } from './identity-stage.js'
import type { ProcessedEvent } from '../../platform/pipeline/processor.js'

export interface ReprocessOptions {
  workspaceId: string
  /** Rules to evaluate (dry run) or to store and apply; the workspace's current ones otherwise. */
  rules?: unknown
  dryRun?: boolean
  batchSize?: number
}

export interface ReprocessReport {
  dryRun: boolean
  events: number
  diff: GraphDiff
}

interface EventRow {
  seq: number
  source_id: string
  payload: Record<string, unknown>
  properties: unknown
  traits: unknown
  context: unknown
}

async function* eventsInOrder(
  db: Queryable,
  workspaceId: string,
  batchSize: number,
): AsyncGenerator<ProcessedEvent[]> {
  let after: [string, number, string] = ['-infinity', -1, '']
  for (;;) {
    const res = await db.query<EventRow & { received_at: Date | string; message_id: string }>(
      `SELECT seq, source_id, message_id, received_at, payload, properties, traits, context FROM events
       WHERE workspace_id = $1 AND (received_at, seq, message_id) > ($2::timestamptz, $3::bigint, $4::text)
       ORDER BY received_at, seq, message_id LIMIT $5`,
      [workspaceId, after[0], after[1], after[2], batchSize],
    )
    if (res.rows.length === 0) return
    const last = res.rows[res.rows.length - 1] as EventRow & {
      received_at: Date | string
      message_id: string
    }
    after = [new Date(last.received_at).toISOString(), Number(last.seq), last.message_id]
    yield res.rows.map((r) => ({
      workspaceId,
      sourceId: r.source_id,
      seq: Number(r.seq),
      profileId: null,
      event: {
        ...r.payload,
        properties: r.properties,
        traits: r.traits,
        context: r.context,
      } as KindredEvent,
    }))
  }
}

async function currentGraph(db: Queryable, workspaceId: string): Promise<GraphState> {
  const ids = await db.query<{ type: string; value: string; profile_id: string }>(
    'SELECT type, value, profile_id FROM identities WHERE workspace_id = $1',
    [workspaceId],
  )
  const profiles = await db.query<{
    id: string
    created_at: Date | string
    merged_into: string | null
    merge_count: number
  }>('SELECT id, created_at, merged_into, merge_count FROM profiles WHERE workspace_id = $1', [
    workspaceId,
  ])
  return {
    identifiers: ids.rows.map((r) => ({ type: r.type, value: r.value, profileId: r.profile_id })),
    profiles: profiles.rows.map((p) => ({
      id: p.id,
      createdAt: new Date(p.created_at).getTime(),
      mergedInto: p.merged_into,
      mergeCount: p.merge_count,
    })) as GraphState['profiles'],
    events: {},
  }
}

async function storedRules(db: Queryable, workspaceId: string): Promise<IdentityRules> {
  const res = await db.query<{ rules: unknown }>(
    'SELECT rules FROM identity_settings WHERE workspace_id = $1',
    [workspaceId],
  )
  return parseIdentityRules(res.rows[0]?.rules ?? {})
}

export async function reprocess(db: Db, options: ReprocessOptions): Promise<ReprocessReport> {
  const { workspaceId } = options
  const batchSize = options.batchSize ?? 2_000
  const rules =
    options.rules === undefined
      ? await storedRules(db, workspaceId)
      : parseIdentityRules(options.rules)
  const before = await currentGraph(db, workspaceId)

  if (options.dryRun) {
    // Replay in memory with the candidate rules; the store is only read.
    const graph = new IdentityGraph()
    let events = 0
    for await (const batch of eventsInOrder(db, workspaceId, batchSize)) {
      const plannerEvents: PlannerEvent[] = batch.map((e) => {
        const x = extractIdentifiers(e.event, rules)
        return {
          messageId: e.event.messageId,
          sourceId: e.sourceId,
          timestamp: Date.parse(e.event.receivedAt),
          identifiers: x.identifiers,
          ...(x.previousId === undefined ? {} : { previousId: x.previousId }),
        }
      })
      graph.apply(
        planIdentity({
          events: plannerEvents,
          snapshot: graph.snapshotFor(plannerEvents),
          rules,
          newProfileId: deterministicProfileIds(workspaceId),
        }),
      )
      events += batch.length
    }
    return { dryRun: true, events, diff: diffGraphs(before, graph.toState()) }
  }

  // One transaction: readers see the old graph until the new one is complete.
  return db.transaction(async (tx) => {
    if (options.rules !== undefined) {
      await tx.query(
        `INSERT INTO identity_settings (workspace_id, rules) VALUES ($1, $2)
         ON CONFLICT (workspace_id) DO UPDATE SET rules = EXCLUDED.rules, updated_at = now()`,
        [workspaceId, JSON.stringify(rules)],
      )
    }
    // A rebuild starts from the events alone: splits made by hand are forgotten with the profile
    // ids they named (documented in src/app/README.md).
    const tables = ['identities', 'profile_merges', 'profile_separations', 'identity_events']
    for (const table of [...tables, 'profiles']) {
      await tx.query(`DELETE FROM ${table} WHERE workspace_id = $1`, [workspaceId])
    }
    await tx.query(
      'UPDATE events SET profile_id = NULL WHERE workspace_id = $1 AND profile_id IS NOT NULL',
      [workspaceId],
    )
    const stage = createIdentityStage(createIdentitySettingsCache(() => 0, 0))
    let events = 0
    for await (const batch of eventsInOrder(tx, workspaceId, batchSize)) {
      await stage(tx, batch)
      await tx.query(
        `UPDATE events e SET profile_id = x.profile_id
         FROM unnest($2::text[], $3::text[], $4::text[]) AS x(source_id, message_id, profile_id)
         WHERE e.workspace_id = $1 AND e.source_id = x.source_id AND e.message_id = x.message_id`,
        [
          workspaceId,
          batch.map((e) => e.sourceId),
          batch.map((e) => e.event.messageId),
          batch.map((e) => e.profileId),
        ],
      )
      events += batch.length
    }
    return { dryRun: false, events, diff: diffGraphs(before, await currentGraph(tx, workspaceId)) }
  })
}
