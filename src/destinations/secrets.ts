/**
 * @module destinations/secrets
 * Secret settings at rest: AES-256-GCM with a 32-byte key (the server reads it from
 * `KINDRED_SECRET_KEY` or the data dir and passes it in; this module never reads env or disk).
 *
 * Encoded form: `enc:v1:<iv b64url>:<tag b64url>:<ciphertext b64url>`; the plaintext is the JSON of
 * the setting's value, so any JSON value (a token, a headers object) can be a secret field.
 *
 * IVs are 12 random bytes from node:crypto's `randomBytes` by default (a CSPRNG is what GCM needs;
 * a counter would need durable state). Tests may inject `randomBytes` to get fixed output.
 */
import { createCipheriv, createDecipheriv, randomBytes as cryptoRandomBytes } from 'node:crypto'
import type { DestinationManifest, Effect } from './contract.js'
import { DestinationError } from './contract.js'

const PREFIX = 'enc:v1:'
export const REDACTED = '********'

export type RandomBytes = (size: number) => Uint8Array

function checkKey(key: Uint8Array): void {
  if (key.length !== 32) {
    throw new DestinationError(
      'SECRET_KEY_INVALID',
      `the secret key must be 32 bytes (got ${key.length}): set KINDRED_SECRET_KEY to 64 hex characters or 44 base64 characters`,
    )
  }
}

/** A key from hex (64 chars) or base64 (44 chars); throws SECRET_KEY_INVALID otherwise. */
export function parseSecretKey(text: string): Uint8Array {
  const t = text.trim()
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64')
  checkKey(key)
  return key
}

export function isEncrypted(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(PREFIX)
}

export function encryptValue(
  value: unknown,
  key: Uint8Array,
  randomBytes: RandomBytes = cryptoRandomBytes,
): string {
  checkKey(key)
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  const ct = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()])
  const tag = cipher.getAuthTag()
  const b = (x: Uint8Array) => Buffer.from(x).toString('base64url')
  return `${PREFIX}${b(iv)}:${b(tag)}:${b(ct)}`
}

export function decryptValue(encoded: string, key: Uint8Array): unknown {
  checkKey(key)
  const parts = encoded.slice(PREFIX.length).split(':')
  if (!encoded.startsWith(PREFIX) || parts.length !== 3) {
    throw new DestinationError('SECRET_DECRYPT_FAILED', 'not an encrypted secret value')
  }
  const [iv, tag, ct] = parts.map((p) => Buffer.from(p, 'base64url')) as [Buffer, Buffer, Buffer]
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv)
    decipher.setAuthTag(tag)
    const pt = Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8')
    return JSON.parse(pt) as unknown
  } catch {
    throw new DestinationError(
      'SECRET_DECRYPT_FAILED',
      'a secret setting could not be decrypted: the secret key changed or the value was tampered with; re-enter the credential',
    )
  }
}

type Settings = Record<string, unknown>

/** Encrypt the manifest's secret fields (already-encrypted and absent values are left as is). */
export function encryptSettings(
  manifest: Pick<DestinationManifest, 'secretFields'>,
  settings: Settings,
  key: Uint8Array,
  randomBytes?: RandomBytes,
): Settings {
  const out: Settings = { ...settings }
  for (const f of manifest.secretFields) {
    const v = out[f]
    if (v !== undefined && v !== null && !isEncrypted(v)) out[f] = encryptValue(v, key, randomBytes)
  }
  return out
}

export function decryptSettings(
  manifest: Pick<DestinationManifest, 'secretFields'>,
  settings: Settings,
  key: Uint8Array,
): Settings {
  const out: Settings = { ...settings }
  for (const f of manifest.secretFields) {
    const v = out[f]
    if (isEncrypted(v)) out[f] = decryptValue(v, key)
  }
  return out
}

/** Settings for API output: secret fields that are set become `"********"`. */
export function redactSettings(
  manifest: Pick<DestinationManifest, 'secretFields'>,
  settings: Settings,
): Settings {
  const out: Settings = { ...settings }
  for (const f of manifest.secretFields) {
    if (out[f] !== undefined && out[f] !== null && out[f] !== '') out[f] = REDACTED
  }
  return out
}

/**
 * On update, a client sends back `"********"` for secrets it did not change: keep the stored
 * (encrypted) value for those.
 */
export function mergeSecretUpdate(
  manifest: Pick<DestinationManifest, 'secretFields'>,
  stored: Settings,
  incoming: Settings,
): Settings {
  const out: Settings = { ...incoming }
  for (const f of manifest.secretFields) if (out[f] === REDACTED) out[f] = stored[f]
  return out
}

const SENSITIVE_HEADER =
  /^(authorization|x-api-key|api-key|developer-token|cookie|x-.*-(key|token|secret))$/i

/**
 * An effect as the delivery log may keep it: sensitive headers masked, every string leaf of the
 * secret settings replaced in url and body, rows of file effects counted rather than copied.
 */
export function redactEffectForLog(
  effect: Effect,
  secretValues: string[] = [],
  maxBody = 2_000,
): Record<string, unknown> {
  const scrub = (s: string): string => {
    let out = s
    for (const v of secretValues) if (v.length >= 4) out = out.split(v).join(REDACTED)
    return out
  }
  if (effect.type === 'http') {
    const headers = Object.fromEntries(
      Object.entries(effect.headers).map(([k, v]) => [
        k,
        SENSITIVE_HEADER.test(k) ? REDACTED : scrub(v),
      ]),
    )
    const body = effect.body === null ? null : scrub(effect.body)
    return {
      type: 'http',
      method: effect.method,
      url: scrub(effect.url),
      headers,
      body: body !== null && body.length > maxBody ? `${body.slice(0, maxBody)}…` : body,
      itemIds: effect.itemIds,
      idempotencyKey: effect.idempotencyKey,
    }
  }
  if (effect.type === 'sql') {
    return {
      type: 'sql',
      statement: effect.statement,
      paramCount: effect.params.length,
      itemIds: effect.itemIds,
      idempotencyKey: effect.idempotencyKey,
    }
  }
  return {
    type: 'file',
    path: effect.path,
    format: effect.format,
    rowCount: effect.rows.length,
    itemIds: effect.itemIds,
    idempotencyKey: effect.idempotencyKey,
  }
}

/** Every string leaf of the secret fields' values (to scrub from logs or to check for leaks). */
export function secretStrings(
  manifest: Pick<DestinationManifest, 'secretFields'>,
  settings: Settings,
): string[] {
  const out: string[] = []
  const visit = (v: unknown): void => {
    if (typeof v === 'string') {
      if (v !== '') out.push(v)
    } else if (Array.isArray(v)) v.forEach(visit)
    else if (typeof v === 'object' && v !== null) Object.values(v).forEach(visit)
  }
  for (const f of manifest.secretFields) visit(settings[f])
  return out
}
