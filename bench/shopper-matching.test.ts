import { describe, expect, it } from 'vitest'
import { generateShopperProfiles } from './shopper-profiles.js'
import { decideShoppers, shopperFigures } from './shopper-matching.js'

// The benchmark's generator and decisions at a small size, untimed: what the benchmark reports
// must hold on every seed, not just the one it prints.
describe('generated shoppers', () => {
  it('are the same for a seed, and hold the look-alikes real customer data has', () => {
    const a = generateShopperProfiles({ seed: 5, people: 400 })
    expect(JSON.stringify(generateShopperProfiles({ seed: 5, people: 400 }))).toBe(
      JSON.stringify(a),
    )
    expect(JSON.stringify(generateShopperProfiles({ seed: 6, people: 400 }))).not.toBe(
      JSON.stringify(a),
    )
    const emails = a.map((p) => p.traits.email).filter((e): e is string => typeof e === 'string')
    expect(emails.some((e) => /\+[a-z]+@gmail\.com$/.test(e))).toBe(true)
    expect(emails.some((e) => /\.crm\d+@example\.org$/.test(e))).toBe(true)
    // Many different people share a full name.
    const names = new Map<string, Set<number>>()
    for (const p of a) {
      const k = `${String(p.traits.firstName).toLowerCase()} ${String(p.traits.lastName).toLowerCase()}`
      names.set(k, (names.get(k) ?? new Set()).add(p.person))
    }
    expect([...names.values()].filter((s) => s.size > 1).length).toBeGreaterThan(20)
    // Households: different people on one phone.
    const byPhone = new Map<string, Set<number>>()
    for (const p of a.filter((p) => p.kind === 'household' && typeof p.traits.phone === 'string'))
      byPhone.set(String(p.traits.phone), new Set())
    for (const p of a) byPhone.get(String(p.traits.phone))?.add(p.person)
    expect([...byPhone.values()].some((s) => s.size > 1)).toBe(true)
    expect(a.filter((p) => p.kind === 'duplicate').length).toBeGreaterThan(50)
  })

  it.each([1, 2, 3])('never auto-merge two people, and find most duplicates (seed %i)', (seed) => {
    const shoppers = generateShopperProfiles({ seed, people: 600 })
    const before = shopperFigures(shoppers, decideShoppers(shoppers, 'before'))
    const decided = decideShoppers(shoppers, 'after')
    const after = shopperFigures(shoppers, decided)
    // The traps are there: the old defaults fall into them.
    expect(before.falseAutoMerges).toBeGreaterThan(0)
    expect(after.falseAutoMerges).toBe(0)
    expect(after.precision).toBe(1)
    expect(after.recall).toBeGreaterThanOrEqual(0.7)
    expect(after.recallWithReview).toBeGreaterThanOrEqual(0.85)
    const dup = after.foundByKind.duplicate!
    expect(dup.autoMerged / dup.truePairs).toBeGreaterThanOrEqual(0.9)
    // A second email of the same person is never merged on the model's word alone...
    const second = after.foundByKind['second-email']
    if (second) expect(second.autoMerged).toBeLessThan(second.truePairs)
    // ...and a queued pair of two different people says why, nearly always.
    const person = new Map(shoppers.map((p) => [p.id, p.person]))
    const strangers = decided.plan.review.filter((p) => person.get(p.a) !== person.get(p.b))
    const unexplained = strangers.filter((p) => p.reasonCode === null).length
    expect(unexplained).toBeLessThanOrEqual(Math.ceil(strangers.length * 0.05))
  })
})
