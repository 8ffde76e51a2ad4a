import { describe, expect, it } from 'vitest'
import {
  md5Hex,
  normaliseEmail,
  normaliseEmailForGoogle,
  normalisePhoneE164,
  sha256Hex,
} from './hashing.js'

describe('normalisation', () => {
  it('emails: trimmed and lower-cased; Google also drops dots for gmail', () => {
    expect(normaliseEmail('  Ada@Example.COM ')).toBe('ada@example.com')
    expect(normaliseEmail('not an email')).toBeUndefined()
    expect(normaliseEmail(42)).toBeUndefined()
    expect(normaliseEmailForGoogle('Grace.Hopper@GoogleMail.com')).toBe(
      'gracehopper@googlemail.com',
    )
    expect(normaliseEmailForGoogle('grace.hopper@example.com')).toBe('grace.hopper@example.com')
  })

  it('phones: E.164, national numbers read with the default country, invalid ones dropped', () => {
    expect(normalisePhoneE164('+44 20 7946 0958')).toBe('+442079460958')
    expect(normalisePhoneE164('(415) 555-0100', 'US')).toBe('+14155550100')
    expect(normalisePhoneE164('020 7946 0958', 'GB')).toBe('+442079460958')
    expect(normalisePhoneE164('12', 'US')).toBeUndefined()
    expect(normalisePhoneE164('')).toBeUndefined()
  })
})

it('hashes with the published test vectors', () => {
  expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  expect(md5Hex('abc')).toBe('900150983cd24fb0d6963f7d28e17f72')
})
