import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  appendFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openFileEventLog } from './file-event-log.js'
import { normalizeEvent, type KindredEvent } from '../../protocol/event-schema.js'
import type { Queryable } from '../store/db.js'

const noTx = {} as Queryable
const dirs: string[] = []
const tempDir = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'kindred-log-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const ev = (messageId: string): KindredEvent => ({
  messageId,
  type: 'track',
  event: 'E',
  userId: 'u',
  properties: { text: 'é ✓ "quoted"' },
  traits: {},
  context: {},
  integrations: {},
  timestamp: '2026-01-01T00:00:00.000Z',
  originalTimestamp: '2026-01-01T00:00:00.000Z',
  receivedAt: '2026-01-01T00:00:00.000Z',
})
const entry = (...ids: string[]) => ({
  workspaceId: 'w',
  sourceId: 's',
  receivedAt: '2026-01-01T00:00:00.000Z',
  events: ids.map(ev),
})

describe('file event log', () => {
  it('stores events as sent and reads back exactly the canonical events ingest made', async () => {
    const log = await openFileEventLog(tempDir())
    const receivedAt = new Date('2026-01-02T00:00:00.000Z')
    const receivedAtIso = receivedAt.toISOString()
    const envelope = { context: { locale: 'fr' }, sentAt: '2026-01-01T23:59:00.000Z' }
    const body = Buffer.from(
      '{"batch":[ {"type":"track","event":"É","userId":"u","timestamp":"2026-01-01T23:58:00Z"},\n' +
        '{"type":"identify","anonymousId":"a","traits":{"n":1e2}} ],"context":{"locale":"fr"}}',
    )
    const batch = (JSON.parse(body.toString()) as { batch: unknown[] }).batch
    const madeIds: string[] = []
    const options = {
      receivedAt,
      receivedAtIso,
      envelope,
      correctSkew: true,
      newMessageId: () => {
        madeIds.push(`made-${madeIds.length}`)
        return madeIds.at(-1) as string
      },
    }
    const events = batch.map((raw) => {
      const r = normalizeEvent(raw, undefined, options)
      if (!r.ok) throw new Error('invalid')
      return r.event
    })
    const { envelope: _unused, ...singleOptions } = options
    const single = normalizeEvent({ userId: 'v', event: 'S' }, 'track', singleOptions)
    if (!single.ok) throw new Error('invalid')
    const base = { workspaceId: 'w', sourceId: 's', receivedAt: receivedAtIso }
    await log.append({
      ...base,
      events,
      rawEvents: {
        body,
        batch: true,
        envelope,
        correctSkew: true,
        madeIds: madeIds.slice(0, 2),
      },
    })
    await log.append({
      ...base,
      events: [single.event],
      rawEvents: {
        body: Buffer.from('{"userId":"v","event":"S"}'),
        batch: false,
        impliedType: 'track',
        correctSkew: true,
        madeIds: madeIds.slice(2),
      },
    })
    const read = await log.read(noTx, 0, 100)
    expect(read.map((r) => r.events)).toEqual([events, [single.event]])
    expect(read[0]?.events[0]?.timestamp).toBe('2026-01-01T23:59:00.000Z')
    await log.close()
  })

  it('group-commits concurrent appends and reads them back in order, by event budget', async () => {
    const dir = tempDir()
    const log = await openFileEventLog(dir)
    await Promise.all(Array.from({ length: 30 }, (_, i) => log.append(entry(`m${i}a`, `m${i}b`))))
    const all = await log.read(noTx, 0, 1_000)
    expect(all.flatMap((r) => r.events.map((e) => e.messageId))).toEqual(
      Array.from({ length: 30 }, (_, i) => [`m${i}a`, `m${i}b`]).flat(),
    )
    expect(all[0]?.events[0]?.properties).toEqual({ text: 'é ✓ "quoted"' })
    const seqs = all.map((r) => r.seq)
    expect(new Set(seqs).size).toBe(30)
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs)
    const firstFive = await log.read(noTx, 0, 10)
    expect(firstFive).toHaveLength(5)
    const rest = await log.read(noTx, firstFive.at(-1)?.seq ?? 0, 1_000)
    expect(rest).toHaveLength(25)
    expect(await log.read(noTx, all.at(-1)?.seq ?? 0, 1_000)).toEqual([])
    await log.close()
  })

  it('survives reopen, and cuts a torn tail left by a crash mid-write', async () => {
    const dir = tempDir()
    const log = await openFileEventLog(dir)
    await log.append(entry('a'))
    await log.append(entry('b'))
    await log.close()
    const [segment] = readdirSync(dir)
    const file = path.join(dir, segment as string)
    const goodSize = statSync(file).size
    // A half-written record: a header promising more bytes than follow.
    appendFileSync(file, Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 5, 6]))
    const reopened = await openFileEventLog(dir)
    expect(statSync(file).size).toBe(goodSize)
    await reopened.append(entry('c'))
    const records = await reopened.read(noTx, 0, 100)
    expect(records.flatMap((r) => r.events.map((e) => e.messageId))).toEqual(['a', 'b', 'c'])
    await reopened.close()
  })

  it('cuts a tail whose checksum does not match', async () => {
    const dir = tempDir()
    const log = await openFileEventLog(dir)
    await log.append(entry('a'))
    await log.close()
    const file = path.join(dir, readdirSync(dir)[0] as string)
    const body = Buffer.from('{"w":"w","s":"s","r":"x","e":[]}')
    const header = Buffer.alloc(8)
    header.writeUInt32LE(body.length, 0)
    header.writeUInt32LE(12345, 4)
    appendFileSync(file, Buffer.concat([header, body]))
    const reopened = await openFileEventLog(dir)
    expect(
      (await reopened.read(noTx, 0, 100)).flatMap((r) => r.events.map((e) => e.messageId)),
    ).toEqual(['a'])
    await reopened.close()
  })

  it('rolls segments and drops the ones fully released', async () => {
    const dir = tempDir()
    const log = await openFileEventLog(dir, { segmentBytes: 600 })
    for (let i = 0; i < 12; i++) await log.append(entry(`r${i}`))
    const segmentsBefore = readdirSync(dir).length
    expect(segmentsBefore).toBeGreaterThan(2)
    const records = await log.read(noTx, 0, 1_000)
    expect(records.flatMap((r) => r.events.map((e) => e.messageId))).toEqual(
      Array.from({ length: 12 }, (_, i) => `r${i}`),
    )
    const middle = records[6]?.seq ?? 0
    await log.release?.(middle)
    expect(readdirSync(dir).length).toBeLessThan(segmentsBefore)
    const after = await log.read(noTx, middle, 1_000)
    expect(after.flatMap((r) => r.events.map((e) => e.messageId))).toEqual(
      Array.from({ length: 5 }, (_, i) => `r${i + 7}`),
    )
    await log.close()
    const reopened = await openFileEventLog(dir, { segmentBytes: 600 })
    expect((await reopened.read(noTx, middle, 1_000)).length).toBe(5)
    await reopened.close()
  })

  it('pushes back with OVERLOADED instead of queueing without bound, and refuses appends once closed', async () => {
    const dir = tempDir()
    const log = await openFileEventLog(dir, { maxQueuedEvents: 3 })
    const results = await Promise.allSettled([
      log.append(entry('1', '2')),
      log.append(entry('3', '4')),
    ])
    expect(results[0]?.status).toBe('fulfilled')
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: 'OVERLOADED' } })
    await log.close()
    await expect(log.append(entry('x'))).rejects.toMatchObject({ code: 'UNAVAILABLE' })
  })

  describe('erase (privacy deletion)', () => {
    const PERSON = 'Erin.Doe@Example.com'
    const person = (e: KindredEvent) =>
      e.userId === 'erin-42' || JSON.stringify(e).toLowerCase().includes('erin.doe@example.com')
    const request = {
      workspaceId: 'w',
      needles: ['erin-42', 'erin.doe@example.com'],
      concerns: person,
    }
    const ids = (records: { events: KindredEvent[] }[]) =>
      records.flatMap((r) => r.events.map((e) => e.messageId))
    const filesText = (dir: string) =>
      readdirSync(dir)
        .map((f) => readFileSync(path.join(dir, f), 'utf8'))
        .join('\n')
        .toLowerCase()

    /** A raw batch (as ingest stores it): Erin's event between two of someone else's. */
    async function appendRawBatch(log: Awaited<ReturnType<typeof openFileEventLog>>) {
      const receivedAt = new Date('2026-01-02T00:00:00.000Z')
      const body = Buffer.from(
        JSON.stringify({
          batch: [
            { type: 'track', event: 'Kept 1', userId: 'other-1' },
            { type: 'identify', userId: 'erin-42', traits: { email: PERSON } },
            { type: 'track', event: 'Kept 2', anonymousId: 'other-anon', messageId: 'own-id' },
          ],
        }),
      )
      const made: string[] = []
      const options = {
        receivedAt,
        receivedAtIso: receivedAt.toISOString(),
        correctSkew: true,
        newMessageId: () => {
          made.push(`made-${made.length}`)
          return made.at(-1) as string
        },
      }
      const events = (JSON.parse(body.toString()) as { batch: unknown[] }).batch.map((raw) => {
        const r = normalizeEvent(raw, undefined, options)
        if (!r.ok) throw new Error('invalid')
        return r.event
      })
      await log.append({
        workspaceId: 'w',
        sourceId: 's',
        receivedAt: options.receivedAtIso,
        events,
        rawEvents: { body, batch: true, correctSkew: true, madeIds: made },
      })
      return events
    }

    it('rewrites the records holding the person, keeping everyone else and every position', async () => {
      const dir = tempDir()
      const log = await openFileEventLog(dir, { segmentBytes: 1_500 })
      await log.append(entry('a1'))
      const raw = await appendRawBatch(log)
      const erin = { ...ev('e1'), userId: 'erin-42', properties: { email: PERSON } }
      await log.append({ ...entry('b1'), events: [ev('b1'), erin, ev('b2')] })
      await log.append({ ...entry('c1'), events: [erin] })
      await log.append({
        ...entry('z1'),
        workspaceId: 'other-ws',
        events: [{ ...erin, messageId: 'other-ws-e' }],
      })
      for (let i = 0; i < 6; i++) await log.append(entry(`t${i}`))
      await log.append({ ...entry('d1'), events: [{ ...erin, messageId: 'e-tail' }] })
      expect(readdirSync(dir).length).toBeGreaterThan(1)
      const before = await log.read(noTx, 0, 1_000)
      expect(filesText(dir)).toContain('erin.doe@example.com')

      const result = await log.erase?.(request)
      expect(result).toEqual({ records: 4, events: 4, deferred: 0 })
      const after = await log.read(noTx, 0, 1_000)
      // Same records at the same positions: a cursor taken before the rewrite is still valid.
      expect(after.map((r) => r.seq)).toEqual(before.map((r) => r.seq))
      const expected = ids(before).filter((m) => !['e1', 'e-tail'].includes(m as string))
      expect(ids(after)).toEqual(expected.filter((m) => m !== raw[1]?.messageId))
      // The others' raw events normalise exactly as before (made messageIds follow their event).
      expect(after[1]?.events).toEqual([raw[0], raw[2]])
      // Only the person's workspace is touched.
      expect(after.find((r) => r.workspaceId === 'other-ws')?.events).toHaveLength(1)
      const mid = before[3]?.seq ?? 0
      expect(ids(await log.read(noTx, mid, 1_000))).toEqual(ids(after.slice(4)))

      // Appends go on after the tail was rewritten; a reopen finds every record whole.
      await log.append(entry('after'))
      await log.close()
      const reopened = await openFileEventLog(dir, { segmentBytes: 1_500 })
      expect(ids(await reopened.read(noTx, 0, 1_000))).toEqual([...ids(after), 'after'])
      await reopened.erase?.({ ...request, workspaceId: 'other-ws' })
      expect(filesText(dir)).not.toContain('erin.doe@example.com')
      expect(filesText(dir)).not.toContain('erin-42')
      expect(readdirSync(dir).every((f) => /^\d{20}\.log$/.test(f))).toBe(true)
      await reopened.close()
    })

    it('defers a pending record whose other events do not fit, and blanks it once applied', async () => {
      const dir = tempDir()
      const log = await openFileEventLog(dir)
      // Sent compact as a raw body holding a large exponent: the kept event's raw form and its
      // canonical form are both longer than what remains once the person's small event is cut.
      const receivedAt = '2026-01-02T00:00:00.000Z'
      const body = Buffer.from(
        '{"batch":[{"userId":"o","event":"E","properties":{"n":1e20,"m":1e20,"k":1e20}},{"userId":"erin-42","event":"x"}]}',
      )
      const made: string[] = []
      const options = {
        receivedAt: new Date(receivedAt),
        receivedAtIso: receivedAt,
        correctSkew: true,
        newMessageId: () => {
          made.push(`m${made.length}`)
          return made.at(-1) as string
        },
      }
      const events = (JSON.parse(body.toString()) as { batch: unknown[] }).batch.map((raw) => {
        const r = normalizeEvent(raw, 'track', options)
        if (!r.ok) throw new Error('invalid')
        return r.event
      })
      await log.append({
        workspaceId: 'w',
        sourceId: 's',
        receivedAt,
        events,
        rawEvents: { body, batch: true, impliedType: 'track', correctSkew: true, madeIds: made },
      })
      await log.append(entry('next'))
      const before = await log.read(noTx, 0, 100)
      expect(await log.erase?.(request)).toEqual({ records: 0, events: 0, deferred: 1 })
      expect(await log.read(noTx, 0, 100)).toEqual(before)
      // Applied (the tombstone stage erased the person from the store): nothing needs it now.
      await log.release?.(before[0]?.seq ?? 0)
      expect(await log.erase?.(request)).toEqual({ records: 1, events: 1, deferred: 0 })
      const after = await log.read(noTx, 0, 100)
      expect(after.map((r) => r.seq)).toEqual(before.map((r) => r.seq))
      expect(ids(after)).toEqual(['next'])
      expect(filesText(dir)).not.toContain('erin-42')
      await log.close()
    })

    it('a rewrite interrupted by a crash leaves the original segment in force', async () => {
      const dir = tempDir()
      const log = await openFileEventLog(dir)
      await log.append(entry('a'))
      await log.append(entry('b'))
      await log.close()
      const [segment] = readdirSync(dir)
      // What a crash before the rename leaves: a partial copy next to the intact original.
      writeFileSync(path.join(dir, `${segment}.rewrite`), Buffer.from([1, 2, 3]))
      const reopened = await openFileEventLog(dir)
      expect(readdirSync(dir)).toEqual([segment])
      expect(ids(await reopened.read(noTx, 0, 100))).toEqual(['a', 'b'])
      await reopened.close()
    })
  })
})
