import { describe, expect, it } from 'vitest'
import * as bytes from './json-bytes.js'

describe('json-bytes', () => {
  it('names the bytes of the JSON grammar the scanners match', () => {
    const chars: Record<string, string> = {
      QUOTE: '"',
      BACKSLASH: '\\',
      OPEN_OBJ: '{',
      CLOSE_OBJ: '}',
      OPEN_ARR: '[',
      CLOSE_ARR: ']',
      COMMA: ',',
      COLON: ':',
      MINUS: '-',
      PLUS: '+',
      DOT: '.',
      DIGIT_0: '0',
      DIGIT_9: '9',
      LOWER_E: 'e',
      UPPER_E: 'E',
      LOWER_U: 'u',
    }
    for (const [name, char] of Object.entries(chars)) {
      expect(bytes[name as keyof typeof bytes], name).toBe(char.charCodeAt(0))
    }
  })

  it('knows JSON whitespace and digits, and nothing else', () => {
    expect([' ', '\n', '\r', '\t'].every((c) => bytes.isJsonSpace(c.charCodeAt(0)))).toBe(true)
    expect(bytes.isJsonSpace(0x0b)).toBe(false)
    expect(bytes.isJsonSpace(0xa0)).toBe(false)
    expect(bytes.isJsonSpace(undefined)).toBe(false)
    expect([...'0123456789'].every((c) => bytes.isDigit(c.charCodeAt(0)))).toBe(true)
    expect(bytes.isDigit('a'.charCodeAt(0))).toBe(false)
    expect(bytes.isDigit(undefined)).toBe(false)
  })
})
