import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parse } from 'csv-parse/sync'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseLinkageArgs, runDedupe, runLink } from './linkage-commands.js'

let dir: string
const file = (name: string): string => path.join(dir, name)

const GIVEN = ['anna', 'ben', 'carla', 'dev', 'emma', 'finn', 'gia', 'hugo', 'ivy', 'jack', 'kira']
const SURNAMES = ['abbott', 'baker', 'chen', 'dawson', 'evans', 'fischer', 'garcia', 'hughes']
const STREETS = ['high street', 'maltby circuit', 'giblin street', 'goldfinch road', 'bay road']

/** 60 people, FEBRL-style (", " separators); people 0–9 also have a typo'd duplicate. */
function people(): { header: string; rows: string[][]; dups: string[][] } {
  const header =
    'rec_id, given_name, surname, street_number, address_1, suburb, postcode, date_of_birth'
  const rows: string[][] = []
  for (let i = 0; i < 60; i++) {
    rows.push([
      `rec-${i}-org`,
      GIVEN[i % GIVEN.length]!,
      SURNAMES[(i * 3) % SURNAMES.length]! + (i >= 8 ? String.fromCharCode(97 + (i % 26)) : ''),
      String(1 + ((i * 7) % 90)),
      STREETS[i % STREETS.length]!,
      `town${i % 13}`,
      String(2000 + ((i * 53) % 700)),
      `19${String(40 + (i % 55)).padStart(2, '0')}${String(1 + (i % 12)).padStart(2, '0')}${String(1 + ((i * 5) % 28)).padStart(2, '0')}`,
    ])
  }
  const dups = rows.slice(0, 10).map((r, k) => {
    const d = [...r]
    d[0] = `rec-${k}-dup-0`
    d[2] = d[2]!.slice(0, -1) + (d[2]!.endsWith('e') ? 'a' : 'e') // surname typo
    if (k % 2 === 0) d[4] = '' // missing address
    return d
  })
  return { header, rows, dups }
}

const csv = (header: string, rows: string[][]): string =>
  [header, ...rows.map((r) => r.join(', '))].join('\n') + '\n'

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'kindred-linkage-cli-'))
  const { header, rows, dups } = people()
  writeFileSync(file('people.csv'), csv(header, [...rows, ...dups]))
  writeFileSync(file('left.csv'), csv(header, rows))
  writeFileSync(file('right.csv'), csv(header, dups))
})

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

const readOut = (name: string): Record<string, string>[] =>
  parse(readFileSync(file(name)), { columns: true }) as Record<string, string>[]

describe('runDedupe', () => {
  it('writes every input row, in order, with a cluster_id', async () => {
    const summary = await runDedupe({
      input: file('people.csv'),
      idColumn: 'rec_id',
      out: file('clusters.csv'),
    })
    const out = readOut('clusters.csv')
    expect(summary.records).toBe(70)
    expect(out).toHaveLength(70)
    expect(Object.keys(out[0]!)).toEqual([
      'rec_id',
      'given_name',
      'surname',
      'street_number',
      'address_1',
      'suburb',
      'postcode',
      'date_of_birth',
      'cluster_id',
    ])
    expect(out[0]!.given_name).toBe('anna') // trimmed
    expect(out[60]!.rec_id).toBe('rec-0-dup-0')
    expect(out.every((r) => r.cluster_id !== '')).toBe(true)
    const byId = new Map(out.map((r) => [r.rec_id!, r.cluster_id!]))
    let together = 0
    for (let k = 0; k < 10; k++) {
      if (byId.get(`rec-${k}-org`) === byId.get(`rec-${k}-dup-0`)) together++
    }
    expect(together).toBeGreaterThanOrEqual(8)
    expect(summary.clusters).toBe(new Set(out.map((r) => r.cluster_id)).size)
  })

  it('fails clearly on an unknown id column or config file', async () => {
    await expect(
      runDedupe({ input: file('people.csv'), idColumn: 'id', out: file('x.csv') }),
    ).rejects.toMatchObject({ code: 'LINKAGE_UNKNOWN_ID_COLUMN' })
    writeFileSync(file('bad-model.json'), JSON.stringify({ threshold: 7 }))
    await expect(
      runDedupe({
        input: file('people.csv'),
        idColumn: 'rec_id',
        config: file('bad-model.json'),
        out: file('x.csv'),
      }),
    ).rejects.toMatchObject({
      code: 'LINKAGE_BAD_CONFIG',
      message: expect.stringContaining('threshold'),
    })
    await expect(
      runDedupe({ input: file('missing.csv'), idColumn: 'rec_id', out: file('x.csv') }),
    ).rejects.toMatchObject({ code: 'LINKAGE_INPUT_UNREADABLE' })
  })
})

describe('runLink', () => {
  it('writes left_id,right_id,match_probability above the threshold', async () => {
    const summary = await runLink({
      left: file('left.csv'),
      right: file('right.csv'),
      idColumn: 'rec_id',
      out: file('pairs.csv'),
    })
    const text = readFileSync(file('pairs.csv'), 'utf8')
    expect(text.split('\n')[0]).toBe('left_id,right_id,match_probability')
    const out = readOut('pairs.csv')
    expect(out).toHaveLength(summary.matchedPairs)
    expect(summary.threshold).toBe(0.9)
    expect(out.every((r) => Number(r.match_probability) >= 0.9)).toBe(true)
    const correct = out.filter((r) => r.left_id!.split('-')[1] === r.right_id!.split('-')[1])
    expect(correct.length).toBeGreaterThanOrEqual(8)
  })

  it('respects --threshold', async () => {
    const all = await runLink({
      left: file('left.csv'),
      right: file('right.csv'),
      idColumn: 'rec_id',
      out: file('all.csv'),
      threshold: 0,
    })
    const everything = readOut('all.csv').map((r) => Number(r.match_probability))
    expect(everything).toHaveLength(all.candidatePairs)
    const sorted = [...everything].sort((a, b) => a - b)
    const t = sorted[Math.floor(sorted.length / 2)]!
    const some = await runLink({
      left: file('left.csv'),
      right: file('right.csv'),
      idColumn: 'rec_id',
      out: file('some.csv'),
      threshold: t,
    })
    const kept = readOut('some.csv').map((r) => Number(r.match_probability))
    expect(kept).toHaveLength(everything.filter((p) => p >= t).length)
    expect(some.matchedPairs).toBe(kept.length)
    expect(kept.every((p) => p >= t)).toBe(true)
  })
})

describe('parseLinkageArgs', () => {
  it('parses valid dedupe and link flags', () => {
    expect(
      parseLinkageArgs('dedupe', ['--input', 'p.csv', '--id-column', 'rec_id', '--out', 'c.csv']),
    ).toEqual({
      ok: true,
      command: 'dedupe',
      options: { input: 'p.csv', idColumn: 'rec_id', out: 'c.csv' },
    })
    const link = parseLinkageArgs('link', [
      '--left=a.csv',
      '--right',
      'b.csv',
      '--id-column',
      'id',
      '--out',
      'p.csv',
      '--threshold',
      '0.75',
      '--config',
      'model.json',
    ])
    expect(link).toEqual({
      ok: true,
      command: 'link',
      options: {
        left: 'a.csv',
        right: 'b.csv',
        idColumn: 'id',
        out: 'p.csv',
        threshold: 0.75,
        config: 'model.json',
      },
    })
  })

  it.each([
    [
      ['--input', 'p.csv', '--id-column', 'id', '--out', 'c.csv', '--left', 'x'],
      /Unknown flag --left/,
    ],
    [['--input', 'p.csv', '--out', 'c.csv'], /Missing required flag --id-column/],
    [
      ['--input', 'p.csv', '--id-column', 'id', '--out', 'c.csv', '--threshold', 'high'],
      /--threshold must be/,
    ],
    [
      ['--input', 'p.csv', '--id-column', 'id', '--out', 'c.csv', '--threshold', '1.5'],
      /between 0 and 1/,
    ],
    [['p.csv', '--id-column', 'id', '--out', 'c.csv'], /Unexpected argument "p.csv"/],
    [['--input', '--id-column', 'id', '--out', 'c.csv'], /Bad flags|Missing required/],
  ])('rejects %j with a clear message', (argv, message) => {
    const result = parseLinkageArgs('dedupe', argv)
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.error.code).toBe('LINKAGE_BAD_FLAGS')
    expect(result.error.message).toMatch(message)
    expect(result.error.message).toContain('Usage: kindred dedupe')
  })

  it('requires both sides for link', () => {
    const result = parseLinkageArgs('link', ['--left', 'a.csv', '--id-column', 'id', '--out', 'p'])
    expect(result).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/--right/) },
    })
  })
})
