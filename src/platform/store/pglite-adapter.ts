import { PGlite, parse as pgliteParse, protocol } from '@electric-sql/pglite'
import { LRUCache } from 'lru-cache'
import type { Db, QueryResult, Queryable } from './db.js'

const { serialize } = protocol

export interface PgliteOptions {
  /**
   * Named prepared statements kept on the connection (0: none). A statement text seen twice is
   * prepared and then only bound and executed: PGlite plans each unnamed statement again, and on
   * its WASM build planning costs about as much as running a point lookup (bench/lookup).
   */
  preparedStatements?: number
}

interface Prepared {
  name: string
  /** Parameter type oids, from Describe: they pick PGlite's serializer for each value. */
  paramTypes: number[]
}

/** Texts seen once are remembered up to this many, least recently seen out first. */
const SEEN_ONCE_MAX = 2_000

/**
 * Embedded Postgres (WASM) in the data dir: zero setup. One connection, so PGlite itself
 * serialises queries; `transaction` holds it for the whole transaction.
 */
export async function openPgliteDb(
  dataDir: string | undefined,
  options: PgliteOptions = {},
): Promise<Db> {
  const pg = dataDir === undefined ? new PGlite() : new PGlite(dataDir)
  await pg.waitReady
  const maxPrepared = options.preparedStatements ?? 256
  // Statement texts → their prepared statement, least recently used out first. An evicted or
  // forgotten statement is closed on the connection at the next `prepare`, which runs inside
  // PGlite's exclusive lock (lru-cache's dispose is synchronous; closing is a round trip).
  const toClose: string[] = []
  const prepared =
    maxPrepared > 0
      ? new LRUCache<string, Prepared>({ max: maxPrepared, dispose: (p) => toClose.push(p.name) })
      : undefined
  const seenOnce = new LRUCache<string, true>({ max: SEEN_ONCE_MAX })
  let counter = 0

  const step = (message: Uint8Array) => pg.execProtocolStream(message, { syncToFs: false })

  /** Parse + Describe of a new named statement; closes the ones evicted since the last call. */
  async function prepare(cache: LRUCache<string, Prepared>, text: string): Promise<Prepared> {
    const name = `kindred_${++counter}`
    let described: Awaited<ReturnType<typeof step>> = []
    try {
      await step(serialize.parse({ name, text }))
      described = await step(serialize.describe({ type: 'S', name }))
    } finally {
      await step(serialize.sync())
    }
    const statement = { name, paramTypes: pgliteParse.parseDescribeStatementResults(described) }
    cache.set(text, statement)
    for (let old = toClose.shift(); old !== undefined; old = toClose.shift()) {
      try {
        await step(serialize.close({ type: 'S', name: old }))
      } finally {
        await step(serialize.sync())
      }
    }
    return statement
  }

  /** Bind + Execute of a prepared statement, parsed into rows as PGlite's own `query` does. */
  async function runPrepared(cache: LRUCache<string, Prepared>, text: string, params: unknown[]) {
    const statement = cache.get(text) ?? (await prepare(cache, text))
    const { name, paramTypes } = statement
    const values = params.map((value, i) => {
      if (value === null || value === undefined) return null
      const serializer = pg.serializers[paramTypes[i] ?? 0]
      return serializer ? serializer(value) : String(value)
    })
    const messages: Awaited<ReturnType<typeof step>> = []
    try {
      messages.push(...(await step(serialize.bind({ statement: name, values }))))
      messages.push(...(await step(serialize.describe({ type: 'P' }))))
      messages.push(...(await step(serialize.execute({}))))
    } finally {
      messages.push(...(await step(serialize.sync())))
    }
    const [result] = pgliteParse.parseResults(messages, pg.parsers)
    return result as { rows: unknown[]; affectedRows?: number }
  }

  /** Whether to run `text` as a prepared statement: from its second sighting on. */
  function preparable(text: string): boolean {
    if (prepared === undefined) return false
    if (prepared.has(text)) return true
    if (seenOnce.delete(text)) return true
    seenOnce.set(text, true)
    return false
  }

  async function query(
    text: string,
    params: unknown[] | undefined,
    inTransaction: boolean,
    unnamed: (
      text: string,
      params?: unknown[],
    ) => Promise<{ rows: unknown[]; affectedRows?: number }>,
  ) {
    if (prepared === undefined || !preparable(text)) return unnamed(text, params)
    const run = () => pg._runExclusiveQuery(() => runPrepared(prepared, text, params ?? []))
    try {
      if (inTransaction) return await run()
      const res = await pg._runExclusiveTransaction(run)
      await pg.syncToFs()
      return res
    } catch (err) {
      // A table changed shape under a prepared statement ("cached plan must not change result
      // type", after DDL): forget it, and outside a transaction run this call unprepared.
      if ((err as { code?: string }).code !== '0A000') throw err
      prepared.delete(text)
      if (inTransaction) throw err
      return unnamed(text, params)
    }
  }

  const wrap = (
    q: {
      query: (
        text: string,
        params?: unknown[],
      ) => Promise<{ rows: unknown[]; affectedRows?: number }>
      exec: (text: string) => Promise<unknown>
    },
    inTransaction: boolean,
  ): Queryable => ({
    async exec(text: string) {
      await q.exec(text)
    },
    async query<R>(text: string, params?: unknown[]): Promise<QueryResult<R>> {
      const res = await query(text, params, inTransaction, (t, p) => q.query(t, p))
      return { rows: res.rows as R[], rowCount: res.affectedRows ?? res.rows.length }
    },
  })
  const base = wrap(pg, false)
  return {
    dialect: 'pglite',
    query: base.query,
    exec: base.exec,
    transaction: (fn) => pg.transaction((tx) => fn(wrap(tx, true))),
    close: () => pg.close(),
  }
}
