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
 *
 * Hashes are keyed (src/govern/core/privacy/suppression.ts): the privacy module creates the matcher with the
 * instance's suppression key before the HTTP routes ask for it. Legacy plain-sha256 rows are
 * checked too, but only for workspaces that still have some. Keyed rows written under another
 * key (a node configured with a different KINDRED_SECRET_KEY) cannot be checked here: the
 * workspace's ingest answers 503 instead of letting suppressed people through (ADR 0007).
 */
import { Counter, type Registry } from 'prom-client'
import {
  compileIdentityRules,
  DEFAULT_IDENTITY_RULES,
  extractIdentifiers,
  parseIdentityRules,
  type CompiledIdentityRules,
} from '../../../unify/core/index.js'
import {
  identifierHash,
  legacyIdentifierHash,
  matchSuppressed,
  suppressionLookups,
  type HashableIdentifier,
  type HashScheme,
  type SuppressionKey,
} from '../../core/privacy/suppression.js'
import type { KindredEvent } from '../../../protocol/event-schema.js'
import { KindredError } from '../../../protocol/errors.js'
import type { Db, Queryable } from '../../../platform/store/db.js'

export const REFRESH_MS = 2_000

/** hash → suppression ids holding it, per scheme. */
interface SchemeIndexes {
  keyed: Map<string, string[]>
  legacy: Map<string, string[]>
}

interface WorkspaceSuppressions {
  /** Everything that blocks ingest: suppressions and tombstones. */
  blocked: SchemeIndexes
  /** Tombstones of deletion requests only. */
  tombstones: SchemeIndexes
  /** Keyed rows of another key: this node cannot tell whom they block. */
  foreign: number
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
  /**
   * Indexes of events that carry an identifier of a deletion tombstone, and a test of whether an
   * identifier (normalised) is tombstoned.
   */
  tombstoned(
    workspaceId: string,
    events: readonly KindredEvent[],
    clock: () => number,
    tx: Queryable,
  ): Promise<{ indexes: number[]; isTombstoned: (identifier: HashableIdentifier) => boolean }>
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

const matchers = new WeakMap<Db | Queryable, { matcher: SuppressionMatcher; keyId?: string }>()
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

/**
 * The one matcher of a store. The first caller with a key sets it (the privacy module, before the
 * HTTP routes are registered); later callers may omit it. A matcher without a key still checks
 * legacy rows and treats every keyed row as unreadable (fail closed).
 */
export function suppressionMatcher(db: Db | Queryable, key?: SuppressionKey): SuppressionMatcher {
  const m = matchers.get(db)
  if (m) {
    if (key !== undefined && m.keyId !== undefined && m.keyId !== key.id)
      throw new Error('one store, two suppression keys: pass the same instance secret everywhere')
    if (key !== undefined && m.keyId === undefined)
      throw new Error('the suppression matcher was created without a key: create it with one first')
    return m.matcher
  }
  const matcher = createSuppressionMatcher(db, key)
  matchers.set(db, { matcher, ...(key ? { keyId: key.id } : {}) })
  return matcher
}

const defaultRules = compileIdentityRules(DEFAULT_IDENTITY_RULES)

const emptyIndexes = (): SchemeIndexes => ({ keyed: new Map(), legacy: new Map() })

function add(indexes: SchemeIndexes, scheme: HashScheme, hash: string, id: string): void {
  const map = scheme === 'sha256' ? indexes.legacy : indexes.keyed
  const list = map.get(hash)
  if (list) list.push(id)
  else map.set(hash, [id])
}

function createSuppressionMatcher(
  db: Queryable,
  key: SuppressionKey | undefined,
): SuppressionMatcher {
  let state = new Map<string, WorkspaceSuppressions>()
  let signature: string | undefined
  let checkedAt = -Infinity
  let loading: Promise<void> | undefined
  const pendingCounts = new Map<string, { workspaceId: string; n: number; at: number }>()

  async function load(force: boolean, now: number, q: Queryable = db): Promise<void> {
    const sig = await q.query<{
      n: number | string
      legacy: number | string
      latest: string | null
      soonest: string | null
    }>(
      // `legacy` changes when a legacy row is rewritten under the key (same count, same dates).
      `SELECT count(*) AS n, count(*) FILTER (WHERE scheme = 'sha256') AS legacy,
         max(created_at)::text AS latest, min(expires_at)::text AS soonest
       FROM privacy_suppressions WHERE expires_at IS NULL OR expires_at > $1`,
      [new Date(now).toISOString()],
    )
    const row = sig.rows[0]
    const next = `${row?.n}|${row?.legacy}|${row?.latest}|${row?.soonest}`
    checkedAt = now
    if (!force && next === signature) return
    const rows = await q.query<{
      workspace_id: string
      id: string
      identifier_hash: string
      scheme: HashScheme
      key_id: string | null
      reason: string
    }>(
      `SELECT workspace_id, id, identifier_hash, scheme, key_id, reason FROM privacy_suppressions
       WHERE expires_at IS NULL OR expires_at > $1`,
      [new Date(now).toISOString()],
    )
    const fresh = new Map<string, WorkspaceSuppressions>()
    for (const r of rows.rows) {
      let ws = fresh.get(r.workspace_id)
      if (!ws) {
        ws = {
          blocked: emptyIndexes(),
          tombstones: emptyIndexes(),
          foreign: 0,
          rules: defaultRules,
        }
        fresh.set(r.workspace_id, ws)
      }
      if (r.scheme !== 'sha256' && r.key_id !== key?.id) {
        ws.foreign++
        continue
      }
      // A tombstone blocks ingest too: the deleted person must not come back mid-deletion.
      add(ws.blocked, r.scheme, r.identifier_hash, r.id)
      if (r.reason === 'deletion') add(ws.tombstones, r.scheme, r.identifier_hash, r.id)
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

  /** Keyed rows this node cannot check: refuse rather than let a suppressed person through. */
  function ensureReadable(workspaceId: string, ws: WorkspaceSuppressions): void {
    if (ws.foreign === 0) return
    throw new KindredError(
      'UNAVAILABLE',
      `this node cannot check the suppression list of workspace ${workspaceId}: ${ws.foreign} entr${ws.foreign === 1 ? 'y was' : 'ies were'} written under another secret key (set the same KINDRED_SECRET_KEY on every node)`,
      { headers: { 'Retry-After': '5' } },
    )
  }

  function lookups(indexes: SchemeIndexes) {
    if (key === undefined) return [{ hash: legacyIdentifierHash, index: indexes.legacy }]
    return suppressionLookups(key, indexes.keyed, indexes.legacy)
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
      // A workspace with only unreadable rows is active too: `filter` then refuses.
      return (await current(clock())).has(workspaceId)
    },
    async filter(workspaceId, events, clock) {
      const now = clock()
      const ws = (await current(now)).get(workspaceId)
      const all = events.map((_, i) => i)
      if (!ws) return all
      ensureReadable(workspaceId, ws)
      const { dropped, bySuppression } = matchSuppressed(
        events.length,
        (i) => identifiersOf(events[i] as KindredEvent, ws.rules),
        lookups(ws.blocked),
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
      if (!ws) return { indexes: [], isTombstoned: () => false }
      // Fail closed here too: the batch is retried (and logged) until the node's key is fixed.
      ensureReadable(workspaceId, ws)
      const t = ws.tombstones
      if (t.keyed.size === 0 && t.legacy.size === 0)
        return { indexes: [], isTombstoned: () => false }
      const { dropped } = matchSuppressed(
        events.length,
        (i) => identifiersOf(events[i] as KindredEvent, ws.rules),
        lookups(t),
      )
      return {
        indexes: [...dropped],
        isTombstoned: (i) =>
          (key !== undefined && t.keyed.has(identifierHash(i, key))) ||
          (t.legacy.size > 0 && t.legacy.has(legacyIdentifierHash(i))),
      }
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
