import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  ftruncateSync,
  unlinkSync,
} from 'node:fs'
import { open, rename, type FileHandle } from 'node:fs/promises'
import path from 'node:path'
import { crc32 } from 'node:zlib'
import { normalizeEvent, type KindredEvent } from '../../protocol/event-schema.js'
import {
  decodeRawEvents,
  eventsFromRaw,
  rawEventsJson,
  type StoredRawEvents,
} from '../../protocol/raw-events.js'
import { createGroupCommitter } from './group-commit.js'
import {
  entryEventCount,
  type EventLog,
  type LogEntry,
  type LogErasure,
  type LogErasureResult,
  type LogRecord,
} from './event-log.js'

/**
 * The embedded event log: append-only segment files with group commit. Each record is
 * `[u32 length][u32 crc32][JSON payload]`; a group of records is written with one write and one
 * fdatasync, and every request in the group is acknowledged after that fdatasync (durable against
 * a process crash and a power cut). On open, a torn tail (partial record or bad checksum after a
 * crash mid-write) is cut off: those records were never acknowledged.
 *
 * Positions are global byte offsets; a segment file is named by the position it starts at.
 * See docs/adr/0002 for why this replaced an `event_log` table on PGlite.
 *
 * Privacy deletion (`erase`, ADR 0009): a segment holding the person's events is copied with each
 * such record replaced by one of the same length (the other events of the record, padded with
 * spaces), fsynced, and renamed over the original. Positions, hence the processor's cursor, stay
 * valid, and a crash leaves either the old or the new file, both whole.
 */
export interface FileEventLogOptions {
  maxQueuedEvents?: number
  /** Start a new segment past this size. */
  segmentBytes?: number
  /** Skip fdatasync (tests of other things on slow disks; never in production). */
  fsync?: boolean
}

const HEADER = 8
const READ_WINDOW = 8 * 1024 * 1024
const CLOSE_BRACE = Buffer.from('}')
/** A segment being rewritten; left over by a crash, it is unfinished and the original stands. */
const REWRITE_SUFFIX = '.rewrite'

interface StoredRecord {
  w: string
  s: string
  r: string
  e?: KindredEvent[]
  x?: StoredRawEvents
}

function recordEvents(p: StoredRecord): KindredEvent[] {
  return p.x ? eventsFromRaw(p.x, p.r) : (p.e ?? [])
}

/**
 * The raw form without the dropped events (undefined when none is left). Each made messageId
 * goes with the event it was made for, so the kept events normalise to the same canonical events.
 */
function rawWithout(
  x: StoredRawEvents,
  receivedAtIso: string,
  drop: boolean[],
): StoredRawEvents | undefined {
  const raws = x.a ? (x.b as { batch?: unknown }).batch : [x.b]
  if (!Array.isArray(raws) || !x.a) return undefined
  let made = 0
  const keptRaws: unknown[] = []
  const keptIds: string[] = []
  const receivedAt = new Date(receivedAtIso)
  raws.forEach((raw: unknown, i) => {
    const start = made
    normalizeEvent(raw, x.t ?? undefined, {
      receivedAt,
      receivedAtIso,
      newMessageId: () => x.m[made++] ?? '',
      ...(x.v ? { envelope: x.v } : {}),
      correctSkew: x.k,
    })
    if (!drop[i]) {
      keptRaws.push(raw)
      keptIds.push(...x.m.slice(start, made))
    }
  })
  if (keptRaws.length === 0) return undefined
  return { ...x, m: keptIds, b: { ...(x.b as Record<string, unknown>), batch: keptRaws } }
}

/**
 * A record body of exactly `length` bytes holding the kept events, or undefined when none fits.
 * Tried in order: the raw form without the person's events (as small as what was sent), the
 * canonical kept events, and, for a record already applied (never read again), no events.
 * Each candidate is decoded back and must give exactly the kept events.
 */
function replacementBody(
  p: StoredRecord,
  events: KindredEvent[],
  drop: boolean[],
  length: number,
  consumed: boolean,
): Buffer | undefined {
  const kept = events.filter((_, i) => !drop[i])
  const want = JSON.stringify(kept)
  const head = `{"w":${JSON.stringify(p.w)},"s":${JSON.stringify(p.s)},"r":${JSON.stringify(p.r)}`
  const candidates: { json: string; check: boolean }[] = []
  const raw = p.x && kept.length > 0 ? rawWithout(p.x, p.r, drop) : undefined
  if (raw) candidates.push({ json: `${head},"x":${JSON.stringify(raw)}}`, check: true })
  candidates.push({ json: `${head},"e":${want}}`, check: true })
  if (consumed) candidates.push({ json: `${head},"e":[]}`, check: false })
  for (const c of candidates) {
    const bytes = Buffer.from(c.json)
    if (bytes.length > length) continue
    const padded = Buffer.alloc(length, 0x20)
    bytes.copy(padded)
    if (c.check) {
      try {
        const back = recordEvents(JSON.parse(padded.toString('utf8')) as StoredRecord)
        if (JSON.stringify(back) !== want) continue
      } catch {
        continue
      }
    }
    return padded
  }
  return undefined
}

function segmentName(base: number): string {
  return `${String(base).padStart(20, '0')}.log`
}

function listSegments(dir: string): number[] {
  return readdirSync(dir)
    .filter((f) => /^\d{20}\.log$/.test(f))
    .map((f) => Number(f.slice(0, 20)))
    .sort((a, b) => a - b)
}

/** Length of the valid prefix of a segment (whole records with good checksums). */
function validLength(file: string): number {
  const fd = openSync(file, 'r')
  try {
    const size = fstatSync(fd).size
    const header = Buffer.alloc(HEADER)
    let pos = 0
    while (pos + HEADER <= size) {
      readSync(fd, header, 0, HEADER, pos)
      const len = header.readUInt32LE(0)
      if (pos + HEADER + len > size) break
      const body = Buffer.alloc(len)
      readSync(fd, body, 0, len, pos + HEADER)
      if (crc32(body) !== header.readUInt32LE(4)) break
      pos += HEADER + len
    }
    return pos
  } finally {
    closeSync(fd)
  }
}

export async function openFileEventLog(
  dir: string,
  options: FileEventLogOptions = {},
): Promise<EventLog> {
  const maxQueuedEvents = options.maxQueuedEvents ?? 200_000
  const segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024
  const fsync = options.fsync ?? true
  mkdirSync(dir, { recursive: true })
  for (const f of readdirSync(dir)) {
    if (f.endsWith(REWRITE_SUFFIX)) unlinkSync(path.join(dir, f))
  }

  let segments = listSegments(dir)
  if (segments.length === 0) segments = [0]
  let base = segments[segments.length - 1] as number
  const tailFile = path.join(dir, segmentName(base))
  let tailLength = 0
  if (existsSync(tailFile)) {
    tailLength = validLength(tailFile)
    const fd = openSync(tailFile, 'r+')
    ftruncateSync(fd, tailLength)
    closeSync(fd)
  }
  let handle: FileHandle = await open(tailFile, 'a')
  /** Position after the last durable record. */
  let end = base + tailLength

  // The tail may hold a partial write after a failure: it is cut on the next open, and nothing
  // after it was acknowledged, so a failed write refuses everything after it (stopOnFailure).
  const committer = createGroupCommitter<Buffer>(writeFrames, {
    maxQueuedEvents,
    stopOnFailure: true,
  })
  /** The highest position the processor has committed (`release`): records up to it are applied. */
  let released = 0
  /** Erasure and release take turns: a release must not delete a segment being rewritten. */
  let turns: Promise<unknown> = Promise.resolve()
  function inTurn<T>(fn: () => Promise<T>): Promise<T> {
    const run = turns.then(fn, fn)
    turns = run.catch(() => undefined)
    return run
  }

  /** One group: one write and one fdatasync, in a new segment past `segmentBytes`. */
  async function writeFrames(frames: Buffer[]): Promise<void> {
    if (end - base >= segmentBytes) {
      await handle.close()
      base = end
      segments.push(base)
      handle = await open(path.join(dir, segmentName(base)), 'a')
    }
    const buf = frames.length === 1 ? (frames[0] as Buffer) : Buffer.concat(frames)
    let written = 0
    while (written < buf.length) {
      const r = await handle.write(buf, written, buf.length - written)
      written += r.bytesWritten
    }
    if (fsync) await handle.datasync()
    end += buf.length
  }

  function frameOf(entry: LogEntry): Buffer {
    // Build the JSON by hand around the events: one stringify per request (or none, when the
    // events come as sent: `x`, ADR 0005), no wrapper copy.
    const head = `{"w":${JSON.stringify(entry.workspaceId)},"s":${JSON.stringify(entry.sourceId)},"r":${JSON.stringify(entry.receivedAt)}`
    const parts = entry.rawEvents
      ? [Buffer.from(`${head},"x":`), ...rawEventsJson(entry.rawEvents), CLOSE_BRACE]
      : [Buffer.from(`${head},"e":${entry.eventsJson ?? JSON.stringify(entry.events)}}`)]
    let length = 0
    let crc = 0
    for (const part of parts) {
      length += part.length
      crc = crc32(part, crc)
    }
    const header = Buffer.allocUnsafe(HEADER)
    header.writeUInt32LE(length, 0)
    header.writeUInt32LE(crc, 4)
    const frame = Buffer.concat([header, ...parts], HEADER + length)
    return frame
  }

  async function readFrom(position: number, maxEvents: number): Promise<LogRecord[]> {
    const out: LogRecord[] = []
    let events = 0
    let pos = position
    const limit = end
    while (pos < limit && events < maxEvents) {
      const segBase = segments.filter((s) => s <= pos).at(-1)
      if (segBase === undefined)
        throw new Error(`event log position ${pos} is before the oldest segment`)
      const nextBase = segments.find((s) => s > segBase) ?? Infinity
      const segEnd = Math.min(limit, nextBase)
      const want = Math.min(segEnd - pos, READ_WINDOW)
      const buf = Buffer.allocUnsafe(want)
      const fh = await open(path.join(dir, segmentName(segBase)), 'r')
      let bytesRead: number
      try {
        bytesRead = (await fh.read(buf, 0, want, pos - segBase)).bytesRead
      } finally {
        await fh.close()
      }
      let off = 0
      while (off + HEADER <= bytesRead && events < maxEvents) {
        const len = buf.readUInt32LE(off)
        if (off + HEADER + len > bytesRead) break
        const p = JSON.parse(buf.toString('utf8', off + HEADER, off + HEADER + len)) as {
          w: string
          s: string
          r: string
          e?: LogRecord['events']
          x?: StoredRawEvents
        }
        off += HEADER + len
        const decoded = p.x ? decodeRawEvents(p.x, p.r) : { events: p.e ?? [], rejected: [] }
        const recordEvents = decoded.events
        out.push({
          seq: pos + off,
          workspaceId: p.w,
          sourceId: p.s,
          receivedAt: p.r,
          events: recordEvents,
          ...(decoded.rejected.length > 0 ? { rejected: decoded.rejected } : {}),
        })
        events += recordEvents.length + decoded.rejected.length
      }
      // Records are written whole below `end`, and a request is far smaller than the window.
      if (off === 0) throw new Error(`event log record at ${pos} is unreadable`)
      pos += off
    }
    return out
  }

  /** Rewrites one segment without the person's events (see the header); the tail under pause. */
  async function eraseInSegment(segBase: number, req: LogErasure): Promise<LogErasureResult> {
    const result: LogErasureResult = { records: 0, events: 0, deferred: 0 }
    const file = path.join(dir, segmentName(segBase))
    if (committer.closed || !existsSync(file)) return result
    // The segment being written is rewritten with appends held back (they queue), so that its
    // length is `end` throughout and the append handle can be reopened on the new file.
    let tail = segBase === base
    if (tail) {
      await committer.pause()
      tail = segBase === base
      if (!tail) committer.resume()
    }
    try {
      const length = tail ? end - segBase : undefined
      const fh = await open(file, 'r')
      let buf: Buffer
      try {
        const size = length ?? (await fh.stat()).size
        buf = Buffer.alloc(size)
        let got = 0
        while (got < size) {
          const r = await fh.read(buf, got, size - got, got)
          if (r.bytesRead === 0) break
          got += r.bytesRead
        }
        buf = buf.subarray(0, got)
      } finally {
        await fh.close()
      }
      let pos = 0
      while (pos + HEADER <= buf.length) {
        const len = buf.readUInt32LE(pos)
        const bodyStart = pos + HEADER
        if (bodyStart + len > buf.length) break
        const text = buf.toString('utf8', bodyStart, bodyStart + len)
        pos = bodyStart + len
        // Cheap test first: a record that names none of the identifiers (and hides nothing
        // behind a \u escape) is not parsed.
        const lower = text.toLowerCase()
        if (!text.includes('\\u') && !req.needles.some((n) => lower.includes(n))) continue
        const p = JSON.parse(text) as StoredRecord
        if (p.w !== req.workspaceId) continue
        let events: KindredEvent[]
        try {
          events = recordEvents(p)
        } catch {
          // A record written by older rules, whose events no longer validate: the processor set
          // them aside. Once consumed it is blanked whole; before that it waits like any record
          // that cannot be rewritten in place.
          const consumed = segBase + pos <= released
          const blank = Buffer.from(
            `{"w":${JSON.stringify(p.w)},"s":${JSON.stringify(p.s)},"r":${JSON.stringify(p.r)},"e":[]}`,
          )
          const mentions = req.needles.some((n) => lower.includes(n))
          if (!mentions) continue
          if (!consumed || blank.length > len) {
            result.deferred++
            continue
          }
          const body = Buffer.alloc(len, 0x20)
          blank.copy(body)
          body.copy(buf, bodyStart)
          buf.writeUInt32LE(crc32(body), bodyStart - 4)
          result.records++
          continue
        }
        const drop = events.map((e) => req.concerns(e))
        const dropped = drop.filter(Boolean).length
        if (dropped === 0) continue
        const body = replacementBody(p, events, drop, len, segBase + pos <= released)
        if (!body) {
          result.deferred++
          continue
        }
        body.copy(buf, bodyStart)
        buf.writeUInt32LE(crc32(body), bodyStart - 4)
        result.records++
        result.events += dropped
      }
      if (result.records === 0) return result
      const temp = `${file}${REWRITE_SUFFIX}`
      const out = await open(temp, 'w')
      try {
        let written = 0
        while (written < buf.length) {
          const r = await out.write(buf, written, buf.length - written)
          written += r.bytesWritten
        }
        if (fsync) await out.sync()
      } finally {
        await out.close()
      }
      if (tail) await handle.close()
      try {
        await rename(temp, file)
        if (fsync) {
          const d = await open(dir, 'r')
          try {
            await d.sync()
          } finally {
            await d.close()
          }
        }
      } finally {
        if (tail) handle = await open(file, 'a')
      }
      return result
    } finally {
      if (tail) committer.resume()
    }
  }

  return {
    append(entry) {
      return committer.submit(entryEventCount(entry), () => frameOf(entry))
    },
    onAppended: (listener) => committer.onCommitted(listener),
    async read(_tx, afterSeq, maxEvents) {
      return readFrom(afterSeq, maxEvents)
    },
    release(seq) {
      return inTurn(async () => {
        released = Math.max(released, seq)
        // Drop whole segments that end at or before `seq` (never the one being written).
        while (segments.length > 1 && (segments[1] as number) <= seq) {
          const old = segments.shift() as number
          const file = path.join(dir, segmentName(old))
          if (existsSync(file)) unlinkSync(file)
        }
      })
    },
    erase(request) {
      return inTurn(async () => {
        const total: LogErasureResult = { records: 0, events: 0, deferred: 0 }
        if (request.needles.length === 0) return total
        for (const segBase of [...segments]) {
          const r = await eraseInSegment(segBase, request)
          total.records += r.records
          total.events += r.events
          total.deferred += r.deferred
        }
        return total
      })
    },
    async close() {
      await committer.close()
      // An erasure in progress resumes the appends it held back: wait for those too.
      await turns
      await committer.close()
      await handle.close()
    },
  }
}
