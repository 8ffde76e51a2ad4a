/**
 * The two shapes of background work the engine runs, written once: a polling loop that can be
 * woken early (dispatcher, privacy worker), and a task repeated on an interval (schedulers).
 * Both stop cleanly: `stop()` resolves once the pass in flight has finished.
 */

export interface PollingLoop {
  /** Starts passes; a second call does nothing. */
  start(): void
  /** Runs the next pass now instead of after the interval. */
  wake(): void
  /** Stops after the pass in flight. */
  stop(): Promise<void>
  /** True between start() and stop(). */
  readonly running: boolean
}

/**
 * Runs `pass` until stopped, sleeping `intervalMs` between passes unless woken. A pass that
 * resolves `true` (it did work, there may be more) is followed at once; a pass that throws is
 * followed after `errorDelayMs(err)` when given (a back-off that wake() does not cut short).
 */
export function pollingLoop(
  pass: () => Promise<unknown>,
  options: {
    intervalMs: number
    onError: (err: unknown) => void
    errorDelayMs?: (err: unknown) => number
  },
): PollingLoop {
  let running = false
  let loop: Promise<void> | undefined
  let wakeUp: (() => void) | undefined

  async function run(): Promise<void> {
    while (running) {
      try {
        if ((await pass()) === true) continue
      } catch (err) {
        options.onError(err)
        if (options.errorDelayMs) {
          await new Promise((r) => setTimeout(r, options.errorDelayMs?.(err)))
          continue
        }
      }
      if (!running) break
      let timer: NodeJS.Timeout | undefined
      await new Promise<void>((resolve) => {
        wakeUp = resolve
        timer = setTimeout(resolve, options.intervalMs)
      })
      clearTimeout(timer)
      wakeUp = undefined
    }
  }

  return {
    start() {
      if (running) return
      running = true
      loop = run()
    },
    wake() {
      wakeUp?.()
    },
    async stop() {
      running = false
      wakeUp?.()
      await loop
    },
    get running() {
      return running
    },
  }
}

export interface IntervalTask {
  start(): void
  stop(): Promise<void>
}

/**
 * Runs `task` `intervalMs` after the previous run finished (never two at once). The timer does not
 * keep the process alive.
 */
export function intervalTask(
  task: () => Promise<void>,
  options: { intervalMs: number; onError: (err: unknown) => void },
): IntervalTask {
  let timer: NodeJS.Timeout | undefined
  let inFlight: Promise<void> | undefined
  let stopped = true

  function schedule(): void {
    if (stopped) return
    timer = setTimeout(() => {
      inFlight = task()
        .catch(options.onError)
        .finally(() => {
          inFlight = undefined
          schedule()
        })
    }, options.intervalMs)
    timer.unref()
  }

  return {
    start() {
      if (!stopped) return
      stopped = false
      schedule()
    },
    async stop() {
      stopped = true
      if (timer !== undefined) clearTimeout(timer)
      await inFlight
    },
  }
}
