import { describe, expect, it } from 'vitest'
import type { FileEffect } from '../contract.js'
import { RelativePathSchema } from '../contract.js'
import { SAMPLE_NOW, sampleInputs } from '../../../testing/destinations/samples.js'
import { fileExportSettings } from './manifest.js'
import { transform } from './transform.js'

const run = (over: Record<string, unknown>) =>
  transform([sampleInputs.profile, sampleInputs.audienceAdd, sampleInputs.audienceRemove], {
    settings: fileExportSettings.parse({ directory: 'exports', ...over }),
    destinationId: 'd',
    now: SAMPLE_NOW,
  }).effects as FileEffect[]

describe('file-export transform', () => {
  it('writes one profiles file and one audiences file per batch, with fixed columns', () => {
    const [profiles, audiences] = run({ format: 'jsonl', traits: ['email', 'plan'] })
    expect(profiles?.columns).toEqual(['profile_id', 'email', 'plan', 'exported_at'])
    expect(profiles?.rows).toEqual([
      {
        profile_id: 'prof_ada',
        email: ' Ada.Lovelace@Example.com ',
        plan: 'pro',
        exported_at: '2026-11-25T10:00:00.000Z',
      },
    ])
    expect(audiences?.rows.map((r) => [r.action, r.profile_id, r.plan])).toEqual([
      ['add', 'prof_ada', 'pro'],
      ['remove', 'prof_grace', null],
    ])
    expect(profiles?.path).toMatch(/^profiles\/kindred-profiles-[0-9a-f]{16}\.jsonl$/)
  })

  it('names files by their items, so a retry rewrites the same file', () => {
    const a = run({ format: 'parquet' })
    const later = transform([sampleInputs.profile], {
      settings: fileExportSettings.parse({ directory: 'e', format: 'parquet' }),
      destinationId: 'd',
      now: SAMPLE_NOW + 5000,
    }).effects[0] as FileEffect
    expect(later.path).toBe(a[0]?.path)
    expect(a[0]?.path).not.toBe(a[1]?.path)
  })

  it('the relative path rule rejects escapes', () => {
    for (const bad of ['../x.csv', '/etc/x', 'a/../../b', 'a\\b', 'a/./b', ''])
      expect(RelativePathSchema.safeParse(bad).success).toBe(false)
    expect(RelativePathSchema.safeParse('profiles/kindred-1.csv').success).toBe(true)
  })
})
