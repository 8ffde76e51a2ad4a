/**
 * One linear, non-recursive pass over the bytes of a JSON text that refuses what the pipeline
 * cannot hold, before anything recurses on it:
 *
 * - nesting deeper than `MAX_JSON_DEPTH` (serialisers, jsonb and zod recurse on structure);
 * - lone UTF-16 surrogates in escapes (`"\ud800"`): Postgres jsonb refuses them;
 * - bytes that are not UTF-8 (including UTF-8-encoded surrogates), which decoding would
 *   silently turn into U+FFFD;
 * - numbers a double cannot hold without silently changing them: beyond ±1.8e308 (they would
 *   become `null`), non-zero literals that round to 0 (`1e-400`), and integer literals whose
 *   digits a double does not keep (beyond 2^53 and not the shortest form of a double: send such
 *   ids as strings). Ordinary decimal rounding (`0.1`) is JSON's and stays accepted.
 *
 * The text need not be valid JSON: on broken JSON the scan may find nothing and the parser then
 * reports the syntax error. It never throws. Pure: no I/O.
 * @module
 */
import { isUtf8 } from 'node:buffer'
import * as bytes from './json-bytes.js'
import { MAX_JSON_DEPTH } from './limits.js'

// Local bindings of the shared byte constants: the scan's inner loops run on every body byte,
// and reading imported bindings there made it 7x slower when run through tsx (measured).
const BACKSLASH = bytes.BACKSLASH
const CLOSE_ARR = bytes.CLOSE_ARR
const CLOSE_OBJ = bytes.CLOSE_OBJ
const COMMA = bytes.COMMA
const DOT = bytes.DOT
const LOWER_E = bytes.LOWER_E
const LOWER_U = bytes.LOWER_U
const MINUS = bytes.MINUS
const OPEN_ARR = bytes.OPEN_ARR
const OPEN_OBJ = bytes.OPEN_OBJ
const PLUS = bytes.PLUS
const QUOTE = bytes.QUOTE
const UPPER_E = bytes.UPPER_E
const isDigit = bytes.isDigit

export type JsonScanCode =
  'json_too_deep' | 'lone_surrogate' | 'invalid_utf8' | 'number_out_of_range'

export interface JsonScanIssue {
  code: JsonScanCode
  message: string
  /** Where it is: object keys (as sent, escapes kept) and array indices from the root. */
  path: Array<string | number>
  /** Byte offset of the problem in the text. */
  offset: number
}

/** Value of 4 hex digits at `at`, or -1. */
function hex4(buf: Uint8Array, at: number): number {
  if (at + 4 > buf.length) return -1
  let v = 0
  for (let k = 0; k < 4; k++) {
    const c = buf[at + k] as number
    const d =
      c >= 0x30 && c <= 0x39
        ? c - 0x30
        : c >= 0x61 && c <= 0x66
          ? c - 0x57
          : c >= 0x41 && c <= 0x46
            ? c - 0x37
            : -1
    if (d < 0) return -1
    v = v * 16 + d
  }
  return v
}

/** Length of the well-formed UTF-8 sequence starting at `at` (lead byte ≥ 0x80), or 0. */
function utf8Length(buf: Uint8Array, at: number): number {
  const b0 = buf[at] as number
  const cont = (k: number, lo = 0x80, hi = 0xbf) => {
    const b = buf[at + k]
    return b !== undefined && b >= lo && b <= hi
  }
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0
  if (b0 === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0
  // 0xED A0..BF would encode a surrogate (CESU-8): not UTF-8.
  if (b0 === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0
  if (b0 >= 0xe1 && b0 <= 0xef) return cont(1) && cont(2) ? 3 : 0
  if (b0 === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0
  if (b0 >= 0xf1 && b0 <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0
  if (b0 === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0
  return 0
}

const isNumberByte = (c: number) =>
  isDigit(c) || c === MINUS || c === PLUS || c === DOT || c === LOWER_E || c === UPPER_E

/** Why the number literal `text` cannot be kept as sent, or undefined. */
function numberProblem(text: string): string | undefined {
  const value = Number(text)
  if (Number.isNaN(value)) return undefined // not a number literal: the parser will say so
  if (!Number.isFinite(value))
    return `number ${clip(text)} does not fit a 64-bit float (largest magnitude 1.7976931348623157e308)`
  const e = text.search(/[eE]/)
  const mantissa = e < 0 ? text : text.slice(0, e)
  if (value === 0 && /[1-9]/.test(mantissa))
    return `number ${clip(text)} is too small for a 64-bit float (it would become 0)`
  if (e < 0 && !text.includes('.')) {
    const digits = text.startsWith('-') ? text.slice(1) : text
    if (String(Math.abs(value)) !== digits)
      return `integer ${clip(text)} has more digits than a 64-bit float keeps (beyond 2^53); send it as a string`
  }
  return undefined
}

const clip = (s: string) => (s.length > 40 ? `${s.slice(0, 37)}...` : s)

/** The first problem in `buf`, or undefined when the pipeline can hold every value in it. */
export function scanJson(
  buf: Uint8Array,
  maxDepth: number = MAX_JSON_DEPTH,
): JsonScanIssue | undefined {
  const len = buf.length
  // Per nesting level (1-based): array or object, the current index, the current key's bytes.
  const isArray = new Uint8Array(maxDepth + 2)
  const index = new Int32Array(maxDepth + 2)
  const keyStart = new Int32Array(maxDepth + 2).fill(-1)
  const keyEnd = new Int32Array(maxDepth + 2)
  let depth = 0
  let expectKey = false

  const issue = (code: JsonScanCode, message: string, offset: number): JsonScanIssue => {
    const path: Array<string | number> = []
    for (let d = 1; d <= Math.min(depth, maxDepth); d++) {
      if (isArray[d] === 1) path.push(index[d] as number)
      else if ((keyStart[d] as number) >= 0) {
        path.push(
          Buffer.from(buf.buffer, buf.byteOffset, buf.length).toString(
            'utf8',
            keyStart[d],
            keyEnd[d],
          ),
        )
      }
    }
    return { code, message, path, offset }
  }

  // A native pass validates all of the UTF-8 first (surrogates encoded as UTF-8 included), so
  // the string loop below only decodes multi-byte sequences when that pass failed, to say where.
  const text = Buffer.from(buf.buffer, buf.byteOffset, buf.length)
  const utf8 = isUtf8(text)

  for (let i = 0; i < len; i++) {
    const c = buf[i] as number
    if (c === QUOTE) {
      const isKey = expectKey && depth > 0 && isArray[depth] === 0
      const start = i + 1
      if (isKey) {
        keyStart[depth] = start
        keyEnd[depth] = start
      }
      let j = start
      while (j < len) {
        if (utf8) {
          // Valid UTF-8: only a quote or a backslash matters inside a string.
          let d = buf[j] as number
          while (d !== QUOTE && d !== BACKSLASH && j < len) d = buf[++j] as number
          // An unterminated string: JSON.parse will say so; there is nothing left to scan.
          if (j >= len) break
        }
        const d = buf[j] as number
        if (d === QUOTE) break
        if (d === BACKSLASH) {
          if (buf[j + 1] !== LOWER_U) {
            j += 2
            continue
          }
          const unit = hex4(buf, j + 2)
          if (unit >= 0xd800 && unit <= 0xdbff) {
            const low = buf[j + 6] === BACKSLASH && buf[j + 7] === LOWER_U ? hex4(buf, j + 8) : -1
            if (low >= 0xdc00 && low <= 0xdfff) {
              j += 12
              continue
            }
          }
          if (unit >= 0xd800 && unit <= 0xdfff) {
            if (isKey) keyEnd[depth] = stringEnd(buf, j)
            return issue(
              'lone_surrogate',
              `string holds a lone UTF-16 surrogate (\\u${unit.toString(16)}); send well-formed Unicode`,
              j,
            )
          }
          j += 6
          continue
        }
        if (d < 0x80) {
          j++
          continue
        }
        const n = utf8Length(buf, j)
        if (n === 0) {
          if (isKey) keyEnd[depth] = stringEnd(buf, j)
          return issue(
            'invalid_utf8',
            `body is not valid UTF-8 (byte 0x${d.toString(16)} at offset ${j})`,
            j,
          )
        }
        j += n
      }
      if (isKey) {
        keyEnd[depth] = Math.min(j, len)
        expectKey = false
      }
      i = j
      continue
    }
    switch (c) {
      case OPEN_OBJ:
      case OPEN_ARR:
        depth++
        if (depth > maxDepth) {
          return issue(
            'json_too_deep',
            `JSON nesting is deeper than ${maxDepth} levels (the limit)`,
            i,
          )
        }
        isArray[depth] = c === OPEN_ARR ? 1 : 0
        index[depth] = 0
        keyStart[depth] = -1
        expectKey = c === OPEN_OBJ
        break
      case CLOSE_OBJ:
      case CLOSE_ARR:
        if (depth > 0) depth--
        expectKey = false
        break
      case COMMA:
        if (isArray[depth] === 1) index[depth] = (index[depth] as number) + 1
        else expectKey = true
        break
      default:
        if (isDigit(c) || c === MINUS) {
          let j = i + 1
          let plain = true // digits (and a sign or a point) only
          while (j < len && isNumberByte(buf[j] as number)) {
            const d = buf[j] as number
            if (d === LOWER_E || d === UPPER_E) plain = false
            j++
          }
          // Up to 15 characters without an exponent, a literal is exact or ordinary rounding.
          if (!plain || j - i > 15) {
            const problem = numberProblem(
              Buffer.from(buf.buffer, buf.byteOffset, buf.length).toString('latin1', i, j),
            )
            if (problem) return issue('number_out_of_range', problem, i)
          }
          i = j - 1
        }
    }
  }
  return undefined
}

/** Offset of the quote that ends the string `from` is in (or the end of the text). */
function stringEnd(buf: Uint8Array, from: number): number {
  let j = from
  while (j < buf.length && buf[j] !== QUOTE) j += buf[j] === BACKSLASH ? 2 : 1
  return Math.min(j, buf.length)
}

/** The issue's path as one dotted string (`properties.a.0`), for error details. */
export function scanPathString(path: ReadonlyArray<string | number>): string {
  return path.map(String).join('.')
}

/**
 * True when a parsed value nests deeper than `maxDepth` objects and arrays. Iterative, so it is
 * safe on any depth; for values that did not come through `scanJson` (stored or built data).
 */
export function nestsDeeperThan(value: unknown, maxDepth: number = MAX_JSON_DEPTH): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]]
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number]
    if (typeof v !== 'object' || v === null) continue
    if (d + 1 > maxDepth) return true
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === 'object' && child !== null) stack.push([child, d + 1])
    }
  }
  return false
}
