import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { SAMPLE_NOW, sampleInputs } from '../../../testing/destinations/samples.js'
import { mailchimpSettings } from './manifest.js'
import { dataCenter, subscriberHash, transform } from './transform.js'

const key = '0123456789abcdef0123456789abcdef-us21'
const run = (over: Record<string, unknown>, inputs: Parameters<typeof transform>[0]) =>
  transform(inputs, {
    settings: mailchimpSettings.parse({ apiKey: key, listId: 'L1', ...over }),
    destinationId: 'd',
    now: SAMPLE_NOW,
  })
const hash = createHash('md5').update('ada.lovelace@example.com').digest('hex')

describe('mailchimp transform', () => {
  it('derives the data center and the subscriber hash', () => {
    expect(dataCenter(key)).toBe('us21')
    expect(subscriberHash(' Ada.Lovelace@Example.com ')).toBe(hash)
    expect(mailchimpSettings.safeParse({ apiKey: 'nodc', listId: 'L1' }).success).toBe(false)
  })

  it('upserts profiles with PUT at the hash', () => {
    const { effects, skipped } = run({}, [sampleInputs.profile, sampleInputs.anonymousProfile])
    expect(effects.map((e) => e.type === 'http' && `${e.method} ${e.url}`)).toEqual([
      `PUT https://us21.api.mailchimp.com/3.0/lists/L1/members/${hash}`,
    ])
    expect(skipped).toEqual([
      { itemId: 'job_7', code: 'MISSING_IDENTIFIER', message: 'Mailchimp members need an email' },
    ])
  })

  it('untags on removal by default, archives when configured, deletes permanently on privacy deletion', () => {
    const remove = {
      ...sampleInputs.audienceRemove,
      profile: sampleInputs.profile.profile!,
    } as typeof sampleInputs.audienceRemove
    const untag = run({}, [remove]).effects[0]
    expect(untag?.type === 'http' && [untag.method, untag.url, JSON.parse(untag.body!)]).toEqual([
      'POST',
      `https://us21.api.mailchimp.com/3.0/lists/L1/members/${hash}/tags`,
      { tags: [{ name: 'VIP customers', status: 'inactive' }] },
    ])
    const archive = run({ onAudienceRemove: 'archive' }, [remove]).effects[0]
    expect(archive?.type === 'http' && [archive.method, archive.url, archive.okStatuses]).toEqual([
      'DELETE',
      `https://us21.api.mailchimp.com/3.0/lists/L1/members/${hash}`,
      [404],
    ])
    const del = run({}, [
      {
        ...sampleInputs.delete,
        profile: sampleInputs.profile.profile!,
      } as typeof sampleInputs.delete,
    ]).effects[0]
    expect(del?.type === 'http' && del.url).toBe(
      `https://us21.api.mailchimp.com/3.0/lists/L1/members/${hash}/actions/delete-permanent`,
    )
  })
})
