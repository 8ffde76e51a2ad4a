import { describe, expect, it } from 'vitest'
import { SAMPLE_NOW, sampleInputs } from '../../../testing/destinations/samples.js'
import { slackSettings } from './manifest.js'
import { transform } from './transform.js'

const base = { webhookUrl: 'https://hooks.slack.com/services/T/B/X' }
const run = (over: Record<string, unknown>, inputs = [sampleInputs.event]) =>
  transform(inputs, {
    settings: slackSettings.parse({ ...base, ...over }),
    destinationId: 'd',
    now: SAMPLE_NOW,
  })
const text = (r: ReturnType<typeof run>, i = 0) => {
  const e = r.effects[i]
  return e?.type === 'http' ? (JSON.parse(e.body!) as { text: string }).text : undefined
}

describe('slack transform', () => {
  it('renders the event template with properties and traits', () => {
    const r = run({
      eventTemplate:
        '{{ traits.first_name }} paid {{ properties.revenue }} {{ properties.currency }}',
    })
    expect(text(r)).toBe('Ada paid 42.5 EUR')
  })

  it('uses defaults for missing traits', () => {
    const r = run({ eventTemplate: 'Hi {{ traits.nickname | default: "there" }}' })
    expect(text(r)).toBe('Hi there')
  })

  it('filters by event name, skipping (not dropping) the rest', () => {
    const r = run({ eventNames: ['Signed Up'] }, [sampleInputs.event])
    expect(r.effects).toEqual([])
    expect(r.skipped).toEqual([
      { itemId: 'job_1', code: 'FILTERED', message: 'event name is not in eventNames' },
    ])
  })

  it('refuses templates with unknown filters when settings are parsed', () => {
    expect(slackSettings.safeParse({ ...base, eventTemplate: '{{ x | nope }}' }).success).toBe(
      false,
    )
  })

  it('skips messages that render empty', () => {
    const r = run({ eventTemplate: '{{ traits.missing }}' })
    expect(r.skipped[0]?.code).toBe('EMPTY_MESSAGE')
  })
})
