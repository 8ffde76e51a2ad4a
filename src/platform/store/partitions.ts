import type { Queryable } from './db.js'

/**
 * Monthly partitions of `events`, created ahead of time (on start, and by the scheduler) so new
 * events land in their month's partition: retention then drops whole partitions instead of
 * deleting rows. Months that already hold rows in the default partition (e.g. a historical
 * import) are left there: attaching them would have to move rows under a lock.
 */
export async function ensureEventPartitions(
  db: Queryable,
  now: Date,
  monthsBack = 1,
  monthsAhead = 3,
): Promise<string[]> {
  const created: string[] = []
  for (let offset = -monthsBack; offset <= monthsAhead; offset++) {
    const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1))
    const end = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1))
    const name = `events_${start.getUTCFullYear()}_${String(start.getUTCMonth() + 1).padStart(2, '0')}`
    const exists = await db.query('SELECT 1 FROM pg_class WHERE relname = $1', [name])
    if (exists.rows.length > 0) continue
    const occupied = await db.query(
      'SELECT 1 FROM events_default WHERE "timestamp" >= $1 AND "timestamp" < $2 LIMIT 1',
      [start.toISOString(), end.toISOString()],
    )
    if (occupied.rows.length > 0) continue
    // Names and bounds come from dates we computed, never from input.
    await db.query(
      `CREATE TABLE IF NOT EXISTS ${name} PARTITION OF events FOR VALUES FROM ('${start.toISOString()}') TO ('${end.toISOString()}')`,
    )
    created.push(name)
  }
  return created
}
