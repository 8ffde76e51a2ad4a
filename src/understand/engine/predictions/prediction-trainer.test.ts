/**
 * The trainer on the leased queue, with the clock in the test's hands: a queued prediction is
 * trained and its scores land as computed traits; a training held by a live lease is left alone
 * and picked up once the lease runs out (its worker died); a ready model is retrained once it is
 * a day old; a training that keeps failing is retried with backoff and then `failed`, its error
 * kept.
 */
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStore, type Store } from '../../../platform/store/open-store.js'
import { createPredictionTrainer } from './prediction-trainer.js'
import { createPrediction, getPrediction } from './predictions-service.js'

const WS = 'default'
const HOUR = 3_600_000
const DAY = 24 * HOUR
const t0 = Date.UTC(2026, 0, 10)
let store: Store
let now = t0

async function seed(): Promise<void> {
  // Six customers, each buying on a few distinct days over the last ten weeks.
  let seq = 0
  for (let c = 0; c < 6; c++) {
    const pid = `prf_c${c}`
    await store.db.query(
      `INSERT INTO profiles (workspace_id, id, created_at, updated_at) VALUES ($1, $2, now(), now())`,
      [WS, pid],
    )
    for (let k = 0; k <= c % 4; k++) {
      const at = new Date(t0 - (70 - k * 9 - c) * DAY).toISOString()
      seq++
      await store.db.query(
        `INSERT INTO events (workspace_id, profile_id, source_id, message_id, seq, type, event, "timestamp",
           received_at, properties, payload)
         VALUES ($1, $2, 'src_t', $3, $4, 'track', 'Order Completed', $5, $5, $6::jsonb, '{}'::jsonb)`,
        [WS, pid, `m${seq}`, seq, at, JSON.stringify({ revenue: 10 + c })],
      )
    }
  }
}

const trainer = () =>
  createPredictionTrainer({
    db: store.db,
    logger: pino({ level: 'silent' }),
    clock: () => now,
    minRepeatCustomers: 3,
    leaseMs: HOUR,
    maxAttempts: 3,
  })

beforeAll(async () => {
  store = await openStore({})
  await seed()
})
afterAll(() => store.close())

describe('prediction trainer', () => {
  let id = ''
  it('trains a queued prediction and writes its traits', async () => {
    const p = await createPrediction(
      store.db,
      WS,
      {
        name: 'small',
        kind: 'clv',
        horizonPeriods: 4,
        discountRate: 0.1,
        purchaseEvent: 'Order Completed',
        revenueProperty: 'revenue',
        periodDays: 7,
        penalizer: 0,
      },
      new Date(now),
    )
    id = p.id
    expect(await trainer().runOnce()).toBe(1)
    const done = await getPrediction(store.db, WS, id)
    expect(done?.status).toBe('ready')
    expect(done?.progress).toMatchObject({ phase: 'done', written: 6, total: 6 })
    const n = await store.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM computed_trait_values WHERE computed_trait_id LIKE 'predicted.small.%'`,
    )
    expect(Number(n.rows[0]?.n)).toBe(18)
    expect(await trainer().runOnce()).toBe(0)
  })

  it('leaves a training under a live lease alone, and takes it over once the lease ran out', async () => {
    await store.db.query(
      `UPDATE predictions SET status = 'training', locked_until = $2 WHERE id = $1`,
      [id, new Date(now + HOUR).toISOString()],
    )
    expect(await trainer().runOnce()).toBe(0)
    now += 2 * HOUR
    expect(await trainer().runOnce()).toBe(1)
    expect((await getPrediction(store.db, WS, id))?.status).toBe('ready')
  })

  it('retrains a ready model once it is a day old', async () => {
    const before = (await getPrediction(store.db, WS, id))?.trainedAt
    now += 2 * HOUR
    expect(await trainer().runOnce()).toBe(0)
    now += DAY
    expect(await trainer().runOnce()).toBe(1)
    const after = await getPrediction(store.db, WS, id)
    expect(after?.status).toBe('ready')
    expect(after?.trainedAt).not.toBe(before)
  })

  it('retries a failing training with backoff, then marks it failed with the error', async () => {
    // Settings the schema refuses: every attempt throws.
    await store.db.query(
      `UPDATE predictions SET status = 'queued', settings = '{}'::jsonb, next_run_at = $2 WHERE id = $1`,
      [id, new Date(now).toISOString()],
    )
    const t = trainer()
    expect(await t.runOnce()).toBe(1)
    let p = await getPrediction(store.db, WS, id)
    expect(p?.status).toBe('queued')
    expect(p?.attempts).toBe(1)
    expect(await t.runOnce()).toBe(0) // not due yet: backoff
    for (let i = 0; i < 2; i++) {
      now += HOUR
      expect(await t.runOnce()).toBe(1)
    }
    p = await getPrediction(store.db, WS, id)
    expect(p?.status).toBe('failed')
    expect(p?.error).toMatch(/horizonPeriods|discountRate/)
  })
})
