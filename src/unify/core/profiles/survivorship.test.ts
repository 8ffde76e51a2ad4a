/**
 * Survivorship by origin: a workspace can say that what its own sites and apps send (first-party)
 * beats what a CRM file import says, for chosen traits, while every other trait keeps "most
 * recent". The trial that asked for it: a messy CRM export, imported after the shop's own
 * identify calls, overwrote clean first-party names.
 */
import { describe, expect, it } from 'vitest'
import type { TraitUpdate } from './golden-record.js'
import { buildGoldenRecord, goldenRecordSchema, mergeGoldenRecords } from './golden-record.js'
import type { SurvivorshipSettingsInput } from './survivorship.js'
import { originOf, sourceKey, survivorshipSettingsSchema } from './survivorship.js'

const obs = (
  messageId: string,
  sourceId: string,
  at: number,
  kind: 'identify' | 'context' | 'import',
  traits: Record<string, unknown>,
): TraitUpdate => ({ messageId, sourceId, at, kind, traits })

// The shop's site (web) and app identify the shopper; the CRM export arrives later, by import,
// once into its own source and once (carelessly) into the web source itself.
const history: TraitUpdate[] = [
  obs('w1', 'web', 100, 'identify', { first_name: 'Tara', city: 'Berlin' }),
  obs('a1', 'app', 200, 'context', { first_name: 'Tara M.' }),
  obs('c1', 'crm', 300, 'import', { first_name: 'TARA', city: 'Hamburg' }),
  obs('c2', 'web', 400, 'import', { first_name: 'tara', city: 'Munich' }),
]

const firstPartyFirst = [{ kind: 'first_party' as const }]

describe('survivorship by origin', () => {
  it.each<[string, SurvivorshipSettingsInput, string, unknown, string]>([
    ['most recent (default): the last import wins', {}, 'first_name', 'tara', 'c2'],
    [
      'first-party first: the latest first-party value wins',
      { traits: { first_name: { strategy: 'source_priority', sourcePriority: firstPartyFirst } } },
      'first_name',
      'Tara M.',
      'a1',
    ],
    [
      'first-party first for one trait leaves the others most recent',
      { traits: { first_name: { strategy: 'source_priority', sourcePriority: firstPartyFirst } } },
      'city',
      'Munich',
      'c2',
    ],
    [
      'a source id before the origins',
      {
        traits: {
          first_name: {
            strategy: 'source_priority',
            sourcePriority: ['web', { kind: 'first_party' }],
          },
        },
      },
      'first_name',
      // web's latest observation is its import; a source id matches both of its origins.
      'tara',
      'c2',
    ],
    [
      'imports first (a CRM that is the system of record)',
      {
        default: 'source_priority',
        sourcePriority: [{ kind: 'import' }],
      },
      'first_name',
      'tara',
      'c2',
    ],
    [
      'one source, two origins: its first-party observation is not forgotten behind its import',
      {
        traits: {
          city: { strategy: 'source_priority', sourcePriority: firstPartyFirst },
        },
      },
      'city',
      'Berlin',
      'w1',
    ],
  ])('%s', (_name, input, trait, value, messageId) => {
    const settings = survivorshipSettingsSchema.parse(input)
    const record = buildGoldenRecord(history, settings)
    expect(record.traits[trait]?.value).toBe(value)
    expect(record.traits[trait]?.provenance.messageId).toBe(messageId)
  })

  it('gives the same survivor whether the records were folded or merged', () => {
    const settings = survivorshipSettingsSchema.parse({
      traits: { first_name: { strategy: 'source_priority', sourcePriority: firstPartyFirst } },
    })
    const whole = buildGoldenRecord(history, settings)
    const merged = mergeGoldenRecords(
      buildGoldenRecord(history.slice(2), settings),
      buildGoldenRecord(history.slice(0, 2), settings),
      settings,
    )
    expect(merged).toEqual(whole)
    expect(goldenRecordSchema.parse(JSON.parse(JSON.stringify(whole)))).toEqual(whole)
  })

  it('classifies observations and keys them per source and origin', () => {
    const at = { sourceId: 'web', messageId: 'm', at: 1 }
    expect(originOf({ ...at, kind: 'import' })).toBe('import')
    expect(originOf({ ...at, kind: 'identify' })).toBe('first_party')
    // Records stored before kinds were recorded count as first-party.
    expect(originOf(at)).toBe('first_party')
    expect(sourceKey({ ...at, kind: 'import' })).toBe('web import')
    expect(sourceKey({ ...at, kind: 'context' })).toBe('web')
  })

  it('refuses unknown origins', () => {
    expect(() =>
      survivorshipSettingsSchema.parse({ sourcePriority: [{ kind: 'second_party' }] }),
    ).toThrow()
    expect(() => survivorshipSettingsSchema.parse({ sourcePriority: [{ source: 'x' }] })).toThrow()
  })
})
