/**
 * @module privacy/privacy-request
 * Privacy requests: the API's schemas, the steps each type runs, and the pure
 * bookkeeping of their receipts. The engine (src/govern/engine/privacy) executes the steps.
 */
import { z } from 'zod'

export const privacyRequestTypes = ['access', 'deletion', 'suppression'] as const
export type PrivacyRequestType = (typeof privacyRequestTypes)[number]

export const privacyRequestStatuses = ['pending', 'running', 'completed', 'failed'] as const
export type PrivacyRequestStatus = (typeof privacyRequestStatuses)[number]

/** An identifier as the caller gives it; normalised like at ingest before anything else. */
export const rawIdentifierSchema = z.object({
  type: z
    .string()
    .trim()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9_ -]+$/, 'letters, digits, _ and -'),
  value: z.union([z.string().min(1).max(1024), z.number().finite()]),
})
export type RawIdentifier = z.infer<typeof rawIdentifierSchema>

/** `identifier` names the person; `profileId` may be given instead (or `identifier.type: 'profile_id'`). */
export const createPrivacyRequestSchema = z
  .object({
    type: z.enum(privacyRequestTypes),
    identifier: rawIdentifierSchema.optional(),
    profileId: z.string().min(1).max(128).optional(),
  })
  .refine((b) => (b.identifier === undefined) !== (b.profileId === undefined), {
    message: 'give exactly one of identifier {type, value} or profileId',
    path: ['identifier'],
  })
  .refine((b) => b.type !== 'suppression' || b.identifier !== undefined, {
    message: 'a suppression names an identifier (a profile id is not collected at ingest)',
    path: ['identifier'],
  })
export type CreatePrivacyRequest = z.infer<typeof createPrivacyRequestSchema>

export const stepNames = [
  'resolve',
  'suppress',
  'erase',
  'lake',
  'forward',
  'scrub',
  'export',
] as const
export type StepName = (typeof stepNames)[number]

/** The steps of each request type, in order. Each is idempotent: a restart runs it again. */
export const stepsFor: Record<PrivacyRequestType, readonly StepName[]> = {
  access: ['resolve', 'export'],
  // `suppress` first so nothing new is collected while the data is erased; `lake` waits for the
  // lake writer to rewrite its files without the person; `forward` waits for each destination's
  // answer; `scrub` removes the forwarded payloads from the delivery log.
  deletion: ['resolve', 'suppress', 'erase', 'lake', 'forward', 'scrub'],
  suppression: ['suppress'],
}

export const stepReceiptSchema = z.object({
  step: z.enum(stepNames),
  status: z.enum(['completed', 'failed', 'skipped']),
  at: z.string(),
  details: z.record(z.string(), z.unknown()).default({}),
})
export type StepReceipt = z.infer<typeof stepReceiptSchema>

export const destinationReceiptSchema = z.object({
  destinationId: z.string(),
  type: z.string(),
  name: z.string(),
  jobId: z.string().nullable(),
  status: z.enum(['pending', 'succeeded', 'skipped', 'failed', 'unsupported']),
  error: z.string().nullable(),
  at: z.string(),
})
export type DestinationReceipt = z.infer<typeof destinationReceiptSchema>

/** The next step to run given the receipts so far; undefined when every step is done. */
export function nextStep(type: PrivacyRequestType, receipts: StepReceipt[]): StepName | undefined {
  const done = new Set(receipts.filter((r) => r.status !== 'failed').map((r) => r.step))
  return stepsFor[type].find((s) => !done.has(s))
}

/** Receipts with `receipt` recorded (a step run again replaces its earlier receipt). */
export function withReceipt(receipts: StepReceipt[], receipt: StepReceipt): StepReceipt[] {
  return [...receipts.filter((r) => r.step !== receipt.step), receipt]
}

/** Map a delivery job state to a destination receipt status. */
export function receiptStatusOfJob(state: string): DestinationReceipt['status'] {
  if (state === 'succeeded') return 'succeeded'
  if (state === 'skipped') return 'skipped'
  if (state === 'dead') return 'failed'
  return 'pending'
}

/** A deletion is done forwarding when no destination is still pending. */
export function forwardingSettled(receipts: DestinationReceipt[]): boolean {
  return receipts.every((r) => r.status !== 'pending')
}
