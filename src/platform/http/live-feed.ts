import type { FieldIssue } from '../../protocol/errors.js'

export interface LiveMessage {
  receivedAt: string
  status: 'accepted' | 'rejected'
  event: unknown
  errors?: FieldIssue[]
}

/**
 * In-process fan-out of what a source receives, for the console's live debugger. Cheap when
 * nobody listens (one Map lookup per request).
 */
export function createLiveFeed() {
  const subscribers = new Map<string, Set<(m: LiveMessage) => void>>()
  return {
    has(sourceId: string): boolean {
      return (subscribers.get(sourceId)?.size ?? 0) > 0
    },
    publish(sourceId: string, message: LiveMessage): void {
      const subs = subscribers.get(sourceId)
      if (!subs) return
      for (const s of subs) s(message)
    },
    subscribe(sourceId: string, fn: (m: LiveMessage) => void): () => void {
      let subs = subscribers.get(sourceId)
      if (!subs) subscribers.set(sourceId, (subs = new Set()))
      subs.add(fn)
      return () => {
        subs.delete(fn)
        if (subs.size === 0) subscribers.delete(sourceId)
      }
    },
  }
}

export type LiveFeed = ReturnType<typeof createLiveFeed>
