import { readFileSync } from 'node:fs'
import path from 'node:path'
import { parse } from 'csv-parse/sync'
import { z } from 'zod'
import { febrlDir } from '../../../../../bench/febrl.js'
import { describe, expect, it } from 'vitest'
import {
  dedupeRecords,
  explainPair,
  exportParameters,
  linkRecords,
  LinkageError,
  pairsAbove,
  type LinkageRun,
} from './engine.js'
import { modelConfigSchema, parseModelConfig, type ModelConfigInput } from './model-config.js'
import type { LinkageRecord } from './features.js'

const febrlData = febrlDir()

function readFebrl(file: string, withSsn = false): Record<string, string>[] {
  const rows = parse(readFileSync(path.join(febrlData, file)), {
    columns: true,
    trim: true,
  }) as Record<string, string>[]
  if (!withSsn) for (const r of rows) delete r.soc_sec_id
  return rows
}

const entity = (id: string): string => id.split('-')[1]!

/** Precision/recall/F1 over all pairs inside the predicted clusters. */
function clusterF1(rows: Record<string, string>[], clusters: Int32Array): number {
  const choose2 = (n: number): number => (n * (n - 1)) / 2
  const count = (key: (i: number) => string): Map<string, number> => {
    const m = new Map<string, number>()
    rows.forEach((_, i) => m.set(key(i), (m.get(key(i)) ?? 0) + 1))
    return m
  }
  const sum = (m: Map<string, number>): number =>
    [...m.values()].reduce((a, c) => a + choose2(c), 0)
  const truth = sum(count((i) => entity(rows[i]!.rec_id!)))
  const predicted = sum(count((i) => String(clusters[i])))
  const tp = sum(count((i) => `${clusters[i]}|${entity(rows[i]!.rec_id!)}`))
  const precision = tp / predicted
  const recall = tp / truth
  return (2 * precision * recall) / (precision + recall)
}

/** A small population with one very common surname and known duplicate pairs. */
function population(): LinkageRecord[] {
  const given = ['anna', 'ben', 'carla', 'dev', 'emma', 'finn', 'gia', 'hugo', 'ivy', 'jack']
  const rare = ['zebedee', 'quixley', 'okonkwo', 'vantreight', 'marchetti']
  const rows: LinkageRecord[] = []
  for (let i = 0; i < 40; i++) {
    rows.push({
      id: `p${i}`,
      given_name: given[i % given.length]!,
      surname: i < 30 ? 'smith' : rare[i % rare.length]!,
      date_of_birth: `19${String(50 + i).padStart(2, '0')}0${(i % 9) + 1}1${i % 10}`,
      postcode: String(2000 + ((i * 37) % 300)),
    })
  }
  // Duplicates: p0 (a smith) and p31 (a zebedee... rare), identical but for the id.
  rows.push({ ...rows[0]!, id: 'p0-dup' })
  rows.push({ ...rows[31]!, id: 'p31-dup' })
  return rows
}

const trained: ModelConfigInput = {
  parameters: {
    lambda: 0.01,
    fields: {
      given_name: { m: [0.9, 0.04, 0.03, 0.02, 0.01], u: [0.05, 0.02, 0.03, 0.1, 0.8] },
      surname: { m: [0.9, 0.04, 0.03, 0.02, 0.01], u: [0.05, 0.02, 0.03, 0.1, 0.8] },
      date_of_birth: { m: [0.9, 0.03, 0.03, 0.02, 0.02], u: [0.001, 0.001, 0.01, 0.05, 0.938] },
      postcode: { m: [0.9, 0.05, 0.05], u: [0.01, 0.05, 0.94] },
    },
  },
}

function pairIndex(run: LinkageRun, rows: readonly LinkageRecord[], a: string, b: string): number {
  for (let p = 0; p < run.pairs.count; p++) {
    const x = rows[run.pairs.left[p]!]!.id
    const y = rows[run.pairs.right[p]!]!.id
    if ((x === a && y === b) || (x === b && y === a)) return p
  }
  throw new Error(`pair ${a}/${b} not among the candidates`)
}

describe('term-frequency adjustment', () => {
  it('makes agreement on a common surname weigh less than on a rare one', () => {
    const rows = population()
    const run = dedupeRecords(rows, { idColumn: 'id', config: trained })
    expect(run.em).toBeNull()
    const smith = explainPair(run, pairIndex(run, rows, 'p0', 'p0-dup'))
    const rare = explainPair(run, pairIndex(run, rows, 'p31', 'p31-dup'))
    const smithSurname = smith.fields.find((f) => f.field === 'surname')!
    const rareSurname = rare.fields.find((f) => f.field === 'surname')!
    expect(smithSurname.level).toBe('exact')
    expect(smithSurname.tfAdjustment).toBeLessThan(0)
    expect(rareSurname.tfAdjustment).toBeGreaterThan(0)
    expect(smithSurname.weight).toBe(rareSurname.weight) // same level, same base weight
    expect(rare.weight).toBeGreaterThan(smith.weight)
  })

  it('can be turned off', () => {
    const rows = population()
    const run = dedupeRecords(rows, {
      idColumn: 'id',
      config: { ...trained, termFrequency: { enabled: false } },
    })
    const smith = explainPair(run, pairIndex(run, rows, 'p0', 'p0-dup'))
    const rare = explainPair(run, pairIndex(run, rows, 'p31', 'p31-dup'))
    expect(smith.weight).toBeCloseTo(rare.weight, 10)
  })
})

describe('identifier fields', () => {
  /** Shoppers sharing names and postcodes; `s<i>-dup` shares s<i>'s email, s<i+20> only the rest. */
  function shoppers(): LinkageRecord[] {
    const rows: LinkageRecord[] = []
    for (let i = 0; i < 40; i++) {
      const given = ['chloe', 'ann', 'tom', 'mia'][i % 4]!
      const surname = ['kowalski', 'lee'][i % 2]!
      rows.push({
        id: `s${i}`,
        given_name: given,
        surname,
        postcode: String(3000 + (i % 5)),
        email: `${given}.${surname}.crm${i}@example.org`,
      })
    }
    for (let i = 0; i < 10; i++) rows.push({ ...rows[i]!, id: `s${i}-dup` })
    return rows
  }

  it('weigh a different email against the match, never as nothing', () => {
    const rows = shoppers()
    const run = dedupeRecords(rows, { idColumn: 'id' })
    const k = run.fields.findIndex((f) => f.kind === 'email')
    expect(run.fields[k]!.levelLabels).toEqual(['null', 'exact', 'else'])
    const lookAlike = explainPair(run, pairIndex(run, rows, 's0', 's20'))
    const email = lookAlike.fields.find((f) => f.field === 'email')!
    expect(email).toMatchObject({ level: 'else', left: 'chloe.kowalski.crm0@example.org' })
    expect(email.weight).toBeLessThan(-3)
    expect(email.weight).toBeLessThanOrEqual(Math.log2(0.05 / run.params.u[k]![2]!) + 1e-9)
    const dup = explainPair(run, pairIndex(run, rows, 's0', 's0-dup'))
    expect(dup.fields.find((f) => f.field === 'email')!.weight).toBeGreaterThan(0)
    expect(dup.weight - lookAlike.weight).toBeGreaterThan(3)
  })

  it('bound kept parameters too', () => {
    const rows = shoppers()
    const half = { m: [0.5, 0.5], u: [0.01, 0.99] }
    const name = { m: [0.9, 0.04, 0.03, 0.02, 0.01], u: [0.3, 0.02, 0.03, 0.1, 0.55] }
    const run = dedupeRecords(rows, {
      idColumn: 'id',
      config: {
        parameters: {
          lambda: 0.1,
          fields: {
            given_name: name,
            surname: name,
            postcode: { m: [0.9, 0.05, 0.05], u: [0.2, 0.1, 0.7] },
            email: half,
          },
        },
      },
    })
    const k = run.fields.findIndex((f) => f.kind === 'email')
    expect([...run.params.m[k]!]).toEqual([0, 0.95, 0.05])
    expect(exportParameters(run).fields.email?.m).toEqual([0.95, 0.05])
    const loose = dedupeRecords(rows, {
      idColumn: 'id',
      config: {
        identifierDisagreement: null,
        parameters: {
          lambda: 0.1,
          fields: {
            given_name: name,
            surname: name,
            postcode: { m: [0.9, 0.05, 0.05], u: [0.2, 0.1, 0.7] },
            email: half,
          },
        },
      },
    })
    expect([...loose.params.m[k]!]).toEqual([0, 0.5, 0.5])
  })
})

describe('explainPair', () => {
  it('adds up: prior + Σ field weights and adjustments = match weight', () => {
    const rows = population()
    const run = dedupeRecords(rows, { idColumn: 'id', config: trained })
    for (let p = 0; p < run.pairs.count; p++) {
      const e = explainPair(run, p)
      const sum = e.prior + e.fields.reduce((a, f) => a + f.weight + f.tfAdjustment, 0)
      expect(sum).toBeCloseTo(e.weight, 9)
      expect(e.probability).toBeCloseTo(1 / (1 + 2 ** -e.weight), 12)
    }
  })
})

describe('name swap', () => {
  it('scores given name and surname swapped as agreement, and says so', () => {
    const rows = population()
    rows.push({
      ...rows[5]!,
      id: 'p5-swapped',
      given_name: rows[5]!.surname,
      surname: rows[5]!.given_name,
    })
    const on = dedupeRecords(rows, { idColumn: 'id', config: trained })
    const e = explainPair(on, pairIndex(on, rows, 'p5', 'p5-swapped'))
    const given = e.fields.find((f) => f.field === 'given_name')!
    expect(given.level).toBe('exact (names swapped)')
    expect(given.left).toBe(given.right)
    expect(given.tfAdjustment).toBe(0)
    const off = dedupeRecords(rows, { idColumn: 'id', config: { ...trained, nameSwap: false } })
    const e2 = explainPair(off, pairIndex(off, rows, 'p5', 'p5-swapped'))
    expect(e2.fields.find((f) => f.field === 'given_name')!.level).toBe('else')
    expect(e.weight).toBeGreaterThan(e2.weight)
  })
})

describe('dedupeRecords', () => {
  it('clusters the duplicates and leaves the others alone', () => {
    const rows = population()
    const run = dedupeRecords(rows, { idColumn: 'id', config: trained })
    const idx = (id: string): number => rows.findIndex((r) => r.id === id)
    expect(run.clusters[idx('p0-dup')]).toBe(run.clusters[idx('p0')])
    expect(run.clusters[idx('p31-dup')]).toBe(run.clusters[idx('p31')])
    expect(run.clusterCount).toBe(40)
  })

  it('is deterministic', () => {
    const rows = readFebrl('dataset1.csv').slice(0, 300)
    const a = dedupeRecords(rows, { idColumn: 'rec_id' })
    const b = dedupeRecords(rows, { idColumn: 'rec_id' })
    expect([...b.probabilities]).toEqual([...a.probabilities])
  })

  it('exports parameters that reproduce the same scores without EM', () => {
    const rows = readFebrl('dataset1.csv').slice(0, 300)
    const a = dedupeRecords(rows, { idColumn: 'rec_id' })
    const config = parseModelConfig({ parameters: exportParameters(a) })
    const b = dedupeRecords(rows, { idColumn: 'rec_id', config })
    expect(b.em).toBeNull()
    for (let p = 0; p < a.pairs.count; p++) {
      expect(b.probabilities[p]).toBeCloseTo(a.probabilities[p]!, 9)
    }
  })

  it('reaches F1 ≥ 0.95 on FEBRL dataset1 without soc_sec_id, default settings, no labels', () => {
    const rows = readFebrl('dataset1.csv')
    const run = dedupeRecords(rows, { idColumn: 'rec_id' })
    expect(clusterF1(rows, run.clusters)).toBeGreaterThanOrEqual(0.95)
  })

  it('accepts labelled pairs', () => {
    const rows = readFebrl('dataset1.csv').slice(0, 300)
    const org = rows.find((r) => r.rec_id!.endsWith('-org'))!.rec_id!
    const other = rows.find((r) => r.rec_id!.endsWith('-org') && r.rec_id !== org)!.rec_id!
    const run = dedupeRecords(rows, {
      idColumn: 'rec_id',
      config: { labels: [{ left: org, right: other, match: false }] },
    })
    expect(run.em?.iterations).toBeGreaterThan(0)
    expect(() =>
      dedupeRecords(rows, {
        idColumn: 'rec_id',
        config: { labels: [{ left: 'nope', right: org, match: true }] },
      }),
    ).toThrow(expect.objectContaining({ code: 'LINKAGE_UNKNOWN_LABEL_ID' }))
  })
})

describe('linkRecords', () => {
  it('links FEBRL dataset1 originals to their duplicates with F1 ≥ 0.95', () => {
    const rows = readFebrl('dataset1.csv')
    const left = rows.filter((r) => r.rec_id!.endsWith('-org'))
    const right = rows.filter((r) => !r.rec_id!.endsWith('-org'))
    const run = linkRecords(left, right, { idColumn: 'rec_id' })
    const matched = pairsAbove(run, 0.9)
    const tp = matched.filter(
      (p) =>
        entity(left[run.pairs.left[p]!]!.rec_id!) === entity(right[run.pairs.right[p]!]!.rec_id!),
    ).length
    const precision = tp / matched.length
    const recall = tp / right.length
    expect((2 * precision * recall) / (precision + recall)).toBeGreaterThanOrEqual(0.95)
  })
})

describe('errors', () => {
  it('says when no column can be compared', () => {
    expect(() => dedupeRecords([{ id: '1', colour: 'red' }], { idColumn: 'id' })).toThrow(
      expect.objectContaining({ code: 'LINKAGE_NO_FIELDS' }),
    )
  })

  it('names an unknown configured column', () => {
    const err = (() => {
      try {
        dedupeRecords([{ id: '1', surname: 'x' }], { config: { fields: [{ column: 'nope' }] } })
      } catch (e) {
        return e
      }
      return null
    })()
    expect(err).toBeInstanceOf(LinkageError)
    expect((err as LinkageError).code).toBe('LINKAGE_UNKNOWN_COLUMN')
    expect((err as LinkageError).message).toContain('"nope"')
  })

  it('rejects trained parameters with the wrong number of levels', () => {
    const rows = population()
    expect(() =>
      dedupeRecords(rows, {
        idColumn: 'id',
        config: { parameters: { lambda: 0.1, fields: { surname: { m: [1], u: [1] } } } },
      }),
    ).toThrow(expect.objectContaining({ code: 'LINKAGE_BAD_PARAMETERS' }))
  })
})

describe('model config schema', () => {
  it('fills defaults, rejects unknown keys and bad levels, and exports a JSON schema', () => {
    const c = parseModelConfig({})
    expect(c.em.maxIterations).toBe(100)
    expect(c.termFrequency.enabled).toBe(true)
    expect(() => parseModelConfig({ colour: 1 })).toThrow()
    expect(() =>
      parseModelConfig({ fields: [{ column: 'a', levels: [{ type: 'jaroWinkler', min: 2 }] }] }),
    ).toThrow()
    const schema = z.toJSONSchema(modelConfigSchema, { io: 'input' }) as { properties: object }
    expect(Object.keys(schema.properties)).toContain('blocking')
  })
})
