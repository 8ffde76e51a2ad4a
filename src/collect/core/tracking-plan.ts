/**
 * Tracking plans: per source, a JSON Schema for each track event's
 * `properties` and one for identify `traits`, like Segment Protocols and RudderStack tracking
 * plans. Pure: the plan is compiled with Ajv once per plan version and evaluated over a batch.
 * @module
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import { z } from 'zod'
import { DomainError } from '../../protocol/errors.js'
import { LRUCache } from 'lru-cache'
import type { KindredEvent } from '../../protocol/event-schema.js'

/** What happens to an event that breaks the plan. */
export const planActions = ['allow', 'flag', 'quarantine'] as const
export type PlanAction = (typeof planActions)[number]

const MAX_PLANNED_EVENTS = 2_000
const MAX_EVENT_NAME = 200
/** Violations kept per event: a broken schema must not turn one event into megabytes. */
export const MAX_VIOLATIONS_PER_EVENT = 20

const jsonSchema = z.union([z.boolean(), z.record(z.string(), z.unknown())])

export const trackingPlanSchema = z.object({
  mode: z
    .enum(planActions)
    .default('flag')
    .describe('allow: no checks; flag: store with violations; quarantine: set aside'),
  unplannedEvents: z
    .enum(planActions)
    .default('allow')
    .describe('What to do with track events whose name is not in `events`'),
  events: z
    .record(z.string().min(1).max(MAX_EVENT_NAME), jsonSchema)
    .default({})
    .refine((e) => Object.keys(e).length <= MAX_PLANNED_EVENTS, {
      message: `at most ${MAX_PLANNED_EVENTS} events per plan`,
    })
    .describe('JSON Schema (draft-07) of `properties`, per track event name'),
  identify: jsonSchema.optional().describe('JSON Schema (draft-07) of identify `traits`'),
})
export type TrackingPlan = z.infer<typeof trackingPlanSchema>

export interface Violation {
  /** Dotted path in the event, e.g. `properties.total`; the root object for missing events. */
  path: string
  /** The JSON Schema keyword that failed (`type`, `required`, …) or `unplanned`. */
  keyword: string
  message: string
}

export type Verdict =
  { action: 'pass' } | { action: 'flag' | 'quarantine'; violations: Violation[] }

export interface CompiledPlan {
  version: number
  plan: TrackingPlan
  check(event: KindredEvent): Verdict
}

/** A schema in a tracking plan that is not valid JSON Schema; `at` names where in the plan. */
export class PlanSchemaError extends DomainError<'PLAN_SCHEMA_INVALID'> {
  constructor(
    readonly at: string,
    message: string,
  ) {
    super(
      'invalid_input',
      'PLAN_SCHEMA_INVALID',
      `a schema of the plan is not valid JSON Schema: ${message}`,
      {
        details: [{ path: at, message }],
      },
    )
  }

  /** Field issues, like a body that fails its zod schema. */
  override publicDetails(): unknown {
    return this.details
  }
}

function newAjv(): Ajv {
  // strict off: plans written for Segment carry keywords Ajv does not know (`labels`, `id`).
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: true })
  addFormats.default(ajv)
  return ajv
}

function toPath(root: string, e: ErrorObject): string {
  const parts = e.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
  if (e.keyword === 'required' && typeof e.params.missingProperty === 'string') {
    parts.push(e.params.missingProperty)
  }
  if (e.keyword === 'additionalProperties' && typeof e.params.additionalProperty === 'string') {
    parts.push(e.params.additionalProperty)
  }
  return [root, ...parts].join('.')
}

function violationsOf(root: string, errors: ErrorObject[] | null | undefined): Violation[] {
  return (errors ?? []).slice(0, MAX_VIOLATIONS_PER_EVENT).map((e) => ({
    path: toPath(root, e),
    keyword: e.keyword,
    message: e.message ?? e.keyword,
  }))
}

/**
 * Compiles every schema of a plan once. Throws PlanSchemaError naming the schema that does not
 * compile, so a bad plan is refused when saved, never when events arrive.
 */
export function compilePlan(plan: TrackingPlan, version: number): CompiledPlan {
  const ajv = newAjv()
  const compile = (at: string, schema: unknown): ValidateFunction => {
    try {
      return ajv.compile(schema as object | boolean)
    } catch (err) {
      throw new PlanSchemaError(at, `${at}: ${(err as Error).message}`)
    }
  }
  const events = new Map<string, ValidateFunction>()
  for (const [name, schema] of Object.entries(plan.events)) {
    events.set(name, compile(`events.${name}`, schema))
  }
  const identify = plan.identify === undefined ? undefined : compile('identify', plan.identify)

  function check(event: KindredEvent): Verdict {
    if (plan.mode === 'allow' && plan.unplannedEvents === 'allow') return { action: 'pass' }
    if (event.type === 'track') {
      const name = event.event ?? ''
      const validate = events.get(name)
      if (!validate) {
        if (plan.unplannedEvents === 'allow') return { action: 'pass' }
        return {
          action: plan.unplannedEvents,
          violations: [
            {
              path: 'event',
              keyword: 'unplanned',
              message: `event "${name}" is not in the tracking plan`,
            },
          ],
        }
      }
      if (plan.mode === 'allow' || validate(event.properties ?? {})) return { action: 'pass' }
      return { action: plan.mode, violations: violationsOf('properties', validate.errors) }
    }
    if (event.type === 'identify' && identify && plan.mode !== 'allow') {
      if (identify(event.traits ?? {})) return { action: 'pass' }
      return { action: plan.mode, violations: violationsOf('traits', identify.errors) }
    }
    return { action: 'pass' }
  }

  return { version, plan, check }
}

/**
 * Compiled plans keyed by source and plan version: every node compiles a version once, and a
 * new version saved on any node is picked up as soon as a batch reads the new version number.
 * One version per source (a new one replaces the old), at most `maxEntries` sources, least
 * recently used out first (`lru-cache`, without a TTL: no clock, no timer).
 */
export function createPlanCache(maxEntries = 1_000) {
  const cache = new LRUCache<string, CompiledPlan>({ max: maxEntries })
  return {
    get(sourceId: string, version: number, load: () => TrackingPlan): CompiledPlan {
      const key = `${sourceId}@${version}`
      const hit = cache.get(key)
      if (hit) return hit
      const compiled = compilePlan(load(), version)
      for (const k of [...cache.keys()]) if (k.startsWith(`${sourceId}@`)) cache.delete(k)
      cache.set(key, compiled)
      return compiled
    },
    has(sourceId: string, version: number): boolean {
      return cache.has(`${sourceId}@${version}`)
    },
    get size() {
      return cache.size
    },
  }
}
export type PlanCache = ReturnType<typeof createPlanCache>
