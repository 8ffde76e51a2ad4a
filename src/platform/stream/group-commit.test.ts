import { describe, expect, it } from 'vitest'
import { createGroupCommitter } from './group-commit.js'

const deferred = () => {
  let resolve!: () => void
  let reject!: (err: unknown) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

describe('createGroupCommitter', () => {
  it('writes what arrives during a write as the next single group', async () => {
    const groups: number[][] = []
    const gate = deferred()
    const c = createGroupCommitter<number>(
      async (items) => {
        groups.push(items)
        if (groups.length === 1) await gate.promise
      },
      { maxQueuedEvents: 100 },
    )
    const first = c.submit(1, () => 1)
    const rest = [2, 3, 4].map((n) => c.submit(1, () => n))
    gate.resolve()
    await Promise.all([first, ...rest])
    expect(groups).toEqual([[1], [2, 3, 4]])
  })

  it('gathers one turn when asked and caps a group at maxGroupItems', async () => {
    const groups: number[][] = []
    const c = createGroupCommitter<number>(async (items) => void groups.push(items), {
      maxQueuedEvents: 100,
      maxGroupItems: 2,
      gather: true,
    })
    await Promise.all([1, 2, 3, 4, 5].map((n) => c.submit(1, () => n)))
    expect(groups).toEqual([[1, 2], [3, 4], [5]])
  })

  it('refuses past the queue limit (OVERLOADED) and after close (UNAVAILABLE), building nothing', async () => {
    const gate = deferred()
    const c = createGroupCommitter<number>(() => gate.promise, { maxQueuedEvents: 3 })
    let built = 0
    const ok = c.submit(3, () => ++built)
    await expect(c.submit(1, () => ++built)).rejects.toMatchObject({ code: 'OVERLOADED' })
    expect(built).toBe(1)
    const closing = c.close()
    await expect(c.submit(1, () => ++built)).rejects.toMatchObject({ code: 'UNAVAILABLE' })
    gate.resolve()
    await ok
    await closing
    expect(c.closed).toBe(true)
  })

  it('rejects a failed group with UNAVAILABLE; tries the next unless stopOnFailure', async () => {
    let fail = true
    const c = createGroupCommitter<number>(
      async () => {
        if (fail) throw new Error('disk')
      },
      { maxQueuedEvents: 10 },
    )
    await expect(c.submit(1, () => 1)).rejects.toMatchObject({ code: 'UNAVAILABLE' })
    fail = false
    await c.submit(1, () => 2)

    const gate = deferred()
    const s = createGroupCommitter<number>(
      async (items) => {
        if (items[0] === 1) {
          await gate.promise
          throw new Error('torn tail')
        }
      },
      { maxQueuedEvents: 10, stopOnFailure: true },
    )
    const a = s.submit(1, () => 1)
    const b = s.submit(1, () => 2)
    gate.resolve()
    await expect(a).rejects.toMatchObject({ code: 'UNAVAILABLE' })
    await expect(b).rejects.toMatchObject({ code: 'UNAVAILABLE' })
    expect(s.closed).toBe(true)
  })

  it('holds writes while paused and tells listeners after each group', async () => {
    const groups: number[][] = []
    const c = createGroupCommitter<number>(async (items) => void groups.push(items), {
      maxQueuedEvents: 10,
    })
    let told = 0
    c.onCommitted(() => told++)
    await c.pause()
    const p = c.submit(1, () => 1)
    await new Promise((r) => setImmediate(r))
    expect(groups).toEqual([])
    c.resume()
    await p
    expect(groups).toEqual([[1]])
    expect(told).toBe(1)
  })
})
