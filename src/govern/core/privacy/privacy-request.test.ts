import { describe, expect, it } from 'vitest'
import {
  createPrivacyRequestSchema,
  forwardingSettled,
  nextStep,
  receiptStatusOfJob,
  withReceipt,
  type StepReceipt,
} from './privacy-request.js'

const done = (step: StepReceipt['step']): StepReceipt => ({
  step,
  status: 'completed',
  at: '2026-11-25T00:00:00.000Z',
  details: {},
})

describe('createPrivacyRequestSchema', () => {
  it('takes an identifier or a profile id, not both, not neither', () => {
    const id = { type: 'email', value: 'a@b.co' }
    expect(createPrivacyRequestSchema.safeParse({ type: 'access', identifier: id }).success).toBe(
      true,
    )
    expect(
      createPrivacyRequestSchema.safeParse({ type: 'deletion', profileId: 'p_1' }).success,
    ).toBe(true)
    expect(createPrivacyRequestSchema.safeParse({ type: 'access' }).success).toBe(false)
    expect(
      createPrivacyRequestSchema.safeParse({ type: 'access', identifier: id, profileId: 'p_1' })
        .success,
    ).toBe(false)
    expect(
      createPrivacyRequestSchema.safeParse({ type: 'suppression', profileId: 'p_1' }).success,
    ).toBe(false)
  })
})

describe('steps', () => {
  it('runs each type in order and resumes after the last completed step', () => {
    expect(nextStep('deletion', [])).toBe('resolve')
    expect(nextStep('deletion', [done('resolve'), done('suppress')])).toBe('erase')
    expect(nextStep('access', [done('resolve'), done('export')])).toBeUndefined()
    expect(nextStep('suppression', [])).toBe('suppress')
  })
  it('a failed receipt is run again; a re-run replaces the receipt', () => {
    const failed: StepReceipt = { ...done('erase'), status: 'failed' }
    expect(nextStep('deletion', [done('resolve'), done('suppress'), failed])).toBe('erase')
    const r = withReceipt([done('resolve'), failed], done('erase'))
    expect(r.map((x) => `${x.step}:${x.status}`)).toEqual(['resolve:completed', 'erase:completed'])
  })
  it('maps delivery job states to destination receipts and waits for pending ones', () => {
    expect(
      ['succeeded', 'skipped', 'dead', 'pending', 'in_flight'].map(receiptStatusOfJob),
    ).toEqual(['succeeded', 'skipped', 'failed', 'pending', 'pending'])
    const base = { destinationId: 'd', type: 't', name: 'n', jobId: null, error: null, at: '' }
    expect(forwardingSettled([{ ...base, status: 'succeeded' }])).toBe(true)
    expect(
      forwardingSettled([
        { ...base, status: 'failed' },
        { ...base, status: 'pending' },
      ]),
    ).toBe(false)
  })
})
