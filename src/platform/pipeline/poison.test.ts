import { afterAll, beforeAll, expect, it } from 'vitest'
import { startTestKindred, type TestKindred } from '../../testing/test-server.js'
import type { ProcessorStage } from './processor.js'
import { POISON_AFTER_FAILURES } from './poison.js'

let broken = false
/** A stage with a bug that only some events trigger, or (broken) that fails every batch. */
const fragile: ProcessorStage = async (_tx, batch) => {
  if (broken) throw new Error('stage down')
  for (const e of batch) if (e.event.properties.poison === true) throw new Error('bad apple')
}

let k: TestKindred
beforeAll(async () => {
  k = await startTestKindred({ stages: [fragile] })
  await k.kindred.processor?.stop()
})
afterAll(() => k.close())

async function attempt(): Promise<number | Error> {
  try {
    return (await k.kindred.processor?.runOnce()) ?? 0
  } catch (err) {
    return err as Error
  }
}

const count = async (sql: string, params: unknown[] = []) =>
  Number((await k.kindred.store.db.query<{ n: string }>(sql, params)).rows[0]?.n)

it('quarantines the one event that fails its batch, applies the rest, and keeps it there while it still fails', async () => {
  const { id, writeKey } = await k.createSource('poison')
  await k.track(writeKey, '/v1/batch', {
    batch: [
      { type: 'track', userId: 'a', event: 'Fine', messageId: 'ok-1' },
      {
        type: 'track',
        userId: 'a',
        event: 'Bad',
        messageId: 'poison-1',
        properties: { poison: true },
      },
      { type: 'track', userId: 'b', event: 'Fine', messageId: 'ok-2' },
    ],
  })
  for (let i = 0; i < POISON_AFTER_FAILURES; i++) {
    expect(await attempt()).toBeInstanceOf(Error)
  }
  expect(await attempt()).toBe(3)
  expect(await count('SELECT count(*) AS n FROM events WHERE source_id = $1', [id])).toBe(2)
  const q = (await (await k.admin(`/api/v1/sources/${id}/quarantine`)).json()) as {
    data: Array<{ messageId: string; reason: string; error: string }>
  }
  expect(q.data).toEqual([
    expect.objectContaining({ messageId: 'poison-1', reason: 'poison', error: 'bad apple' }),
  ])

  // Replayed while the bug is still there: it fails alone again and goes back to quarantine
  // (attempts counted) instead of blocking the log.
  const replay = await k.admin(`/api/v1/sources/${id}/quarantine/replay`, { body: {} })
  expect(await replay.json()).toMatchObject({ replayed: 1 })
  for (let i = 0; i < POISON_AFTER_FAILURES; i++) await attempt()
  expect(await attempt()).toBe(1)
  expect(
    await count("SELECT attempts AS n FROM quarantined_events WHERE message_id = 'poison-1'"),
  ).toBe(2)
})

it('sets nothing aside when every event fails alone (the fault is not in the events)', async () => {
  const { id, writeKey } = await k.createSource('outage')
  await k.track(writeKey, '/v1/batch', {
    batch: [
      { type: 'track', userId: 'c', event: 'Fine', messageId: 'o-1' },
      { type: 'track', userId: 'd', event: 'Fine', messageId: 'o-2' },
    ],
  })
  broken = true
  for (let i = 0; i < POISON_AFTER_FAILURES + 2; i++) expect(await attempt()).toBeInstanceOf(Error)
  expect(
    await count('SELECT count(*) AS n FROM quarantined_events WHERE source_id = $1', [id]),
  ).toBe(0)
  broken = false
  expect(await attempt()).toBe(2)
  expect(await count('SELECT count(*) AS n FROM events WHERE source_id = $1', [id])).toBe(2)
})
