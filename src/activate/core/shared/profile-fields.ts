/**
 * @module destinations/shared/profile-fields
 * Reading identifiers from a profile snapshot and the other small helpers every connector uses.
 */
import { createHash } from 'node:crypto'
import type {
  Action,
  DestinationInput,
  HttpEffect,
  ProfileSnapshot,
  Skipped,
  TransformResult,
} from '../contract.js'
import { actionForKind } from '../contract.js'
import { normaliseEmail } from './hashing.js'

function identity(profile: ProfileSnapshot | null, ...types: string[]): string | undefined {
  if (!profile) return undefined
  for (const t of types) {
    const hit = profile.identities.find((i) => i.type === t && i.value !== '')
    if (hit) return hit.value
  }
  return undefined
}

/** Email from the traits, else from an `email` identity; normalised (trimmed, lower-case). */
export function profileEmail(profile: ProfileSnapshot | null): string | undefined {
  return normaliseEmail(profile?.traits.email) ?? normaliseEmail(identity(profile, 'email'))
}

export function profilePhone(profile: ProfileSnapshot | null): string | undefined {
  const t = profile?.traits.phone ?? profile?.traits.phone_number
  if (typeof t === 'string' && t.trim() !== '') return t.trim()
  return identity(profile, 'phone')
}

/** The customer's own user id (Segment `userId`), from identities. */
export function profileUserId(profile: ProfileSnapshot | null): string | undefined {
  return identity(profile, 'user_id', 'userId')
}

/** Deterministic idempotency key: the same work for the same destination gives the same key. */
export function idempotencyKey(destinationId: string, op: string, itemIds: string[]): string {
  const h = createHash('sha256')
  h.update(destinationId).update('\0').update(op)
  for (const id of itemIds) h.update('\0').update(id)
  return h.digest('hex').slice(0, 32)
}

/**
 * The JSON request builder vendor transforms share: fixed headers, a JSON body (or none), and an
 * idempotency key derived from the destination, the vendor operation and the items carried.
 */
export function jsonRequests(
  destinationId: string,
  vendor: string,
  headers: Record<string, string>,
) {
  return (
    op: string,
    itemIds: string[],
    method: HttpEffect['method'],
    url: string,
    body: unknown,
    extra: Partial<HttpEffect> = {},
  ): HttpEffect => ({
    type: 'http',
    method,
    url,
    headers,
    body: body === null ? null : JSON.stringify(body),
    idempotencyKey: idempotencyKey(destinationId, `${vendor}:${op}`, itemIds),
    itemIds,
    ...extra,
  })
}

/** Split a batch into inputs for supported actions and skips (UNSUPPORTED_ACTION). */
export function partitionSupported(
  inputs: DestinationInput[],
  actions: Action[],
): { supported: DestinationInput[]; skipped: Skipped[] } {
  const supported: DestinationInput[] = []
  const skipped: Skipped[] = []
  for (const input of inputs) {
    const action = actionForKind[input.kind]
    if (actions.includes(action)) supported.push(input)
    else
      skipped.push({
        itemId: input.id,
        code: 'UNSUPPORTED_ACTION',
        message: `this destination does not support ${action}`,
      })
  }
  return { supported, skipped }
}

export function skip(itemId: string, code: string, message: string): Skipped {
  return { itemId, code, message }
}

export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/** The list/audience id for an audience: a per-audience mapping wins over the default. */
export function resolveListId(
  defaultId: string | undefined,
  byAudience: Record<string, string> | undefined,
  audienceKey: string,
): string | undefined {
  return byAudience?.[audienceKey] ?? (defaultId === '' ? undefined : defaultId)
}

export function emptyResult(): TransformResult {
  return { effects: [], skipped: [] }
}

/** Traits renamed through a mapping `{ trait: vendorField }`; unmapped traits are left out. */
export function mapTraits(
  traits: Record<string, unknown>,
  mapping: Record<string, string>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [trait, field] of Object.entries(mapping)) {
    const v = traits[trait]
    if (v !== undefined && v !== null) out[field] = v
  }
  return out
}

/** The item ids an effect's `itemKeys` maps a vendor record key to (none when unknown). */
export function itemIdsOfKey(
  itemKeys: Record<string, string | string[]> | undefined,
  key: string,
): string[] {
  const v = itemKeys?.[key]
  return v === undefined ? [] : typeof v === 'string' ? [v] : v
}
