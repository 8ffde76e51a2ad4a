/**
 * A fast path in front of the zod event schema, for the ingest hot path: it answers "certainly
 * valid" for the common shapes and "ask zod" for everything else (zod then decides and explains).
 * It must never accept what the schema rejects; `event-fast-path.test.ts` checks exactly that
 * with generated inputs. Measured: zod's discriminated union cost ~20× this per event.
 */
import { MAX_ID_LENGTH, MAX_NAME_LENGTH } from './limits.js'
import { isStorableTimestamp } from './timestamps.js'

type Obj = Record<string, unknown>

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const optObj = (v: unknown) => v === undefined || isObj(v)
const optStr = (v: unknown, max: number) =>
  v === undefined || (typeof v === 'string' && v.length <= max)
const nullishStr = (v: unknown, max: number) =>
  v === undefined || v === null || (typeof v === 'string' && v.length <= max)
const optTime = (v: unknown) => v === undefined || (typeof v === 'string' && isStorableTimestamp(v))

function contextOk(c: unknown): boolean {
  if (c === undefined) return true
  if (!isObj(c)) return false
  if (c.externalIds !== undefined) return false // rare: let zod check each entry
  if (!optStr(c.ip, 64) || !optStr(c.userAgent, 2048) || !optStr(c.locale, 64)) return false
  const lib = c.library
  if (lib !== undefined && !(isObj(lib) && optStr(lib.name, 128) && optStr(lib.version, 64)))
    return false
  return optObj(c.page) && optObj(c.campaign) && optObj(c.traits) && optObj(c.consent)
}

/** True only when `incomingEventSchema` would accept `e` unchanged (no transforms needed). */
export function isCertainlyValidEvent(e: unknown): boolean {
  if (!isObj(e)) return false
  if (
    !optStr(e.messageId, MAX_ID_LENGTH) ||
    !nullishStr(e.userId, MAX_ID_LENGTH) ||
    !nullishStr(e.anonymousId, MAX_ID_LENGTH) ||
    !optTime(e.timestamp) ||
    !optTime(e.originalTimestamp) ||
    !optTime(e.sentAt) ||
    !optObj(e.integrations) ||
    !optStr(e.channel, 64) ||
    !optStr(e.writeKey, Infinity) ||
    !contextOk(e.context)
  ) {
    return false
  }
  switch (e.type) {
    case 'track':
      return (
        typeof e.event === 'string' &&
        e.event.length >= 1 &&
        e.event.length <= MAX_NAME_LENGTH &&
        optObj(e.properties)
      )
    case 'identify':
      return optObj(e.traits)
    case 'page':
    case 'screen':
      return (
        nullishStr(e.name, MAX_NAME_LENGTH) &&
        nullishStr(e.category, MAX_NAME_LENGTH) &&
        optObj(e.properties)
      )
    case 'group':
      return typeof e.groupId === 'string' && e.groupId.length <= MAX_ID_LENGTH && optObj(e.traits)
    case 'alias':
      return (
        typeof e.previousId === 'string' &&
        e.previousId.length <= MAX_ID_LENGTH &&
        typeof e.userId === 'string'
      )
    default:
      return false
  }
}
