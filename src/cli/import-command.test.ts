import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parseImportArgs } from './import-command.js'

const dir = mkdtempSync(path.join(tmpdir(), 'kindred-import-args-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('parseImportArgs', () => {
  it('merges --map flags over the mapping file and infers the format from the name', () => {
    const mappingFile = path.join(dir, 'm.json')
    writeFileSync(
      mappingFile,
      JSON.stringify({ columns: { id: 'userId', mail: 'traits.email' }, unmapped: 'ignore' }),
    )
    const r = parseImportArgs(
      [
        '--source',
        'src_1',
        '--kind',
        'profiles',
        '--mapping',
        mappingFile,
        '--map',
        'mail=traits.work_email',
        '--map',
        'age=traits.age:integer',
        '--resume',
        'data/people.csv',
      ],
      { KINDRED_DATA_DIR: '/var/kindred', KINDRED_ADMIN_TOKEN: 'tok' },
    )
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(r.options).toMatchObject({
      file: 'data/people.csv',
      sourceId: 'src_1',
      kind: 'profiles',
      format: 'csv',
      resume: true,
      dataDir: '/var/kindred',
      rejectsPath: 'data/people.rejects.jsonl',
      adminToken: 'tok',
      mapping: {
        unmapped: 'ignore',
        columns: {
          id: 'userId',
          mail: 'traits.work_email',
          age: { to: 'traits.age', type: 'integer' },
        },
      },
    })
  })

  it('takes a constant event name, an explicit format and rejects path', () => {
    const r = parseImportArgs(
      [
        '--source=src_2',
        '--kind=events',
        '--format=jsonl',
        '--event',
        'Order Completed',
        '--rejects',
        '/tmp/bad.jsonl',
        'orders.txt',
      ],
      {},
    )
    expect(r.ok && r.options).toMatchObject({
      format: 'jsonl',
      rejectsPath: '/tmp/bad.jsonl',
      mapping: { event: 'Order Completed' },
      dataDir: '.kindred',
    })
  })

  it.each([
    [['--kind', 'profiles', 'a.csv'], '--source'],
    [['--source', 's', '--kind', 'people', 'a.csv'], '--kind'],
    [['--source', 's', '--kind', 'events', 'a.txt'], '--format'],
    [['--source', 's', '--kind', 'events'], 'exactly one file'],
    [['--source', 's', '--kind', 'events', '--map', 'x=nowhere', 'a.csv'], '--map'],
    [
      ['--source', 's', '--kind', 'events', '--mapping', '/nonexistent.json', 'a.csv'],
      'cannot read',
    ],
    [['--source', 's', '--kind', 'events', '--batch-size', '0', 'a.csv'], '--batch-size'],
    [['--source', 's', '--bogus', 'a.csv'], 'bogus'],
  ])('%j fails with a message about %s and the usage', (argv, expected) => {
    const r = parseImportArgs(argv, {})
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(r.error).toContain(expected)
      expect(r.error).toContain('usage: kindred import')
    }
  })
})
