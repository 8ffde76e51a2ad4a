import { describe, expect, it } from 'vitest'
import { intervalTask, pollingLoop } from './loops.js'

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 5))
  expect(cond()).toBe(true)
}

describe('pollingLoop', () => {
  it('runs a pass at once, again when woken, reports errors and keeps going', async () => {
    let passes = 0
    const errors: unknown[] = []
    // An hour-long interval: any second pass can only come from wake().
    const loop = pollingLoop(
      async () => {
        passes++
        if (passes === 2) throw new Error('boom')
      },
      { intervalMs: 3_600_000, onError: (err) => errors.push(err) },
    )
    expect(loop.running).toBe(false)
    loop.start()
    loop.start()
    await until(() => passes === 1)
    loop.wake()
    await until(() => passes === 2)
    loop.wake()
    await until(() => passes === 3)
    expect(errors).toHaveLength(1)
    await loop.stop()
    expect(loop.running).toBe(false)
    loop.wake()
    await new Promise((r) => setTimeout(r, 20))
    expect(passes).toBe(3)
  })

  it('stop waits for the pass in flight', async () => {
    let finished = false
    let release: () => void = () => undefined
    const loop = pollingLoop(
      async () => {
        await new Promise<void>((r) => (release = r))
        finished = true
      },
      { intervalMs: 3_600_000, onError: () => undefined },
    )
    loop.start()
    await new Promise((r) => setTimeout(r, 10))
    const stopped = loop.stop()
    expect(finished).toBe(false)
    release()
    await stopped
    expect(finished).toBe(true)
  })
})

describe('pollingLoop follow-ups', () => {
  it('runs again at once after a pass that did work, and after an error once its delay passed', async () => {
    const results = [true, true, 'error', false]
    let passes = 0
    const delays: unknown[] = []
    // An hour-long interval: only `true` and the error delay can bring the next passes.
    const loop = pollingLoop(
      async () => {
        const r = results[passes++]
        if (r === 'error') throw new Error('lost a race')
        return r
      },
      {
        intervalMs: 3_600_000,
        onError: () => undefined,
        errorDelayMs: (err) => {
          delays.push((err as Error).message)
          return 1
        },
      },
    )
    loop.start()
    await until(() => passes === 4)
    await loop.stop()
    expect(delays).toEqual(['lost a race'])
    expect(passes).toBe(4)
  })
})

describe('intervalTask', () => {
  it('never runs two at once, reports errors, and stops after the run in flight', async () => {
    let running = 0
    let maxRunning = 0
    let runs = 0
    const errors: unknown[] = []
    const task = intervalTask(
      async () => {
        running++
        maxRunning = Math.max(maxRunning, running)
        await new Promise((r) => setTimeout(r, 15))
        running--
        runs++
        if (runs === 1) throw new Error('first run fails')
      },
      { intervalMs: 1, onError: (err) => errors.push(err) },
    )
    task.start()
    await until(() => runs >= 3)
    await task.stop()
    const after = runs
    await new Promise((r) => setTimeout(r, 40))
    expect(runs).toBe(after)
    expect(maxRunning).toBe(1)
    expect(errors).toHaveLength(1)
    expect(running).toBe(0)
  })
})
