/** Segment's public limits, which SDKs are written against. */
export const MAX_EVENT_BYTES = 32 * 1024
export const MAX_BATCH_BYTES = 500 * 1024
export const MAX_BATCH_EVENTS = 2_500
/** Longest identifier value we store (userId, anonymousId, messageId, …). */
export const MAX_ID_LENGTH = 512
/** Longest event or page name. */
export const MAX_NAME_LENGTH = 1_024
/** Longest request body we will inflate from gzip before giving up (zip-bomb guard). */
export const MAX_INFLATED_BYTES = MAX_BATCH_BYTES + 64 * 1024
/**
 * Deepest nesting of objects and arrays in a JSON body. Every stage after ingest (serialising,
 * Postgres jsonb, zod) recurses on structure, so a deeper body is refused before it is parsed.
 */
export const MAX_JSON_DEPTH = 64
