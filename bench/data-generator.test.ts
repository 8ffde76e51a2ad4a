import { describe, expect, it } from 'vitest'
import { normalizeEvent } from '../src/protocol/event-schema.js'
import { createRng, generateCustomers, generateEvents } from './data-generator.js'

const opts = { seed: 42, customers: 300 }

describe('createRng', () => {
  it('repeats its sequence for a seed and differs across seeds', () => {
    const a = createRng(7)
    const b = createRng(7)
    const c = createRng(8)
    const sa = Array.from({ length: 20 }, () => a.next())
    expect(Array.from({ length: 20 }, () => b.next())).toEqual(sa)
    expect(Array.from({ length: 20 }, () => c.next())).not.toEqual(sa)
    for (const v of sa) expect(v >= 0 && v < 1).toBe(true)
  })
})

describe('generateEvents', () => {
  it('is deterministic for a seed and changes with the seed', () => {
    const a = generateEvents(opts)
    expect(JSON.stringify(generateEvents(opts))).toBe(JSON.stringify(a))
    expect(JSON.stringify(generateEvents({ ...opts, seed: 43 }))).not.toBe(JSON.stringify(a))
    expect(a.length).toBeGreaterThan(opts.customers * 3)
  })

  it('returns exactly the requested number of events, in time order', () => {
    for (const n of [0, 1, 999, 2500]) {
      const events = generateEvents({ seed: 5, events: n })
      expect(events).toHaveLength(n)
      for (let i = 1; i < events.length; i++) {
        expect(events[i - 1]!.timestamp <= events[i]!.timestamp).toBe(true)
      }
    }
  })

  it('keeps customer i the same whatever the run size', () => {
    const small = generateCustomers({ seed: 9, customers: 10 })
    const large = generateCustomers({ seed: 9, customers: 50 })
    expect(large.slice(0, 10)).toEqual(small)
  })

  it('produces only events that pass normalizeEvent, with unique messageIds', () => {
    const events = generateEvents(opts)
    let n = 0
    for (const e of events) {
      const r = normalizeEvent(e, undefined, {
        receivedAt: new Date('2026-02-01T00:00:00.000Z'),
        newMessageId: () => `fallback-${n++}`,
      })
      if (!r.ok) throw new Error(`${JSON.stringify(e)}: ${JSON.stringify(r.issues)}`)
      expect(r.event.messageId).toBe(e.messageId)
    }
    expect(n).toBe(0)
    expect(new Set(events.map((e) => e.messageId)).size).toBe(events.length)
  })

  it('covers the e-commerce funnel', () => {
    const events = generateEvents(opts)
    const names = new Set(events.map((e) => (e.type === 'track' ? e.event : e.type)))
    for (const n of ['page', 'identify', 'Product Viewed', 'Product Added', 'Order Completed'])
      expect(names).toContain(n)
    const orders = events.filter((e) => e.event === 'Order Completed')
    for (const o of orders) {
      expect(o.userId).toBeDefined()
      expect(o.properties?.revenue).toBeGreaterThan(0)
    }
  })

  it('joins every device of an identified customer under one userId and email', () => {
    const customers = generateCustomers(opts)
    const events = generateEvents(opts)
    const identified = customers.filter((c) => c.userId !== null)
    const multiDevice = identified.filter((c) => c.devices.length > 1)
    expect(identified.length).toBeGreaterThan(opts.customers * 0.4)
    expect(multiDevice.length).toBeGreaterThan(20)
    const byAnon = new Map<string, Set<string>>()
    const identifies = new Map<string, Set<string>>()
    for (const e of events) {
      if (e.userId === undefined) continue
      let users = byAnon.get(e.anonymousId)
      if (!users) byAnon.set(e.anonymousId, (users = new Set()))
      users.add(e.userId)
      if (e.type === 'identify') {
        let emails = identifies.get(e.userId)
        if (!emails) identifies.set(e.userId, (emails = new Set()))
        emails.add(String(e.traits?.email))
      }
    }
    for (const c of identified) {
      for (const d of c.devices) expect([...(byAnon.get(d.anonymousId) ?? [])]).toEqual([c.userId])
      expect([...(identifies.get(c.userId as string) ?? [])]).toEqual([c.email])
    }
    for (const c of customers.filter((x) => x.userId === null)) {
      for (const d of c.devices) expect(byAnon.has(d.anonymousId)).toBe(false)
    }
  })

  it('browses anonymously before the first login', () => {
    const customers = generateCustomers(opts)
    const events = generateEvents(opts)
    const c = customers.find((x) => x.userId !== null && (x.loginSession ?? 0) > 0)
    expect(c).toBeDefined()
    const own = events.filter((e) => c!.devices.some((d) => d.anonymousId === e.anonymousId))
    expect(own[0]!.userId).toBeUndefined()
    expect(own.at(-1)!.userId).toBe(c!.userId)
  })
})
