import { describe, expect, it } from 'vitest'
import { importMappingSchema } from './import-mapping.js'
import { suggestImportMapping } from './import-suggest.js'

describe('suggestImportMapping', () => {
  it('maps a CRM export by its header names and keeps the rest as traits', () => {
    const s = suggestImportMapping(
      ['E-Mail Address', 'Mobile', 'First Name', 'Country', 'loyalty_tier'],
      [],
      'profiles',
    )
    expect(s.map((c) => [c.column, c.to, c.reason])).toEqual([
      ['E-Mail Address', 'traits.email', 'name'],
      ['Mobile', 'traits.phone', 'name'],
      ['First Name', 'traits.firstName', 'name'],
      ['Country', 'traits.country', 'name'],
      ['loyalty_tier', 'traits.loyalty_tier', 'default'],
    ])
  })

  it('finds an e-mail column by its values when the header does not say so, once', () => {
    const rows = [
      { contact: ' ada@example.com', backup: 'a@b.example' },
      { contact: 'grace@example.org', backup: 'c@d.example' },
      { contact: 'not an email', backup: '' },
      { contact: 'linus@example.net', backup: 'e@f.example' },
      { contact: 'ken@example.com', backup: 'g@h.example' },
    ]
    const s = suggestImportMapping(['contact', 'backup'], rows, 'profiles')
    expect(s[0]).toEqual({ column: 'contact', to: 'traits.email', reason: 'values' })
    // Only one column becomes the e-mail identifier; the second stays a trait.
    expect(s[1]?.to).toBe('traits.backup')
  })

  it('gives an event import its event name and time, and properties for the rest', () => {
    const s = suggestImportMapping(['user_id', 'Event Name', 'created_at', 'amount'], [], 'events')
    expect(s.map((c) => c.to)).toEqual(['userId', 'event', 'timestamp', 'properties.amount'])
  })

  it('never suggests a target the mapping schema refuses', () => {
    const header = ['__proto__', 'a.constructor.b', 'constructor', 'x.y']
    const s = suggestImportMapping(header, [], 'profiles')
    const columns = Object.fromEntries(s.map((c) => [c.column, c.to]))
    expect(importMappingSchema.safeParse({ columns }).success).toBe(true)
    expect(columns.__proto__).toBe('ignore')
    expect(columns['x.y']).toBe('traits.x.y')
  })
})
