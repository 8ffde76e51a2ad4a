/**
 * @module identity/profile-ids
 * Deterministic profile ids. A profile created by an event is named after that event (source id +
 * messageId), so replaying the log, or cutting it into different micro-batches, names every
 * profile the same way and graphs compare equal exactly.
 */
import { createHash } from 'node:crypto'

export interface ProfileIdSeed {
  messageId: string
  sourceId?: string
}

/** `(seed, attempt) → id`; `attempt` > 0 only when a batch holds the same event twice. */
export type ProfileIdGenerator = (seed: ProfileIdSeed, attempt: number) => string

/** `p_` + 24 hex chars (96 bits) of SHA-256 over the namespace, source id, messageId and attempt. */
export function deterministicProfileIds(namespace = ''): ProfileIdGenerator {
  return (seed, attempt) => {
    const hash = createHash('sha256')
      .update(`${namespace}\u0000${seed.sourceId ?? ''}\u0000${seed.messageId}\u0000${attempt}`)
      .digest('hex')
    return `p_${hash.slice(0, 24)}`
  }
}
