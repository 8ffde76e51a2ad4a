/**
 * Group commit, once for every log that writes itself (`file-event-log.ts`,
 * `postgres-event-log.ts`): requests that arrive while a write is in flight are written together
 * by the next one, so one fsync or one INSERT serves many requests, and each request's promise
 * resolves only once its group is durable. Past `maxQueuedEvents` waiting, `submit` refuses with
 * OVERLOADED; once closing, with UNAVAILABLE (`refuseAppend`): both are "retry" to an SDK.
 * @module
 */
import { KindredError } from '../../protocol/errors.js'
import { refuseAppend } from './event-log.js'

export interface GroupCommitOptions {
  /** Most events waiting for a write before `submit` refuses (back-pressure). */
  maxQueuedEvents: number
  /** Most items written by one `writeGroup` (default: everything queued). */
  maxGroupItems?: number
  /**
   * Wait one turn of the event loop before a write starts, so that requests parsed in the same
   * turn join it (worth it when a write is a round trip to a server).
   */
  gather?: boolean
  /**
   * After a failed write, refuse everything (queued and new): for a log whose tail may now hold
   * a partial write, which must not be written past. Otherwise the next group is tried.
   */
  stopOnFailure?: boolean
}

export interface GroupCommitter<T> {
  /**
   * Queues the item `make()` builds (called only when accepted, on the caller's own turn, so
   * serialisation is not done inside the shared write) and resolves once it is written.
   */
  submit(events: number, make: () => T): Promise<void>
  /** Called after each written group, so an in-process reader can wake at once. */
  onCommitted(listener: () => void): () => void
  /** Holds writes back (items still queue) once the write in flight is done. */
  pause(): Promise<void>
  resume(): void
  /** Stops accepting and waits for the write in flight (and what a resume started). */
  close(): Promise<void>
  /** Closing, closed, or stopped by a failed write. */
  readonly closed: boolean
}

interface Pending<T> {
  item: T
  events: number
  resolve: () => void
  reject: (err: unknown) => void
}

export function createGroupCommitter<T>(
  writeGroup: (items: T[]) => Promise<void>,
  options: GroupCommitOptions,
): GroupCommitter<T> {
  const maxGroupItems = options.maxGroupItems ?? Infinity
  const queue: Pending<T>[] = []
  const listeners = new Set<() => void>()
  let queuedEvents = 0
  let flushing: Promise<void> | undefined
  let closed = false
  let paused = false

  async function drain(): Promise<void> {
    while (queue.length > 0 && !paused) {
      const group = queue.splice(0, Math.min(queue.length, maxGroupItems))
      try {
        await writeGroup(group.map((p) => p.item))
        for (const p of group) p.resolve()
        for (const l of listeners) l()
      } catch (err) {
        const failure = new KindredError(
          'UNAVAILABLE',
          'the event log could not be written; retry',
          {
            cause: err,
            headers: { 'Retry-After': '1' },
          },
        )
        for (const p of group) p.reject(failure)
        if (options.stopOnFailure === true) {
          closed = true
          for (const p of queue.splice(0)) {
            queuedEvents -= p.events
            p.reject(failure)
          }
        }
      } finally {
        for (const p of group) queuedEvents -= p.events
      }
    }
  }

  function kick(): void {
    if (flushing || paused) return
    const start =
      options.gather === true
        ? new Promise<void>((resolve) => setImmediate(resolve)).then(drain)
        : drain()
    flushing = start.finally(() => {
      flushing = undefined
      if (queue.length > 0) kick()
    })
  }

  async function settle(): Promise<void> {
    while (flushing) await flushing
  }

  return {
    submit(events, make) {
      const refused = refuseAppend(closed, queuedEvents, events, options.maxQueuedEvents)
      if (refused) return Promise.reject(refused)
      const item = make()
      queuedEvents += events
      return new Promise<void>((resolve, reject) => {
        queue.push({ item, events, resolve, reject })
        kick()
      })
    },
    onCommitted(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    async pause() {
      paused = true
      await settle()
    },
    resume() {
      paused = false
      kick()
    },
    async close() {
      closed = true
      await settle()
    },
    get closed() {
      return closed
    },
  }
}
