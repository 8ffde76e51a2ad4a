import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { TraitUpdate } from './golden-record.js'
import {
  buildGoldenRecord,
  canonicalValue,
  describeTraits,
  foldTraitUpdates,
  goldenRecordSchema,
  materializeTraits,
  mergeGoldenRecords,
  reapplySurvivorship,
} from './golden-record.js'
import type { SurvivorshipSettingsInput } from './survivorship.js'
import { DEFAULT_SURVIVORSHIP_SETTINGS, survivorshipSettingsSchema } from './survivorship.js'
import { traitUpdateFromEvent, traitUpdateFromImport } from './trait-updates.js'

const up = (
  messageId: string,
  sourceId: string,
  at: number,
  traits: Record<string, unknown>,
): TraitUpdate => ({
  messageId,
  sourceId,
  at,
  traits,
})

// The same observations of `plan` in log order; timestamps deliberately not in log order.
const history: TraitUpdate[] = [
  up('m1', 'web', 100, { plan: 'free' }),
  up('m2', 'crm', 300, { plan: 'pro' }),
  up('m3', 'web', 200, { plan: 'free' }),
  up('m4', 'app', 400, { plan: 'team' }),
  up('m5', 'web', 50, { plan: 'trial' }),
]

describe('survivorship', () => {
  it.each<[string, SurvivorshipSettingsInput, unknown, string]>([
    ['most recent (default)', {}, 'team', 'm4'],
    ['first seen', { default: 'first_seen' }, 'trial', 'm5'],
    ['most frequent', { default: 'most_frequent' }, 'free', 'm3'],
    [
      'highest-priority source',
      { default: 'source_priority', sourcePriority: ['crm', 'web'] },
      'pro',
      'm2',
    ],
    [
      'source priority, latest of the best source',
      { default: 'source_priority', sourcePriority: ['web'] },
      'free',
      'm3',
    ],
    [
      'source priority, unlisted sources fall back to most recent',
      { default: 'source_priority', sourcePriority: [] },
      'team',
      'm4',
    ],
    ['per-trait override', { traits: { plan: { strategy: 'first_seen' } } }, 'trial', 'm5'],
    [
      'per-trait source order',
      {
        default: 'source_priority',
        sourcePriority: ['crm'],
        traits: { plan: { strategy: 'source_priority', sourcePriority: ['app'] } },
      },
      'team',
      'm4',
    ],
  ])('%s', (_name, input, value, messageId) => {
    const settings = survivorshipSettingsSchema.parse(input)
    const record = buildGoldenRecord(history, settings)
    expect(record.traits.plan?.value).toBe(value)
    expect(record.traits.plan?.provenance.messageId).toBe(messageId)
  })

  it('keeps every losing value with its provenance', () => {
    const record = buildGoldenRecord(history, DEFAULT_SURVIVORSHIP_SETTINGS)
    const [plan] = describeTraits(record, DEFAULT_SURVIVORSHIP_SETTINGS)
    expect(plan).toEqual({
      key: 'plan',
      value: 'team',
      strategy: 'most_recent',
      provenance: { sourceId: 'app', messageId: 'm4', at: 400 },
      conflicts: [
        {
          value: 'pro',
          count: 1,
          first: { sourceId: 'crm', messageId: 'm2', at: 300 },
          last: { sourceId: 'crm', messageId: 'm2', at: 300 },
        },
        {
          value: 'free',
          count: 2,
          first: { sourceId: 'web', messageId: 'm1', at: 100 },
          last: { sourceId: 'web', messageId: 'm3', at: 200 },
        },
        {
          value: 'trial',
          count: 1,
          first: { sourceId: 'web', messageId: 'm5', at: 50 },
          last: { sourceId: 'web', messageId: 'm5', at: 50 },
        },
      ],
      truncated: 0,
    })
  })

  it('changes survivors under new settings without replay', () => {
    const record = buildGoldenRecord(history, DEFAULT_SURVIVORSHIP_SETTINGS)
    const frequent = survivorshipSettingsSchema.parse({ default: 'most_frequent' })
    expect(reapplySurvivorship(record, frequent).traits.plan?.value).toBe('free')
  })

  it('forgets the least recent losing values beyond the cap and counts them', () => {
    const settings = survivorshipSettingsSchema.parse({
      maxValuesPerTrait: 2,
      default: 'first_seen',
    })
    const record = buildGoldenRecord(history, settings)
    expect(record.traits.plan?.values.map((v) => v.value)).toEqual(['team', 'trial'])
    expect(record.traits.plan?.truncated).toBe(2)
    expect(record.traits.plan?.value).toBe('trial')
  })

  it('treats null as a value that clears the trait, and equal objects as one value', () => {
    const record = buildGoldenRecord(
      [
        up('m1', 'web', 1, { name: 'Ann', address: { city: 'Oslo', zip: '0150' } }),
        up('m2', 'web', 2, { name: null, address: { zip: '0150', city: 'Oslo' }, skip: undefined }),
      ],
      DEFAULT_SURVIVORSHIP_SETTINGS,
    )
    expect(materializeTraits(record)).toEqual({ address: { city: 'Oslo', zip: '0150' } })
    expect(record.traits.address?.values).toHaveLength(1)
    expect(record.traits.address?.values[0]?.count).toBe(2)
    expect(record.traits.name?.values.map((v) => v.value)).toEqual([null, 'Ann'])
    expect(record.traits).not.toHaveProperty('skip')
  })

  it('ignores prototype keys', () => {
    const traits = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}') as Record<
      string,
      unknown
    >
    const record = buildGoldenRecord([up('m1', 'web', 1, traits)], DEFAULT_SURVIVORSHIP_SETTINGS)
    expect(Object.keys(record.traits)).toEqual(['ok'])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('round-trips through JSON and its schema', () => {
    const record = buildGoldenRecord(history, DEFAULT_SURVIVORSHIP_SETTINGS)
    const stored = JSON.parse(JSON.stringify(record)) as unknown
    expect(goldenRecordSchema.parse(stored)).toEqual(record)
  })

  it('rejects unknown settings', () => {
    expect(survivorshipSettingsSchema.safeParse({ default: 'loudest' }).success).toBe(false)
    expect(survivorshipSettingsSchema.safeParse({ typo: 1 }).success).toBe(false)
  })
})

describe('golden record algebra (fast-check)', () => {
  const updateArb = fc.record({
    sourceId: fc.constantFrom('web', 'crm', 'app'),
    at: fc.integer({ min: 0, max: 50 }),
    traits: fc.dictionary(
      fc.constantFrom('plan', 'name', 'city'),
      fc.oneof(
        fc.constantFrom('a', 'b', 'c'),
        fc.constant(null),
        fc.record({ x: fc.constantFrom(1, 2) }),
      ),
      { maxKeys: 3 },
    ),
  })
  const updatesArb = fc
    .array(updateArb, { maxLength: 25 })
    .map((list) => list.map((u, i) => ({ ...u, messageId: `m${i}` })))
  const settingsArb = fc
    .record({
      default: fc.constantFrom('most_recent', 'first_seen', 'source_priority', 'most_frequent'),
      sourcePriority: fc.shuffledSubarray(['web', 'crm', 'app']),
    })
    .map((s) => survivorshipSettingsSchema.parse(s))

  it('folding in any order, in any chunks, or merging parts gives the same record', () => {
    fc.assert(
      fc.property(
        updatesArb,
        settingsArb,
        fc.nat(),
        fc.infiniteStream(fc.nat()),
        (updates, settings, cut, keys) => {
          const reference = buildGoldenRecord(updates, settings)
          const sortKeys = [...keys.take(updates.length)]
          const shuffled = updates
            .map((u, i) => ({ u, k: sortKeys[i] ?? 0 }))
            .sort((a, b) => a.k - b.k)
            .map((x) => x.u)
          const at = updates.length === 0 ? 0 : cut % (updates.length + 1)
          const chunked = foldTraitUpdates(
            foldTraitUpdates(undefined, shuffled.slice(0, at), settings),
            shuffled.slice(at),
            settings,
          )
          const merged = mergeGoldenRecords(
            buildGoldenRecord(updates.slice(at), settings),
            buildGoldenRecord(updates.slice(0, at), settings),
            settings,
          )
          const canon = (r: typeof reference) => canonicalValue(r)
          expect(canon(chunked)).toBe(canon(reference))
          expect(canon(merged)).toBe(canon(reference))
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('trait updates from events', () => {
  const origin = { sourceId: 'web', messageId: 'm1', at: 5 }
  it('lets identify traits override context.traits', () => {
    expect(
      traitUpdateFromEvent(
        {
          type: 'identify',
          traits: { name: 'Ann', plan: 'pro' },
          context: { traits: { name: 'A.', city: 'Oslo' } },
        },
        origin,
      ),
    ).toEqual({ ...origin, kind: 'identify', traits: { name: 'Ann', plan: 'pro', city: 'Oslo' } })
  })
  it('reads context.traits on other events but not group traits', () => {
    expect(
      traitUpdateFromEvent(
        { type: 'group', traits: { employees: 10 }, context: { traits: { name: 'Ann' } } },
        origin,
      ),
    ).toEqual({ ...origin, kind: 'context', traits: { name: 'Ann' } })
    expect(traitUpdateFromEvent({ type: 'track', context: {} }, origin)).toBeUndefined()
    expect(traitUpdateFromEvent({ type: 'identify', traits: {} }, origin)).toBeUndefined()
  })
  it('marks import rows', () => {
    expect(traitUpdateFromImport({ plan: 'pro' }, { sourceId: 'csv', rowId: 'r1', at: 9 })).toEqual(
      {
        sourceId: 'csv',
        messageId: 'r1',
        at: 9,
        kind: 'import',
        traits: { plan: 'pro' },
      },
    )
  })
})
