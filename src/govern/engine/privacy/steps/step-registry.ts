/**
 * Every privacy step by name (the order a request runs them in is `stepsFor` in
 * src/govern/core/privacy/privacy-request.ts). Typed by `StepName`: a new step does not compile
 * until it has a runner.
 */
import type { StepName } from '../../../core/privacy/privacy-request.js'
import { erase } from './erase.js'
import { accessExport } from './export.js'
import { forward } from './forward.js'
import { lake } from './lake.js'
import { resolve } from './resolve.js'
import { scrub } from './scrub.js'
import type { StepRunner } from './step-runner.js'
import { suppress } from './suppress.js'

export const stepRunners: Record<StepName, StepRunner> = {
  resolve,
  suppress,
  erase,
  lake,
  forward,
  scrub,
  export: accessExport,
}
