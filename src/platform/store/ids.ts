import { randomBytes, createHash } from 'node:crypto'
import { idPrefixes, type IdKind } from '../../protocol/ids.js'

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

function randomToken(length: number): string {
  const bytes = randomBytes(length)
  let out = ''
  // 256 % 62 bias is negligible for identifiers; secrets use 32 characters (~190 bits).
  for (const b of bytes) out += alphabet[b % 62]
  return out
}

export function newId(kind: IdKind, length = 16): string {
  return `${idPrefixes[kind]}_${randomToken(length)}`
}

export function newSecret(kind: 'writeKey' | 'adminToken' | 'apiKey' | 'sessionToken'): string {
  return `${idPrefixes[kind]}_${randomToken(32)}`
}

/**
 * Keys and tokens are random 190-bit secrets, so a fast hash is enough (no dictionary to attack)
 * and keeps per-request auth cheap. Passwords (users) use scrypt elsewhere.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex')
}

export function secretPrefix(secret: string): string {
  return secret.slice(0, 10)
}
