import { describe, expect, it } from 'vitest'
import { cursorCodec, cursorField } from './cursor.js'

describe('cursorCodec', () => {
  const byTime = cursorCodec(cursorField.timestamp(), cursorField.text(10))
  const byScore = cursorCodec(cursorField.number(), cursorField.text(100))

  it('round-trips the sort key of the last row, opaque and URL-safe', () => {
    const c = byTime.encode(['2026-01-01T00:00:00.000Z', 'prf_1'])
    expect(c).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(byTime.decode(c)).toEqual(['2026-01-01T00:00:00.000Z', 'prf_1'])
    expect(byScore.decode(byScore.encode([0.75, 'pair_1']))).toEqual([0.75, 'pair_1'])
  })

  it('takes no cursor as the first page', () => {
    expect(byTime.decode(undefined)).toBeUndefined()
  })

  it('refuses anything it did not make with one VALIDATION_FAILED', () => {
    const bad: Array<[typeof byTime | typeof byScore, string]> = [
      [byTime, 'not base64 json'],
      [byTime, Buffer.from('{"a":1}').toString('base64url')],
      [byTime, byTime.encode(['2026-01-01T00:00:00.000Z', 'prf_1', 'extra'] as never)],
      [byTime, byTime.encode(['2026-02-30T00:00:00.000Z', 'prf_1'])],
      [byTime, byTime.encode(['yesterday', 'prf_1'])],
      [byTime, byTime.encode(['2026-01-01T00:00:00.000Z', 'much-too-long-an-id'])],
      [byScore, byScore.encode(['0.5', 'pair'] as never)],
      [byScore, Buffer.from('[1e400,"x"]').toString('base64url')],
    ]
    for (const [codec, c] of bad) {
      expect(() => codec.decode(c), c).toThrow(
        expect.objectContaining({
          code: 'VALIDATION_FAILED',
          message: expect.stringMatching(/invalid cursor/),
        }),
      )
    }
  })
})
