/**
 * Finds the byte range of each element of the top-level `"batch"` array in a request body that
 * `JSON.parse` has already accepted: each event's size as sent (the 32 KB limit is on what the
 * client sent), without re-serialising it. Ingest only scans when `eventSizeLowerBound` cannot
 * rule out an event over the limit (ADR 0005).
 *
 * It answers `undefined` whenever it is not certain (an escaped or repeated top-level key, a
 * body that is not an object, a count that does not match): the caller then takes the slow path.
 * A byte scan is exact on valid JSON: structure only appears outside strings, and inside a string
 * every `"` that does not end it is preceded by a backslash escape.
 */
import * as bytes from './json-bytes.js'

// Local bindings: this scan runs on every batch body byte,
// and reading imported bindings there made it 20x slower when run through tsx (measured).
const BACKSLASH = bytes.BACKSLASH
const CLOSE_ARR = bytes.CLOSE_ARR
const CLOSE_OBJ = bytes.CLOSE_OBJ
const COLON = bytes.COLON
const COMMA = bytes.COMMA
const OPEN_ARR = bytes.OPEN_ARR
const OPEN_OBJ = bytes.OPEN_OBJ
const QUOTE = bytes.QUOTE
const isJsonSpace = bytes.isJsonSpace

const BATCH = Buffer.from('batch')

/** `[start, end)` byte ranges of the `batch` elements, or undefined when unsure. */
export function batchElementRanges(
  buf: Buffer,
  expected: number,
): Array<[number, number]> | undefined {
  let i = 0
  while (isJsonSpace(buf[i])) i++
  if (buf[i] !== OPEN_OBJ) return undefined
  let depth = 0
  let keyAtTop = false // the next string at depth 1 is a key
  let lastKeyWasBatch = false
  let batchSeen = false
  let inBatch = false
  let elementStart = -1
  const ranges: Array<[number, number]> = []
  const len = buf.length
  for (; i < len; i++) {
    const c = buf[i] as number
    if (c === QUOTE) {
      // Strings are mostly short: a byte loop beats a native indexOf call per string.
      let end = i + 1
      for (; end < len; end++) {
        const d = buf[end] as number
        if (d === BACKSLASH) end++
        else if (d === QUOTE) break
      }
      if (end >= len) return undefined
      if (depth === 1 && keyAtTop) {
        const key = buf.subarray(i + 1, end)
        if (key.includes(BACKSLASH)) return undefined
        lastKeyWasBatch = key.equals(BATCH)
        if (lastKeyWasBatch) {
          if (batchSeen) return undefined
          batchSeen = true
        }
        keyAtTop = false
      } else if (inBatch && depth === 2 && elementStart < 0) elementStart = i
      i = end
      continue
    }
    if (isJsonSpace(c)) continue
    if (inBatch && depth === 2 && elementStart < 0 && c !== COMMA && c !== CLOSE_ARR)
      elementStart = i
    switch (c) {
      case OPEN_OBJ:
      case OPEN_ARR:
        if (depth === 1 && c === OPEN_ARR && lastKeyWasBatch) {
          inBatch = true
          lastKeyWasBatch = false
        }
        depth++
        if (depth === 1) keyAtTop = true
        break
      case CLOSE_OBJ:
      case CLOSE_ARR:
        if (inBatch && depth === 2 && elementStart >= 0) {
          ranges.push([elementStart, trimEnd(buf, i)])
          elementStart = -1
        }
        depth--
        if (inBatch && depth === 1) inBatch = false
        break
      case COMMA:
        if (depth === 1) keyAtTop = true
        else if (inBatch && depth === 2 && elementStart >= 0) {
          ranges.push([elementStart, trimEnd(buf, i)])
          elementStart = -1
        }
        break
      case COLON:
        break
      default:
        // A scalar at depth 1 is a value: the next key comes after a comma.
        if (depth === 1) lastKeyWasBatch = false
    }
  }
  return batchSeen && ranges.length === expected ? ranges : undefined
}

function trimEnd(buf: Buffer, end: number): number {
  let e = end
  while (e > 0 && isJsonSpace(buf[e - 1])) e--
  return e
}

const BOUND_KEYS = ['type', 'event', 'userId', 'anonymousId', 'messageId', 'timestamp'] as const

/**
 * A lower bound of the bytes of a parsed event as it was sent: its top-level string fields among
 * the common ones, each at least `"key":"value"` (a UTF-16 length never exceeds the UTF-8 one,
 * and escapes only add bytes). Cheap, so a batch whose other events leave no room for an event
 * over the limit is not scanned at all.
 */
export function eventSizeLowerBound(event: unknown): number {
  if (typeof event !== 'object' || event === null) return 0
  const e = event as Record<string, unknown>
  let n = 2
  for (const key of BOUND_KEYS) {
    const v = e[key]
    if (typeof v === 'string') n += key.length + v.length + 5
  }
  return n
}
