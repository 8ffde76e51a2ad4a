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

type ManifestSecrets = Pick<DestinationManifest, 'secretFields' | 'endpointFields'>

/**
 * A URL as shown to people: user:password and every query value masked. Receivers often take a
 * token in the query string (`?token=…`, `?code=…`), and the URL itself is not a secret field, so
 * it is shown in settings, the delivery log and the audit log. The request still uses the real URL.
 */
export function maskUrl(raw: string): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return raw
  }
  if (url.username !== '' || url.password !== '') {
    url.username = url.username === '' ? '' : REDACTED
    url.password = url.password === '' ? '' : REDACTED
  }
  if (url.search === '') return url.toString()
  const masked = [...url.searchParams.keys()]
    .map((k) => `${encodeURIComponent(k)}=${REDACTED}`)
    .join('&')
  const hash = url.hash
  url.hash = ''
  url.search = ''
  return `${url.toString()}?${masked}${hash}`
}

/** Non-secret URL settings (their query string may carry a token). */
function urlFields(manifest: ManifestSecrets): string[] {
  return Object.entries(manifest.endpointFields ?? {})
    .filter(([f, kind]) => kind === 'url' && !manifest.secretFields.includes(f))
    .map(([f]) => f)
}

/**
 * Settings for API output: secret fields that are set become `"********"`, and URL settings show
 * their query values and credentials masked (see `maskUrl`).
 */
export function redactSettings(manifest: ManifestSecrets, settings: Settings): Settings {
  const out: Settings = { ...settings }
  for (const f of manifest.secretFields) {
    if (out[f] !== undefined && out[f] !== null && out[f] !== '') out[f] = REDACTED
  }
  for (const f of urlFields(manifest)) if (typeof out[f] === 'string') out[f] = maskUrl(out[f])
  return out
}

/**
 * On update, a client sends back `"********"` for secrets it did not change, and URLs as it was
 * shown them (masked): keep the stored values for those.
 *
 * Secrets are bound to where they are sent: when a setting that decides the target changes (the
 * manifest's `endpointFields`: a URL, a REST endpoint, a connection string), a kept secret would go
 * to a server its owner never chose, so keeping one is refused with `SECRET_REENTRY_REQUIRED`
 * (`details` lists the secret fields to enter again). Anyone allowed to edit a destination may
 * still move it, but only with credentials they know.
 *
 * `stored` must be decrypted (plain endpoint values) for the comparison; kept secrets are copied
 * as they are in `stored`.
 */
export function mergeSecretUpdate(
  manifest: ManifestSecrets,
  stored: Settings,
  incoming: Settings,
): Settings {
  const out: Settings = { ...incoming }
  for (const f of urlFields(manifest)) {
    const was = stored[f]
    if (typeof was === 'string' && out[f] === maskUrl(was) && out[f] !== was) out[f] = was
  }
  const kept = manifest.secretFields.filter(
    (f) => out[f] === REDACTED && stored[f] !== undefined && stored[f] !== null,
  )
  for (const f of manifest.secretFields) if (out[f] === REDACTED) out[f] = stored[f]
  const moved = Object.keys(manifest.endpointFields ?? {}).filter(
    (f) => JSON.stringify(out[f] ?? null) !== JSON.stringify(stored[f] ?? null),
  )
  const mustReenter = kept.filter((f) => !moved.includes(f))
  if (moved.length > 0 && mustReenter.length > 0) {
    throw new DestinationError(
      'SECRET_REENTRY_REQUIRED',
      `${moved.join(', ')} changed, so the stored ${mustReenter.join(', ')} cannot be kept: enter ${mustReenter.length === 1 ? 'it' : 'them'} again (or leave ${mustReenter.length === 1 ? 'it' : 'them'} out)`,
      mustReenter.map((f) => ({
        path: f,
        code: 'SECRET_REENTRY_REQUIRED',
        message: `re-enter this secret: ${moved.join(', ')} changed`,
      })),
    )
  }
  return out
}

const SENSITIVE_HEADER =
  /^(authorization|x-api-key|api-key|developer-token|cookie|x-.*-(key|token|secret))$/i

/**
 * An effect as the delivery log may keep it: sensitive headers masked, every string leaf of the
 * secret settings replaced in url and body, query values and URL credentials masked, rows of file
 * effects counted rather than copied.
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
      // Query values often carry tokens or personal data (lookups by e-mail): the path is enough.
      url: maskUrl(scrub(effect.url)),
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
  if (effect.type === 'stream') {
    // Bodies are personal data and the broker URL is a secret setting: where and how many.
    return {
      type: 'stream',
      protocol: effect.protocol,
      target: effect.target,
      ...(effect.exchange !== undefined ? { exchange: effect.exchange } : {}),
      messageCount: effect.messages.length,
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
