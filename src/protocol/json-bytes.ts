/**
 * The bytes of JSON's grammar (RFC 8259), shared by the raw-body scanners (`json-scan.ts`,
 * `batch-slices.ts`), which read request bodies as bytes before anything parses them.
 * @module
 */
export const QUOTE = 0x22 // "
export const BACKSLASH = 0x5c // \
export const OPEN_OBJ = 0x7b // {
export const CLOSE_OBJ = 0x7d // }
export const OPEN_ARR = 0x5b // [
export const CLOSE_ARR = 0x5d // ]
export const COMMA = 0x2c // ,
export const COLON = 0x3a // :
export const MINUS = 0x2d // -
export const PLUS = 0x2b // +
export const DOT = 0x2e // .
export const DIGIT_0 = 0x30
export const DIGIT_9 = 0x39
export const LOWER_E = 0x65 // e (exponent)
export const UPPER_E = 0x45 // E (exponent)
export const LOWER_U = 0x75 // u (\u escape)

/** JSON's four whitespace bytes: space, line feed, carriage return, tab. */
export const isJsonSpace = (c: number | undefined): boolean =>
  c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09

export const isDigit = (c: number | undefined): boolean =>
  c !== undefined && c >= DIGIT_0 && c <= DIGIT_9
