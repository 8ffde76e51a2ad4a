/**
 * @module engine/privacy/suppression-cache
 * The ingest-side suppression matcher: the hashed suppression list of every workspace, in memory,
 * checked with one hash per identifier an event carries. Shared by every user of one store (the
 * tracking routes, the privacy routes and the tombstone stage), keyed by the `Db`.
 *
 * Freshness: a change through this node's API reloads at once (`invalidate`); other nodes see it
 * within `REFRESH_MS` (a signature query runs at most that often, the full list is reloaded only
 * when the signature changed). Until the first load completes, `filter` waits for it, so a node
 * that just started never lets a suppressed event through.
 */
import { Counter, type Registry } from 'prom-client'
import {
  compileIdentityRules,
  DEFAULT_IDENTITY_RULES,
  extractIdentifiers,
  parseIdentityRules,
  type CompiledIdentityRules,
} from '../../identity/index.js'
import { matchSuppressed, type HashableIdentifier } from '../../privacy/suppression.js'
import type { KindredEvent } from '../../protocol/event-schema.js'
import type { Db, Queryable } from '../../store/db.js'

export const REFRESH_MS = 2_000

interface WorkspaceSuppressions {
  /** hash → suppression ids holding it. */
  index: Map<string, string[]>
  /** Tombstones of deletion requests (hash → suppression ids). */
  tombstones: Map<string, string[]>
  rules: CompiledIdentityRules
}

export interface SuppressionMatcher {
  /** Whether the workspace has any suppression or tombstone now (cached; cheap). */
  active(workspaceId: string, clock: () => number): Promise<boolean>
  /** Drops the events of suppressed identifiers; returns the indexes kept. */
  filter(
    workspaceId: string,
    events: readonly KindredEvent[],
    clock: () => number,
  ): Promise<number[]>
  /** Indexes of events that carry an identifier of a deletion tombstone, and those hashes. */
  tombstoned(
    workspaceId: string,
    events: readonly KindredEvent[],
    clock: () => number,
    tx: Queryable,
  ): Promise<{ indexes: number[]; hashes: ReadonlySet<string> }>
  /** Reload now (after a change through this node's API). */
  invalidate(): Promise<void>
  /** Write the per-suppression drop counts accumulated since the last flush. */
  flush(): Promise<void>
  /**
   * The identity rules used to normalise identifiers of a workspace (as ingest does). Inside a
   * transaction pass it: PGlite has one connection, a query beside the transaction would wait.
   */
  rules(workspaceId: string, tx?: Queryable): Promise<CompiledIdentityRules>
}

const matchers = new WeakMap<Db | Queryable, SuppressionMatcher>()
const counters = new WeakMap<Registry, Counter>()

/** `kindred_events_suppressed_total`, registered once per registry. */
export function suppressedCounter(registry: Registry): Counter {
  let c = counters.get(registry)
  if (!c) {
    c = new Counter({
      name: 'kindred_events_suppressed_total',
      help: 'Events dropped at ingest because they carry a suppressed identifier',
      registers: [registry],
    })
    counters.set(registry, c)
  }
  return c
}

/** The one matcher of a store. */
export function suppressionMatcher(db: Db | Queryable): SuppressionMatcher {
  let m = matchers.get(db)
  if (!m) {
    m = createSuppressionMatcher(db)
    matchers.set(db, m)
  }
  return m
}

const defaultRules = compileIdentityRules(DEFAULT_IDENTITY_RULES)

function createSuppressionMatcher(db: Queryable): SuppressionMatcher {
  let state = new Map<string, WorkspaceSuppressions>()
  let signature: string | undefined
  let checkedAt = -Infinity
  let loading: Promise<void> | undefined
  const pendingCounts = new Map<string, { workspaceId: string; n: number; at: number }>()

  async function load(force: boolean, now: number, q: Queryable = db): Promise<void> {
    const sig = await q.query<{
      n: number | string
      latest: string | null
      soonest: string | null
    }>(
      `SELECT count(*) AS n, max(created_at)::text AS latest, min(expires_at)::text AS soonest
       FROM privacy_suppressions WHERE expires_at IS NULL OR expires_at > $1`,
      [new Date(now).toISOString()],
    )
    const row = sig.rows[0]
    const next = `${row?.n}|${row?.latest}|${row?.soonest}`
    checkedAt = now
    if (!force && next === signature) return
    const rows = await q.query<{
      workspace_id: string
      id: string
      identifier_hash: string
      reason: string
    }>(
      `SELECT workspace_id, id, identifier_hash, reason FROM privacy_suppressions
       WHERE expires_at IS NULL OR expires_at > $1`,
      [new Date(now).toISOString()],
    )
    const fresh = new Map<string, WorkspaceSuppressions>()
    for (const r of rows.rows) {
      let ws = fresh.get(r.workspace_id)
      if (!ws) {
        ws = { index: new Map(), tombstones: new Map(), rules: defaultRules }
        fresh.set(r.workspace_id, ws)
      }
      const target = r.reason === 'deletion' ? ws.tombstones : ws.index
      // A tombstone blocks ingest too: the deleted person must not come back mid-deletion.
      for (const map of target === ws.index ? [ws.index] : [ws.index, ws.tombstones]) {
        const list = map.get(r.identifier_hash)
        if (list) list.push(r.id)
        else map.set(r.identifier_hash, [r.id])
      }
    }
    if (fresh.size > 0) {
      const settings = await q.query<{ workspace_id: string; rules: unknown }>(
        'SELECT workspace_id, rules FROM identity_settings WHERE workspace_id = ANY($1::text[])',
        [[...fresh.keys()]],
      )
      for (const s of settings.rows) {
        const ws = fresh.get(s.workspace_id)
        if (ws) ws.rules = compileIdentityRules(parseIdentityRules(s.rules))
      }
    }
    state = fresh
    signature = next
  }

  async function current(now: number, tx?: Queryable): Promise<Map<string, WorkspaceSuppressions>> {
    if (tx && (signature === undefined || now - checkedAt >= REFRESH_MS)) {
      // Inside the processor's transaction: load on it (never beside it), and wait.
      await load(signature === undefined, now, tx)
    } else if (signature === undefined) {
      loading ??= load(true, now).finally(() => (loading = undefined))
      await loading
    } else if (now - checkedAt >= REFRESH_MS && !loading) {
      // Stale-while-revalidate: this request uses the list as it was at most REFRESH_MS ago.
      loading = Promise.all([load(false, now), flush()])
        .then(() => undefined)
        .catch(() => undefined)
        .finally(() => (loading = undefined))
    }
    return state
  }

  function identifiersOf(event: KindredEvent, rules: CompiledIdentityRules): HashableIdentifier[] {
    const extracted = extractIdentifiers(event, rules)
    const out = extracted.identifiers
    if (extracted.previousId !== undefined) {
      out.push({ type: 'user_id', value: extracted.previousId })
      out.push({ type: 'anonymous_id', value: extracted.previousId })
    }
    return out
  }

  async function flush(): Promise<void> {
    if (pendingCounts.size === 0) return
    const rows = [...pendingCounts.entries()].map(([id, c]) => ({
      workspace_id: c.workspaceId,
      id,
      n: c.n,
      at: new Date(c.at).toISOString(),
    }))
    pendingCounts.clear()
    await db.query(
      `UPDATE privacy_suppressions s SET dropped_count = s.dropped_count + x.n,
         last_dropped_at = greatest(coalesce(s.last_dropped_at, x.at), x.at)
       FROM jsonb_to_recordset($1::jsonb) AS x(workspace_id text, id text, n bigint, at timestamptz)
       WHERE s.workspace_id = x.workspace_id AND s.id = x.id`,
      [JSON.stringify(rows)],
    )
  }

  return {
    async active(workspaceId, clock) {
      const ws = (await current(clock())).get(workspaceId)
      return ws !== undefined && (ws.index.size > 0 || ws.tombstones.size > 0)
    },
    async filter(workspaceId, events, clock) {
      const now = clock()
      const ws = (await current(now)).get(workspaceId)
      const all = events.map((_, i) => i)
      if (!ws || ws.index.size === 0) return all
      const { dropped, bySuppression } = matchSuppressed(
        events.length,
        (i) => identifiersOf(events[i] as KindredEvent, ws.rules),
        ws.index,
      )
      for (const [id, n] of bySuppression) {
        const c = pendingCounts.get(id)
        if (c) {
          c.n += n
          c.at = now
        } else pendingCounts.set(id, { workspaceId, n, at: now })
      }
      return dropped.size === 0 ? all : all.filter((i) => !dropped.has(i))
    },
    async tombstoned(workspaceId, events, clock, tx) {
      const ws = (await current(clock(), tx)).get(workspaceId)
      if (!ws || ws.tombstones.size === 0) return { indexes: [], hashes: new Set() }
      const { dropped } = matchSuppressed(
        events.length,
        (i) => identifiersOf(events[i] as KindredEvent, ws.rules),
        ws.tombstones,
      )
      return { indexes: [...dropped], hashes: new Set(ws.tombstones.keys()) }
    },
    async invalidate() {
      await loading
      await load(true, Date.now())
    },
    flush,
    async rules(workspaceId, tx) {
      const res = await (tx ?? db).query<{ rules: unknown }>(
        'SELECT rules FROM identity_settings WHERE workspace_id = $1',
        [workspaceId],
      )
      const row = res.rows[0]
      return row ? compileIdentityRules(parseIdentityRules(row.rules)) : defaultRules
    },
  }
}
