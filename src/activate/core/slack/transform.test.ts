import { describe, expect, it } from 'vitest'
import type { DestinationInput } from '../contract.js'
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

// Slack's formatting reference: "&, <, and > … are control characters … you must convert them
// to HTML entities" (https://docs.slack.dev/messaging/formatting-message-text#escaping-text).
// Only data is escaped: the editor's own template text may use Slack's <!here>, <url|label>.
describe('slack vendor conformance', () => {
  const event = sampleInputs.event.kind === 'event' ? sampleInputs.event.event : ({} as never)
  const evil = (firstName: string, name = 'Signed Up'): DestinationInput => ({
    kind: 'event',
    id: 'je',
    event: { ...event, event: name },
    profile: { id: 'p', traits: { first_name: firstName }, identities: [] },
  })

  it('escapes &, < and > in profile and event data, so data cannot mention @channel or inject links', () => {
    const r = run({ eventTemplate: '<!here> {{ traits.first_name }} did *{{ event.event }}*' }, [
      evil('<!channel> Tom & <Jerry>', 'Signed <Up> & Paid'),
    ])
    expect(text(r)).toBe(
      '<!here> &lt;!channel&gt; Tom &amp; &lt;Jerry&gt; did *Signed &lt;Up&gt; &amp; Paid*',
    )
  })

  it('leaves quotes and other characters alone (Slack shows entities it does not decode)', () => {
    const r = run({ eventTemplate: '{{ traits.first_name }}' }, [evil(`O'Brien "Zoë"`)])
    expect(text(r)).toBe(`O'Brien "Zoë"`)
  })
})
