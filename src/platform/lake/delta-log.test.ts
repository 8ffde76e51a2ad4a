/**
 * The Delta log on disk: commits are exclusive (a second writer of a version re-reads and goes
 * next), a checkpoint every 10 commits says what the JSON commits say, and a reader starts from
 * `_last_checkpoint`. Also the pure parts: reconciliation, paths, stats text.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openDeltaTable } from './delta-log.js'
import {
  additiveChange,
  applyActions,
  emptySnapshot,
  encodeStats,
  fromActionPath,
  partitionSegment,
  toActionPath,
  type Action,
  type AddAction,
} from './delta-protocol.js'
import { openDuck, type Duck } from './parquet-files.js'

const add = (p: string, size = 1): { add: AddAction } => ({
  add: {
    path: p,
    partitionValues: { workspace_id: 'w' },
    size,
    modificationTime: 1,
    dataChange: true,
  },
})

describe('the Delta log on disk', () => {
  let duck: Duck
  let root: string
  let n = 0
  const fresh = () => path.join(root, `t${n++}`)

  beforeAll(async () => {
    duck = await openDuck()
    root = mkdtempSync(path.join(tmpdir(), 'kindred-delta-'))
  })
  afterAll(() => {
    duck.close()
    rmSync(root, { recursive: true, force: true })
  })

  const setup: Action[] = [
    { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
    {
      metaData: {
        id: 'id',
        format: { provider: 'parquet', options: {} },
        schemaString: '{"type":"struct","fields":[]}',
        partitionColumns: ['workspace_id'],
        configuration: {},
      },
    },
  ]

  it('checkpoints every 10 commits, and a reader from the checkpoint sees what the commits say', async () => {
    const dir = fresh()
    const t = await openDeltaTable({ dir, duck })
    await t.commit(() => setup)
    for (let i = 1; i <= 12; i++) {
      await t.commit(() => [
        add(`f${i}.parquet`, i),
        ...(i % 3 === 0
          ? [{ remove: { path: `f${i - 1}.parquet`, deletionTimestamp: i, dataChange: true } }]
          : []),
        { txn: { appId: 'app', version: i } },
      ])
    }
    const log = path.join(dir, '_delta_log')
    const names = readdirSync(log)
    expect(names).toContain('00000000000000000010.checkpoint.parquet')
    expect(JSON.parse(readFileSync(path.join(log, '_last_checkpoint'), 'utf8'))).toMatchObject({
      version: 10,
    })
    // Versions 11 and 12 after the checkpoint; a new reader replays only those.
    const reread = await openDeltaTable({ dir, duck })
    const s = reread.snapshot()
    expect(s.version).toBe(12)
    expect([...s.files.keys()].sort()).toEqual([...t.snapshot().files.keys()].sort())
    expect(s.files.get('f12.parquet')?.size).toBe(12)
    expect(s.txns.get('app')?.version).toBe(12)
    expect(s.metadata?.partitionColumns).toEqual(['workspace_id'])
    expect(s.protocol).toEqual({ minReaderVersion: 1, minWriterVersion: 2 })
    expect(s.tombstones.has('f8.parquet')).toBe(true)
    // A JSON-only replay (no checkpoint) agrees.
    const json = emptySnapshot()
    for (let v = 0; v <= 12; v++) {
      const text = readFileSync(path.join(log, `${String(v).padStart(20, '0')}.json`), 'utf8')
      applyActions(
        json,
        v,
        text
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Action),
      )
    }
    expect([...json.files.keys()].sort()).toEqual([...s.files.keys()].sort())
  })

  it('a version is taken once: the second writer reads the first one and commits after it', async () => {
    const dir = fresh()
    const a = await openDeltaTable({ dir, duck })
    await a.commit(() => setup)
    const b = await openDeltaTable({ dir, duck })
    await a.commit(() => [add('from-a.parquet')])
    const seen: number[] = []
    const version = await b.commit((s) => {
      seen.push(s.version)
      return [add('from-b.parquet')]
    })
    // b planned on version 0, lost version 1 to a, planned again on 1 and took 2.
    expect(seen).toEqual([0, 1])
    expect(version).toBe(2)
    expect([...b.snapshot().files.keys()].sort()).toEqual(['from-a.parquet', 'from-b.parquet'])
    // A plan that finds its work done commits nothing.
    expect(await a.commit((s) => (s.files.has('from-b.parquet') ? null : []))).toBeNull()
  })

  it('ignores what a crash leaves in _delta_log (temporary commits) and cleans orphan data files', async () => {
    const dir = fresh()
    const t = await openDeltaTable({ dir, duck })
    await t.commit(() => [...setup, add('workspace_id=w/live.parquet')])
    writeFileSync(path.join(dir, '_delta_log', '.tmp-deadbeef'), '{"add":{"path":"torn')
    const partition = path.join(dir, 'workspace_id=w')
    mkdirSync(partition, { recursive: true })
    writeFileSync(path.join(partition, 'live.parquet'), 'x')
    writeFileSync(path.join(partition, 'orphan.parquet'), 'x')
    const reread = await openDeltaTable({ dir, duck })
    expect(reread.snapshot().version).toBe(0)
    expect(await reread.removeOrphans(Date.now() + 1)).toEqual(['workspace_id=w/orphan.parquet'])
    expect(readdirSync(partition)).toEqual(['live.parquet'])
  })
})

describe('Delta protocol pieces', () => {
  it('escapes partition values for paths and encodes action paths as URIs', () => {
    expect(partitionSegment('workspace_id', 'acme-1')).toBe('workspace_id=acme-1')
    expect(partitionSegment('workspace_id', 'a:b/c')).toBe('workspace_id=a%3Ab%2Fc')
    const rel = `${partitionSegment('workspace_id', 'a:b')}/part-0.parquet`
    expect(toActionPath(rel)).toBe('workspace_id=a%253Ab/part-0.parquet')
    expect(fromActionPath(toActionPath(rel))).toBe(rel)
  })

  it('writes decimal and integer statistics exactly, strings as JSON strings', () => {
    const text = encodeStats({
      numRecords: 2,
      minValues: { revenue: { raw: '0.100000000' }, type: 'track' },
      maxValues: { revenue: { raw: '12345678901234567890.123456789' } },
      nullCount: { revenue: 0 },
    })
    expect(text).toBe(
      '{"numRecords":2,"minValues":{"revenue":0.100000000,"type":"track"},"maxValues":{"revenue":12345678901234567890.123456789},"nullCount":{"revenue":0}}',
    )
    expect(JSON.parse(text)).toMatchObject({ numRecords: 2 })
  })

  it('accepts only additive schema changes', () => {
    const f = (name: string, type: 'string' | 'long' = 'string') => ({
      name,
      type,
      nullable: true,
      metadata: {},
    })
    expect(additiveChange([f('a')], [f('a'), f('b')])).toEqual({ ok: true, added: [f('b')] })
    expect(additiveChange([f('a'), f('b')], [f('a')])).toMatchObject({ ok: false })
    expect(additiveChange([f('a')], [f('a', 'long')])).toMatchObject({ ok: false })
  })
})
