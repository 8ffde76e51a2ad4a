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
import { open, type FileHandle } from 'node:fs/promises'
import path from 'node:path'
import { crc32 } from 'node:zlib'
import { KindredError } from '../protocol/errors.js'
import { decodeRawEvents, rawEventsJson, type StoredRawEvents } from '../protocol/raw-events.js'
import {
  entryEventCount,
  refuseAppend,
  type EventLog,
  type LogEntry,
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

  interface Pending {
    frame: Buffer
    events: number
    resolve: () => void
    reject: (err: unknown) => void
  }
  const queue: Pending[] = []
  const listeners = new Set<() => void>()
  let queuedEvents = 0
  let flushing: Promise<void> | undefined
  let closed = false

  async function drain(): Promise<void> {
    while (queue.length > 0) {
      const group = queue.splice(0, queue.length)
      try {
        if (end - base >= segmentBytes) {
          await handle.close()
          base = end
          segments.push(base)
          handle = await open(path.join(dir, segmentName(base)), 'a')
        }
        const buf =
          group.length === 1
            ? (group[0] as Pending).frame
            : Buffer.concat(group.map((p) => p.frame))
        let written = 0
        while (written < buf.length) {
          const r = await handle.write(buf, written, buf.length - written)
          written += r.bytesWritten
        }
        if (fsync) await handle.datasync()
        end += buf.length
        for (const p of group) p.resolve()
        for (const l of listeners) l()
      } catch (err) {
        // The tail may now hold a partial write: it is cut on the next open, and nothing after it
        // was acknowledged. Refuse further appends rather than write past a hole.
        closed = true
        const failure = new KindredError(
          'UNAVAILABLE',
          'the event log could not be written; retry',
          {
            cause: err,
            headers: { 'Retry-After': '1' },
          },
        )
        for (const p of group) p.reject(failure)
        for (const p of queue.splice(0)) p.reject(failure)
      } finally {
        for (const p of group) queuedEvents -= p.events
      }
    }
  }

  function kick(): void {
    if (flushing) return
    flushing = drain().finally(() => {
      flushing = undefined
      if (queue.length > 0) kick()
    })
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

  return {
    append(entry) {
      const count = entryEventCount(entry)
      const refused = refuseAppend(closed, queuedEvents, count, maxQueuedEvents)
      if (refused) return Promise.reject(refused)
      const frame = frameOf(entry)
      queuedEvents += count
      return new Promise<void>((resolve, reject) => {
        queue.push({ frame, events: count, resolve, reject })
        kick()
      })
    },
    onAppended(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    async read(_tx, afterSeq, maxEvents) {
      return readFrom(afterSeq, maxEvents)
    },
    async release(seq) {
      // Drop whole segments that end at or before `seq` (never the one being written).
      while (segments.length > 1 && (segments[1] as number) <= seq) {
        const old = segments.shift() as number
        const file = path.join(dir, segmentName(old))
        if (existsSync(file)) unlinkSync(file)
      }
    },
    async close() {
      closed = true
      while (flushing) await flushing
      await handle.close()
    },
  }
}
