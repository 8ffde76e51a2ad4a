/**
 * @module identity/errors
 * One error class for the identity domain. Every error carries a stable `code` (safe to match on,
 * safe to return in an API body) and a message that says what the caller should do.
 */
import { DomainError, type ErrorKind } from '../../../protocol/errors.js'

export const IDENTITY_ERROR_CODES = {
  INVALID_IDENTITY_RULES: 'Fix the identity rules document; `details` lists the offending fields.',
  SNAPSHOT_INCOMPLETE:
    'The graph snapshot must hold every profile that a snapshot identifier points to; load them with the identifiers.',
  SPLIT_UNKNOWN_IDENTIFIER:
    'Only identifiers that belong to the profile can be detached; check the list.',
  SPLIT_EMPTY: 'Name at least one identifier to detach.',
  SPLIT_WOULD_EMPTY_PROFILE:
    'Detaching every identifier would leave an empty profile; keep at least one on the original.',
  SPLIT_PROFILE_MERGED: 'The profile was merged away; split its survivor instead.',
  INVALID_EVENT_TIMESTAMP:
    'Planner events need a finite epoch-millisecond timestamp (use the stored received_at or timestamp).',
  PLAN_UNKNOWN_PROFILE:
    'The plan refers to a profile the graph does not hold; apply plans in order.',
} as const

export type IdentityErrorCode = keyof typeof IDENTITY_ERROR_CODES

/** Whose move each code is: the caller's input, a profile that moved on, or a bug of ours. */
const IDENTITY_ERROR_KINDS: Record<IdentityErrorCode, ErrorKind> = {
  INVALID_IDENTITY_RULES: 'invalid_input',
  SNAPSHOT_INCOMPLETE: 'internal',
  SPLIT_UNKNOWN_IDENTIFIER: 'invalid_input',
  SPLIT_EMPTY: 'invalid_input',
  SPLIT_WOULD_EMPTY_PROFILE: 'invalid_input',
  SPLIT_PROFILE_MERGED: 'conflict',
  INVALID_EVENT_TIMESTAMP: 'internal',
  PLAN_UNKNOWN_PROFILE: 'internal',
}

export class IdentityError extends DomainError<IdentityErrorCode> {
  constructor(code: IdentityErrorCode, message?: string, details?: unknown) {
    super(IDENTITY_ERROR_KINDS[code], code, `${message ?? code}. ${IDENTITY_ERROR_CODES[code]}`, {
      details,
    })
  }
}
