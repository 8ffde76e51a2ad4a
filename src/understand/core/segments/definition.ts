/**
 * @module definition
 * Segment definitions: a tree of nodes tagged by `kind`, validated by zod. One definition is
 * evaluated in memory (evaluate.ts, real-time path) and compiled to SQL (compile-sql.ts, batch);
 * both give the same answer (see README.md for the exact semantics).
 *
 * @example
 * const def = parseSegmentDefinition({
 *   kind: 'and',
 *   children: [
 *     { kind: 'trait', trait: 'plan', condition: { op: 'eq', value: 'pro' } },
 *     { kind: 'event', event: 'Order Completed', count: { op: 'gte', value: 2 },
 *       window: { kind: 'last', amount: 30, unit: 'days' } },
 *   ],
 * })
 */
import { z } from 'zod'
import { DomainError } from '../../../protocol/errors.js'
import { nestsDeeperThan } from '../../../protocol/json-scan.js'
import { MAX_JSON_DEPTH } from '../../../protocol/limits.js'
import {
  durationSchema,
  isoDateSchema,
  isTimeDependent,
  parseIsoMs,
  pathSchema,
  toPath,
  valueConditionSchema,
} from './value-condition.js'

export const SEGMENT_LIMITS = {
  maxDepth: 10,
  maxNodes: 200,
  maxChildren: 50,
  maxPropertyFilters: 20,
  maxFunnelSteps: 5,
} as const

const idSchema = z.string().min(1).max(200)

export const eventTypeSchema = z.enum(['track', 'page', 'screen', 'identify', 'group', 'alias'])

/** A condition on one event property (`properties #> path`). */
export const propertyFilterSchema = z.object({
  property: pathSchema,
  condition: valueConditionSchema,
})
export type PropertyFilter = z.infer<typeof propertyFilterSchema>

/** Which events count: by name (the `event` column), type, and property filters (all must hold). */
export const eventFilterSchema = z.object({
  event: z.string().min(1).max(200).optional(),
  type: eventTypeSchema.optional(),
  where: z.array(propertyFilterSchema).max(SEGMENT_LIMITS.maxPropertyFilters).optional(),
})
export type EventFilter = z.infer<typeof eventFilterSchema>

/**
 * Which events are in time: `last` = (now - duration, now]; `between` = [from, to).
 */
export const eventWindowSchema = z.discriminatedUnion('kind', [
  durationSchema.extend({ kind: z.literal('last') }),
  z
    .object({ kind: z.literal('between'), from: isoDateSchema, to: isoDateSchema })
    .refine((w) => (parseIsoMs(w.from) ?? 0) <= (parseIsoMs(w.to) ?? 0), {
      message: '`from` must not be after `to`',
    }),
])
export type EventWindow = z.infer<typeof eventWindowSchema>

export const countConditionSchema = z.object({
  op: z.enum(['gte', 'lte', 'eq']),
  value: z.number().int().min(0).max(1_000_000),
})
export type CountCondition = z.infer<typeof countConditionSchema>

const traitNode = z.object({
  kind: z.literal('trait'),
  trait: pathSchema,
  condition: valueConditionSchema,
})
const eventNode = eventFilterSchema.extend({
  kind: z.literal('event'),
  /** false = "did not perform": the negation of the whole count condition. */
  performed: z.boolean().optional(),
  /** How many matching events; default at least 1. */
  count: countConditionSchema.optional(),
  window: eventWindowSchema.optional(),
})
const computedTraitNode = z.object({
  kind: z.literal('computed_trait'),
  id: idSchema,
  condition: valueConditionSchema,
})
const segmentNode = z.object({
  kind: z.literal('segment'),
  id: idSchema,
  /** false = "not a member of". */
  member: z.boolean().optional(),
})
const funnelNode = z.object({
  kind: z.literal('funnel'),
  steps: z.array(eventFilterSchema).min(2).max(SEGMENT_LIMITS.maxFunnelSteps),
  /** Every later step happens at most this long after the first step (inclusive). */
  within: durationSchema,
  window: eventWindowSchema.optional(),
})
const consentNode = z.object({
  kind: z.literal('consent'),
  purpose: z.string().min(1).max(200),
  status: z.enum(['granted', 'denied']),
})

export type TraitNode = z.infer<typeof traitNode>
export type EventNode = z.infer<typeof eventNode>
export type ComputedTraitNode = z.infer<typeof computedTraitNode>
export type SegmentRefNode = z.infer<typeof segmentNode>
export type FunnelNode = z.infer<typeof funnelNode>
export type ConsentNode = z.infer<typeof consentNode>
export type AndNode = { kind: 'and'; children: SegmentNode[] }
export type OrNode = { kind: 'or'; children: SegmentNode[] }
export type NotNode = { kind: 'not'; child: SegmentNode }
export type SegmentNode =
  | AndNode
  | OrNode
  | NotNode
  | TraitNode
  | EventNode
  | ComputedTraitNode
  | SegmentRefNode
  | FunnelNode
  | ConsentNode

const andNode = z.object({
  kind: z.literal('and'),
  get children() {
    return z.array(segmentNodeSchema).min(1).max(SEGMENT_LIMITS.maxChildren)
  },
})
const orNode = z.object({
  kind: z.literal('or'),
  get children() {
    return z.array(segmentNodeSchema).min(1).max(SEGMENT_LIMITS.maxChildren)
  },
})
const notNode = z.object({
  kind: z.literal('not'),
  get child() {
    return segmentNodeSchema
  },
})

export const segmentNodeSchema: z.ZodType<SegmentNode> = z.discriminatedUnion('kind', [
  andNode,
  orNode,
  notNode,
  traitNode,
  eventNode,
  computedTraitNode,
  segmentNode,
  funnelNode,
  consentNode,
])

/** Depth and node count of a tree. */
export function measure(node: SegmentNode): { depth: number; nodes: number } {
  switch (node.kind) {
    case 'and':
    case 'or': {
      let depth = 0
      let nodes = 1
      for (const c of node.children) {
        const m = measure(c)
        depth = Math.max(depth, m.depth)
        nodes += m.nodes
      }
      return { depth: depth + 1, nodes }
    }
    case 'not': {
      const m = measure(node.child)
      return { depth: m.depth + 1, nodes: m.nodes + 1 }
    }
    default:
      return { depth: 1, nodes: 1 }
  }
}

/** A whole segment definition: a node tree within SEGMENT_LIMITS. */
export const segmentDefinitionSchema = segmentNodeSchema.superRefine((node, ctx) => {
  const m = measure(node)
  if (m.depth > SEGMENT_LIMITS.maxDepth)
    ctx.addIssue({
      code: 'custom',
      message: `definition is ${m.depth} levels deep; the limit is ${SEGMENT_LIMITS.maxDepth}`,
    })
  if (m.nodes > SEGMENT_LIMITS.maxNodes)
    ctx.addIssue({
      code: 'custom',
      message: `definition has ${m.nodes} nodes; the limit is ${SEGMENT_LIMITS.maxNodes}`,
    })
})
export type SegmentDefinition = SegmentNode

/** JSON Schema (draft 2020-12) of a segment definition, published for API users. */
export const segmentDefinitionJsonSchema = z.toJSONSchema(segmentNodeSchema, {
  target: 'draft-2020-12',
  io: 'input',
})

/** Stable error codes raised by this module. */
export const SEGMENT_ERROR_CODES = {
  invalid: 'SEGMENT_DEFINITION_INVALID',
  cycle: 'SEGMENT_CYCLE',
  unknownSegment: 'SEGMENT_REFERENCE_UNKNOWN',
} as const

export class SegmentDefinitionError extends DomainError<
  (typeof SEGMENT_ERROR_CODES)[keyof typeof SEGMENT_ERROR_CODES]
> {
  constructor(
    code: (typeof SEGMENT_ERROR_CODES)[keyof typeof SEGMENT_ERROR_CODES],
    message: string,
    details?: unknown,
  ) {
    super('invalid_input', code, message, { details })
  }

  /** The API has always answered with the zod issues as `issues`. */
  override publicDetails(): unknown {
    return { code: this.code, issues: this.details }
  }
}

/**
 * Validates unknown input as a segment definition.
 * @throws SegmentDefinitionError with code SEGMENT_DEFINITION_INVALID and zod issues as details.
 */
export function parseSegmentDefinition(input: unknown): SegmentDefinition {
  // zod recurses on the tree: a value nested thousands deep would overflow the stack before the
  // depth limit below is even measured, so the nesting is checked first, without recursion.
  if (nestsDeeperThan(input, MAX_JSON_DEPTH)) {
    throw new SegmentDefinitionError(
      SEGMENT_ERROR_CODES.invalid,
      `Invalid segment definition: nested deeper than ${MAX_JSON_DEPTH} levels; the definition limit is ${SEGMENT_LIMITS.maxDepth} levels of nodes.`,
      [],
    )
  }
  const r = segmentDefinitionSchema.safeParse(input)
  if (!r.success)
    throw new SegmentDefinitionError(
      SEGMENT_ERROR_CODES.invalid,
      `Invalid segment definition: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}. Fix the definition (see segmentDefinitionJsonSchema) and retry.`,
      r.error.issues,
    )
  return r.data
}

/** What a definition reads, so the real-time path re-evaluates only affected segments. */
export interface SegmentDependencies {
  /** Top-level trait keys (a change to any nested key of these affects the segment). */
  traits: string[]
  /** Event names; `anyEvent` is true when a condition matches events regardless of name. */
  events: string[]
  /** Event types named by conditions without an event name (e.g. any `page`). */
  eventTypes: string[]
  anyEvent: boolean
  computedTraits: string[]
  segments: string[]
  consentPurposes: string[]
  /** true when membership can change with the clock alone (needs scheduled re-evaluation). */
  timeDependent: boolean
}

export function dependencies(def: SegmentDefinition): SegmentDependencies {
  const traits = new Set<string>()
  const events = new Set<string>()
  const eventTypes = new Set<string>()
  const computedTraits = new Set<string>()
  const segments = new Set<string>()
  const consentPurposes = new Set<string>()
  let anyEvent = false
  let timeDependent = false
  const onFilter = (f: EventFilter): void => {
    if (f.event !== undefined) events.add(f.event)
    else if (f.type !== undefined) eventTypes.add(f.type)
    else anyEvent = true
    for (const w of f.where ?? []) if (isTimeDependent(w.condition)) timeDependent = true
  }
  const visit = (n: SegmentNode): void => {
    switch (n.kind) {
      case 'and':
      case 'or':
        n.children.forEach(visit)
        return
      case 'not':
        visit(n.child)
        return
      case 'trait':
        traits.add(toPath(n.trait)[0] as string)
        if (isTimeDependent(n.condition)) timeDependent = true
        return
      case 'event':
        onFilter(n)
        if (n.window?.kind === 'last') timeDependent = true
        return
      case 'funnel':
        n.steps.forEach(onFilter)
        if (n.window?.kind === 'last') timeDependent = true
        return
      case 'computed_trait':
        computedTraits.add(n.id)
        if (isTimeDependent(n.condition)) timeDependent = true
        return
      case 'segment':
        segments.add(n.id)
        return
      case 'consent':
        consentPurposes.add(n.purpose)
        return
    }
  }
  visit(def)
  const sorted = (s: Set<string>): string[] => [...s].sort()
  return {
    traits: sorted(traits),
    events: sorted(events),
    eventTypes: sorted(eventTypes),
    anyEvent,
    computedTraits: sorted(computedTraits),
    segments: sorted(segments),
    consentPurposes: sorted(consentPurposes),
    timeDependent,
  }
}

/** What changed for a profile in a micro-batch, to match against SegmentDependencies. */
export interface ProfileChange {
  traits?: Iterable<string>
  events?: Iterable<{ name?: string | null; type: string }>
  computedTraits?: Iterable<string>
  segments?: Iterable<string>
  consentPurposes?: Iterable<string>
}

/** Is a segment with these dependencies affected by this change? */
export function isAffected(deps: SegmentDependencies, change: ProfileChange): boolean {
  const hit = (xs: Iterable<string> | undefined, ys: string[]): boolean => {
    if (xs === undefined || ys.length === 0) return false
    for (const x of xs) if (ys.includes(x)) return true
    return false
  }
  if (hit(change.traits, deps.traits)) return true
  if (hit(change.computedTraits, deps.computedTraits)) return true
  if (hit(change.segments, deps.segments)) return true
  if (hit(change.consentPurposes, deps.consentPurposes)) return true
  for (const e of change.events ?? []) {
    if (deps.anyEvent) return true
    if (e.name != null && deps.events.includes(e.name)) return true
    if (deps.eventTypes.includes(e.type)) return true
  }
  return false
}

/**
 * Rejects a definition whose segment references form a cycle (or name unknown segments).
 * `lookup` returns the stored definition of another segment, or undefined when it does not exist.
 * @throws SegmentDefinitionError SEGMENT_CYCLE (details: the cycle as ids) or
 *   SEGMENT_REFERENCE_UNKNOWN (details: the missing id).
 */
export function assertNoSegmentCycle(
  segmentId: string,
  def: SegmentDefinition,
  lookup: (id: string) => SegmentDefinition | undefined,
): void {
  const done = new Set<string>()
  const walk = (id: string, d: SegmentDefinition, stack: string[]): void => {
    for (const ref of dependencies(d).segments) {
      if (ref === segmentId || stack.includes(ref)) {
        const cycle = [...stack, ref]
        throw new SegmentDefinitionError(
          SEGMENT_ERROR_CODES.cycle,
          `Segment references form a cycle: ${cycle.join(' -> ')}. Remove one of the references.`,
          cycle,
        )
      }
      if (done.has(ref)) continue
      const next = lookup(ref)
      if (next === undefined)
        throw new SegmentDefinitionError(
          SEGMENT_ERROR_CODES.unknownSegment,
          `Segment ${id} references segment ${ref}, which does not exist. Create it first or remove the reference.`,
          ref,
        )
      walk(ref, next, [...stack, ref])
      done.add(ref)
    }
  }
  walk(segmentId, def, [segmentId])
}

/**
 * Segment ids in an order where each segment comes after the segments it references, so a
 * batch run (or a real-time pass) can evaluate them in sequence. Assumes no cycles.
 */
export function evaluationOrder(defs: ReadonlyMap<string, SegmentDefinition>): string[] {
  const out: string[] = []
  const seen = new Set<string>()
  const visit = (id: string): void => {
    if (seen.has(id)) return
    seen.add(id)
    const d = defs.get(id)
    if (d !== undefined) for (const ref of dependencies(d).segments) visit(ref)
    out.push(id)
  }
  for (const id of [...defs.keys()].sort()) visit(id)
  return out
}
