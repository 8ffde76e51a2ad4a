/**
 * Maintenance on real lake tables (no store: rows are staged as the writer stages them):
 * compaction rearranges (dataChange false), profile compaction keeps each profile's latest
 * version, vacuum waits for the retention, and schema evolution adds columns that older files
 * read as null.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compactPartition, dropSupersededProfiles } from './lake-maintenance.js'
import { openLakeTable, type LakeTable } from './lake-table.js'
import { LAKE_TABLES, type LakeTableSpec } from './lake-tables.js'
import { openDuck, selectFromFiles, writeRows, type Duck } from './parquet-files.js'
import { commitFileName } from './delta-protocol.js'

const spec = (name: string) => LAKE_TABLES.find((t) => t.name === name) as LakeTableSpec

describe('lake maintenance', () => {
  let duck: Duck
  let root: string
  let clock = 1_700_000_000_000
  const now = () => clock
  let n = 0

  beforeAll(async () => {
    duck = await openDuck()
    root = mkdtempSync(path.join(tmpdir(), 'kindred-lake-maint-'))
  })
  afterAll(() => {
    duck.close()
    rmSync(root, { recursive: true, force: true })
  })

  const open = (s: LakeTableSpec) =>
    openLakeTable({ root: path.join(root, `lake${n++}`), spec: s, duck, now })

  async function append(t: LakeTable, rows: Record<string, unknown>[]): Promise<void> {
    const files = await writeRows(duck, t.spec, t.delta.dir, rows, now)
    await t.delta.commit(() => files.map((f) => ({ add: f.add })))
  }

  const lastCommit = (t: LakeTable) =>
    readFileSync(
      path.join(t.delta.dir, '_delta_log', commitFileName(t.delta.snapshot().version)),
      'utf8',
    )
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, { dataChange?: boolean }>)

  async function count(t: LakeTable, where = 'true'): Promise<number> {
    const files = [...t.delta.snapshot().files.values()].map((a) => t.delta.absolute(a.path))
    if (files.length === 0) return 0
    const select = await selectFromFiles(duck, t.spec.columns, files)
    const [r] = await duck.all(`SELECT count(*)::INTEGER AS n FROM (${select}) WHERE ${where}`)
    return Number(r?.n)
  }

  const event = (i: number) => ({
    workspace_id: 'w',
    event_date: '2024-05-01',
    message_id: `m${i}`,
    source_id: 's',
    type: 'track',
    timestamp: '2024-05-01T00:00:00.000Z',
    received_at: '2024-05-01T00:00:00.000Z',
    properties: `{"i": ${i}}`,
    revenue: '1.25',
  })

  it('compacts a partition of small files into one, rows unchanged, dataChange false', async () => {
    const t = await open(spec('events'))
    for (let i = 0; i < 10; i++) await append(t, [event(3 * i), event(3 * i + 1), event(3 * i + 2)])
    const before = [...t.delta.snapshot().files.values()]
    expect(before.length).toBe(10)
    const replaced = await compactPartition({ duck, now }, t, before[0]!.partitionValues, {
      minFiles: 10,
      smallBytes: 1 << 30,
    })
    expect(replaced).toBe(10)
    expect(t.delta.snapshot().files.size).toBe(1)
    expect(await count(t)).toBe(30)
    const actions = lastCommit(t)
    expect(actions.filter((a) => a.remove).every((a) => a.remove?.dataChange === false)).toBe(true)
    expect(actions.find((a) => a.add)?.add?.dataChange).toBe(false)
    expect(actions.find((a) => a.commitInfo)).toBeDefined()

    // Vacuum waits for the retention: the replaced files stay on disk until then.
    for (const f of before) expect(existsSync(t.delta.absolute(f.path))).toBe(true)
    expect(await t.delta.vacuum(clock - 60_000)).toEqual([])
    clock += 120_000
    expect((await t.delta.vacuum(clock - 60_000)).length).toBe(10)
    for (const f of before) expect(existsSync(t.delta.absolute(f.path))).toBe(false)
  })

  it('keeps only the latest version of each profile when compacting profiles', async () => {
    const t = await open(spec('profiles'))
    const version = (id: string, v: number, date: string) => ({
      workspace_id: 'w',
      changed_date: date,
      profile_id: id,
      version: String(v),
      changed_at: `${date}T00:00:00.000Z`,
      traits: `{"v": ${v}}`,
      identities: [],
      segments: [],
    })
    for (let v = 1; v <= 10; v++) await append(t, [version('a', v, '2024-05-01')])
    await append(t, [version('b', 11, '2024-05-01'), version('a', 12, '2024-05-02')])
    const day1 = { workspace_id: 'w', changed_date: '2024-05-01' }
    await compactPartition({ duck, now }, t, day1, { minFiles: 10, smallBytes: 1 << 30 })
    // a's latest version is on another day: none of its versions of day 1 is kept; b's is.
    expect(await count(t)).toBe(2)
    expect(await count(t, `profile_id = 'a' AND version = 12`)).toBe(1)
    expect(await count(t, `profile_id = 'b'`)).toBe(1)
    // Rows left the table: that is a change of data.
    expect(lastCommit(t).find((a) => a.add)?.add?.dataChange).toBe(true)

    // A later version in a big file supersedes a's; the periodic pass drops the stale one.
    await append(t, [version('a', 13, '2024-05-03')])
    await dropSupersededProfiles({ duck, now }, t, 'w')
    expect(await count(t, `profile_id = 'a'`)).toBe(1)
    expect(await count(t, `profile_id = 'a' AND version = 13`)).toBe(1)
  })

  it('evolves the schema additively: a new column comes with a new metaData, old files read it as null', async () => {
    const full = spec('events')
    const older: LakeTableSpec = {
      ...full,
      columns: full.columns.filter((c) => c.name !== 'currency' && c.name !== 'discount'),
    }
    const dir = path.join(root, `lake${n++}`)
    const v1 = await openLakeTable({ root: dir, spec: older, duck, now })
    await append(v1, [event(1)])
    const v2 = await openLakeTable({ root: dir, spec: full, duck, now })
    const s = v2.delta.snapshot()
    expect(s.version).toBe(2)
    const fields = (JSON.parse(s.metadata?.schemaString ?? '{}') as { fields: { name: string }[] })
      .fields
    expect(fields.map((f) => f.name).slice(-2)).toEqual(['discount', 'currency'])
    expect(lastCommit(v2).find((a) => a.metaData)).toBeDefined()
    await append(v2, [{ ...event(2), currency: 'EUR' }])
    expect(await count(v2)).toBe(2)
    expect(await count(v2, 'currency IS NULL')).toBe(1)
    // Reopening with the same schema commits nothing more.
    const again = await openLakeTable({ root: dir, spec: full, duck, now })
    expect(again.delta.snapshot().version).toBe(3)
    // Dropping a column is refused.
    await expect(openLakeTable({ root: dir, spec: older, duck, now })).rejects.toThrow(
      /not additive/,
    )
  })
})
