/**
 * The one error type of Kindred. Every failure that reaches a caller carries a stable code that
 * says what to do: fix the input, retry later, or fix the configuration.
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

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown }
}

export class KindredError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly details: unknown
  /** Extra response headers, e.g. `Retry-After` on RATE_LIMITED. */
  readonly headers: Record<string, string>

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: unknown; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, { cause: options.cause })
    this.name = 'KindredError'
    this.code = code
    this.status = errorCodes[code].status
    this.details = options.details
    this.headers = options.headers ?? {}
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
