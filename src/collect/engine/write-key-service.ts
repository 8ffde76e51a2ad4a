/**
 * Write keys: issued sealed (so members who manage sources can see them again), listed with
 * their expiry, and rotated with an overlap during which the old key keeps working.
 *
 * Ingest finds a source by the key's SHA-256 (a fast hash is enough for a 190-bit random key);
 * the sealed copy is only for showing the key to people. Sealing is handed in
 * (`WriteKeySealer`): the composition root builds it from the secret key and the same AES-GCM
 * code that keeps destination secrets, so collect neither reads the key nor imports activate.
 * @module
 */
import type { Queryable } from '../../platform/store/db.js'
import { hashSecret, newId, newSecret, secretPrefix } from '../../platform/store/ids.js'
import {
  sourcesRepository,
  type Source,
  type StoredWriteKey,
  type WriteKeyRecord,
} from '../../platform/store/repositories/sources-repository.js'

export interface WriteKeySealer {
  seal(writeKey: string): string
  /** The key, or undefined when it cannot be opened (the secret key changed since). */
  open(sealed: string): string | undefined
}

/** How long a rotated-away key keeps working unless the rotation says otherwise. */
export const DEFAULT_OVERLAP_SECONDS = 24 * 3600
/**
 * The longest overlap: long enough to redeploy every app, short enough that a key someone
 * rotated because it leaked cannot be kept alive for months by a typo.
 */
export const MAX_OVERLAP_SECONDS = 7 * 24 * 3600

/** A write key as the API shows it to a member allowed to manage sources. */
export interface WriteKeyView {
  /** null for the current key; a retiring key's id (to stop it early). */
  id: string | null
  status: 'current' | 'retiring'
  prefix: string
  /** The full key, or null when it cannot be shown (`unavailable` says why). */
  writeKey: string | null
  unavailable?: 'hash_only' | 'secret_key_changed'
  issuedAt: string
  /** When a retiring key stops working; null for the current key, which does not expire. */
  expiresAt: string | null
}

/** A fresh key: the plain value for the caller to answer with once, and what the store keeps. */
export function issueWriteKey(sealer: WriteKeySealer): {
  writeKey: string
  stored: StoredWriteKey
} {
  const writeKey = newSecret('writeKey')
  return {
    writeKey,
    stored: {
      hash: hashSecret(writeKey),
      prefix: secretPrefix(writeKey),
      sealed: sealer.seal(writeKey),
    },
  }
}

export function viewWriteKey(record: WriteKeyRecord, sealer: WriteKeySealer): WriteKeyView {
  const writeKey = record.sealed === null ? undefined : sealer.open(record.sealed)
  return {
    id: record.id,
    status: record.id === null ? 'current' : 'retiring',
    prefix: record.prefix,
    writeKey: writeKey ?? null,
    ...(writeKey !== undefined
      ? {}
      : { unavailable: record.sealed === null ? 'hash_only' : 'secret_key_changed' }),
    issuedAt: record.issuedAt,
    expiresAt: record.expiresAt,
  }
}

/** The keys that open a source at `now`, current first; undefined when there is no such source. */
export async function listWriteKeys(
  db: Queryable,
  input: { workspaceId: string; sourceId: string; now: Date; sealer: WriteKeySealer },
): Promise<WriteKeyView[] | undefined> {
  const records = await sourcesRepository.listWriteKeys(
    db,
    input.workspaceId,
    input.sourceId,
    input.now,
  )
  return records?.map((r) => viewWriteKey(r, input.sealer))
}

/**
 * Issues a new current key; the old one keeps working for `overlapSeconds` (0: it stops at
 * once). Runs in the caller's transaction, so the caller's audit row commits with it. Undefined
 * when there is no such source.
 */
export async function rotateWriteKey(
  tx: Queryable,
  input: {
    workspaceId: string
    sourceId: string
    overlapSeconds: number
    now: Date
    sealer: WriteKeySealer
  },
): Promise<{ source: Source; writeKey: string; retired: WriteKeyView | null } | undefined> {
  const { writeKey, stored } = issueWriteKey(input.sealer)
  const replaced = await sourcesRepository.replaceWriteKey(
    tx,
    input.workspaceId,
    input.sourceId,
    stored,
    {
      id: newId('retiredWriteKey'),
      at: input.now,
      expiresAt: new Date(input.now.getTime() + input.overlapSeconds * 1000),
    },
  )
  if (!replaced) return undefined
  return {
    source: replaced.source,
    writeKey,
    retired: replaced.retired && viewWriteKey(replaced.retired, input.sealer),
  }
}
