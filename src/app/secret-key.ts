import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { decryptValue, encryptValue } from '../activate/core/index.js'
import type { WriteKeySealer } from '../collect/engine/write-key-service.js'

/**
 * The key that encrypts destination secrets at rest: `KINDRED_SECRET_KEY` (64 hex chars or
 * base64 of 32 bytes), else one generated once into the data dir (mode 0600). In-memory stores
 * (tests) get an ephemeral key.
 */
export function loadSecretKey(envValue: string | undefined, dataDir: string | undefined): Buffer {
  if (envValue) {
    const key = /^[0-9a-f]{64}$/i.test(envValue)
      ? Buffer.from(envValue, 'hex')
      : Buffer.from(envValue, 'base64')
    if (key.length !== 32)
      throw new Error('KINDRED_SECRET_KEY must be 32 bytes: 64 hex characters or base64')
    return key
  }
  if (dataDir === undefined) return randomBytes(32)
  const file = path.join(dataDir, 'secret.key')
  if (existsSync(file)) return Buffer.from(readFileSync(file, 'utf8').trim(), 'hex')
  mkdirSync(dataDir, { recursive: true })
  const key = randomBytes(32)
  writeFileSync(file, key.toString('hex'), { mode: 0o600, flag: 'wx' })
  return key
}

/**
 * Write keys sealed with the same key and AES-GCM code as destination secrets, so one secret
 * key (and one rotation story) covers every secret at rest. A key that no longer opens (the
 * secret key changed) is reported as unavailable rather than failing the request: ingest still
 * finds the source by the key's hash, and a rotation issues one that can be shown.
 */
export function writeKeySealer(key: Buffer): WriteKeySealer {
  return {
    seal: (writeKey) => encryptValue(writeKey, key),
    open(sealed) {
      try {
        const value = decryptValue(sealed, key)
        return typeof value === 'string' ? value : undefined
      } catch {
        return undefined
      }
    },
  }
}
