/**
 * The one error type of Kindred. Every failure that reaches a caller carries a stable code that
 * says what to do: fix the input, retry later, or fix the configuration. Domain errors extend
 * `DomainError`; the HTTP edge turns any of them into a `KindredError` by its kind.
 * @module
 */

export const errorCodes = {
  INVALID_JSON: { status: 400, action: 'fix_input' },
  VALIDATION_FAILED: { status: 400, action: 'fix_input' },
  EVENT_TOO_LARGE: { status: 400, action: 'fix_input' },
  BATCH_TOO_LARGE: { status: 413, action: 'fix_input' },
  PAYLOAD_TOO_LARGE: { status: 413, action: 'fix_input' },
  UNSUPPORTED_ENCODING: { status: 415, action: 'fix_input' },
  URI_TOO_LONG: { status: 414, action: 'fix_input' },
  HEADERS_TOO_LARGE: { status: 431, action: 'fix_input' },
  /** The request (headers or body) did not arrive in time; send it again, faster. */
  REQUEST_TIMEOUT: { status: 408, action: 'retry' },
  UNAUTHORIZED: { status: 401, action: 'fix_config' },
  FORBIDDEN: { status: 403, action: 'fix_config' },
  /** The current password given to change a password is wrong (it counts as a failed sign-in). */
  WRONG_PASSWORD: { status: 403, action: 'fix_input' },
  NOT_FOUND: { status: 404, action: 'fix_input' },
  CONFLICT: { status: 409, action: 'fix_input' },
  /** A query (an insight) ran over its time limit and was stopped: ask for less, or elsewhere. */
  QUERY_TIMEOUT: { status: 504, action: 'fix_input' },
  RATE_LIMITED: { status: 429, action: 'retry' },
  OVERLOADED: { status: 503, action: 'retry' },
  UNAVAILABLE: { status: 503, action: 'retry' },
  /** The store cannot read or write its files (disk full, read-only, I/O error): retry later. */
  STORE_UNAVAILABLE: { status: 503, action: 'retry' },
  DATA_DIR_LOCKED: { status: 500, action: 'fix_config' },
  CONFIG_INVALID: { status: 500, action: 'fix_config' },
  INTERNAL: { status: 500, action: 'retry' },
} as const satisfies Record<
  string,
  { status: number; action: 'fix_input' | 'retry' | 'fix_config' }
>

export type ErrorCode = keyof typeof errorCodes

/**
 * What kind of failure a domain error is, which decides the answer a caller gets (the HTTP edge
 * maps a kind to one of the codes above, in one place: `src/platform/http/errors.ts`).
 */
export type ErrorKind =
  | 'invalid_input'
  | 'not_found'
  | 'conflict'
  | 'forbidden'
  | 'unauthorized'
  | 'rate_limited'
  | 'retry'
  | 'config'
  | 'internal'

/**
 * The base of every error Kindred raises on purpose: a stable `code` (safe to match on, safe to
 * return in an API body) and a `kind` saying whose move it is. Domains extend it with their own
 * codes (`IdentityError`, `SegmentDefinitionError`, `DestinationError`…); callers recognise it by
 * class and `kind`, never by `name`.
 */
export class DomainError<C extends string = string> extends Error {
  readonly code: C
  readonly kind: ErrorKind
  readonly details: unknown

  constructor(
    kind: ErrorKind,
    code: C,
    message: string,
    options: { details?: unknown; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause })
    this.name = new.target.name
    this.kind = kind
    this.code = code
    this.details = options.details
  }

  /**
   * What an API body's `details` holds for this error: its own code and what it found. A domain
   * whose callers rely on another shape (a list of field issues) overrides it.
   */
  publicDetails(): unknown {
    return { code: this.code, details: this.details }
  }
}

export function isDomainError(value: unknown): value is DomainError {
  return value instanceof DomainError
}

const kindOfAction = {
  fix_input: 'invalid_input',
  retry: 'retry',
  fix_config: 'config',
} as const satisfies Record<(typeof errorCodes)[ErrorCode]['action'], ErrorKind>

/** The kind of each wire code that is not plain input, retry or configuration. */
const kindOfCode: Partial<Record<ErrorCode, ErrorKind>> = {
  UNAUTHORIZED: 'unauthorized',
  FORBIDDEN: 'forbidden',
  WRONG_PASSWORD: 'forbidden',
  NOT_FOUND: 'not_found',
  CONFLICT: 'conflict',
  RATE_LIMITED: 'rate_limited',
  INTERNAL: 'internal',
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown }
}

/** A domain error with a wire code: what the API answers, with its HTTP status. */
export class KindredError extends DomainError<ErrorCode> {
  readonly status: number
  /** Extra response headers, e.g. `Retry-After` on RATE_LIMITED. */
  readonly headers: Record<string, string>

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: unknown; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(kindOfCode[code] ?? kindOfAction[errorCodes[code].action], code, message, options)
    this.status = errorCodes[code].status
    this.headers = options.headers ?? {}
  }

  override publicDetails(): unknown {
    return this.details
  }

  toBody(): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    }
  }
}

export function isKindredError(value: unknown): value is KindredError {
  return value instanceof KindredError
}

/** One problem found in one field of one event, as reported to SDKs and the live debugger. */
export interface FieldIssue {
  index?: number
  path: string
  code: string
  message: string
}
