import { describe, expect, it } from 'vitest'
import { materializeTraits } from './golden-record.js'
import { recomputeSplitRecords } from './split.js'
import { DEFAULT_SURVIVORSHIP_SETTINGS } from './survivorship.js'

describe('recomputeSplitRecords', () => {
  it('gives each side the traits of its own events', () => {
    const updates = [
      { sourceId: 'web', messageId: 'm1', at: 1, traits: { name: 'Ann', city: 'Oslo' } },
      { sourceId: 'web', messageId: 'm2', at: 2, traits: { name: 'Bob' } },
      { sourceId: 'app', messageId: 'm2', at: 3, traits: { plan: 'pro' } },
      { sourceId: 'csv', messageId: 'row-7', at: 4, traits: { city: 'Bergen' } },
    ]
    const { original, created } = recomputeSplitRecords(
      updates,
      [{ sourceId: 'web', messageId: 'm2' }, { messageId: 'row-7' }],
      DEFAULT_SURVIVORSHIP_SETTINGS,
    )
    expect(materializeTraits(original)).toEqual({ name: 'Ann', city: 'Oslo', plan: 'pro' })
    expect(materializeTraits(created)).toEqual({ name: 'Bob', city: 'Bergen' })
    expect(original.traits.name?.values).toHaveLength(1)
  })
})
