/**
 * A segment definition in words, for the segment page: "trait plan equals pro AND performed
 * Order Completed at least 2 times in the last 30 days". Pure; covers every node kind of the
 * engine's definition (`src/understand/core/segments/definition.ts`) and every value operator.
 * Nested groups are parenthesised so AND/OR precedence reads the way the engine evaluates it.
 */
import type {
  DatePoint,
  EventFilter,
  EventWindow,
  PathRef,
  Scalar,
  SegmentNode,
  TimeUnit,
  ValueCondition,
} from './segment-tree.js'

/** Names for referenced ids (segments, computed traits), when the page knows them. */
export interface DescribeNames {
  segments?: Record<string, string>
  computedTraits?: Record<string, string>
}

function path(ref: PathRef): string {
  return typeof ref === 'string' ? ref : ref.join('.')
}

function scalar(v: Scalar): string {
  return typeof v === 'string' ? `"${v}"` : String(v)
}

function span(amount: number, unit: TimeUnit): string {
  // Units are plural in the schema ("days"); one of them reads singular.
  return `${amount} ${amount === 1 ? unit.slice(0, -1) : unit}`
}

function datePoint(p: DatePoint): string {
  if (p.kind === 'absolute') return p.at
  if (p.amount === 0) return 'now'
  return `${span(p.amount, p.unit)} ${p.direction === 'from_now' ? 'from now' : 'ago'}`
}

/** One value condition, e.g. `equals "pro"`, `is between 1 and 5`. */
export function describeCondition(c: ValueCondition): string {
  const ic = 'ignoreCase' in c && c.ignoreCase === true ? ' (ignoring case)' : ''
  switch (c.op) {
    case 'eq':
      return `equals ${scalar(c.value)}${ic}`
    case 'neq':
      return `does not equal ${scalar(c.value)}${ic}`
    case 'in':
      return `is one of ${c.values.map(scalar).join(', ')}${ic}`
    case 'not_in':
      return `is none of ${c.values.map(scalar).join(', ')}${ic}`
    case 'contains':
      return `contains ${scalar(c.value)}${ic}`
    case 'not_contains':
      return `does not contain ${scalar(c.value)}${ic}`
    case 'starts_with':
      return `starts with ${scalar(c.value)}${ic}`
    case 'gt':
      return `is greater than ${c.value}`
    case 'gte':
      return `is at least ${c.value}`
    case 'lt':
      return `is less than ${c.value}`
    case 'lte':
      return `is at most ${c.value}`
    case 'between':
      return `is between ${c.min} and ${c.max}`
    case 'exists':
      return 'is set'
    case 'not_exists':
      return 'is not set'
    case 'is_true':
      return 'is true'
    case 'is_false':
      return 'is false'
    case 'date_within_last':
      return `is a date within the last ${span(c.amount, c.unit)}`
    case 'date_before':
      return `is a date before ${datePoint(c.date)}`
    case 'date_after':
      return `is a date after ${datePoint(c.date)}`
  }
}

function filter(f: EventFilter): string {
  const what =
    f.event !== undefined
      ? f.type !== undefined && f.type !== 'track'
        ? `${f.type} ${f.event}`
        : f.event
      : f.type !== undefined
        ? `any ${f.type} event`
        : 'any event'
  const where = (f.where ?? []).map((w) => `${path(w.property)} ${describeCondition(w.condition)}`)
  return where.length > 0 ? `${what} where ${where.join(' and ')}` : what
}

function inWindow(w: EventWindow | undefined): string {
  if (w === undefined) return ''
  if (w.kind === 'last') return ` in the last ${span(w.amount, w.unit)}`
  return ` between ${w.from} and ${w.to}`
}

function times(n: number): string {
  return `${n} time${n === 1 ? '' : 's'}`
}

function node(n: SegmentNode, names: DescribeNames, nested: boolean): string {
  switch (n.kind) {
    case 'and':
    case 'or': {
      if (n.children.length === 1) return node(n.children[0] as SegmentNode, names, nested)
      const text = n.children
        .map((c) => node(c, names, true))
        .join(n.kind === 'and' ? ' AND ' : ' OR ')
      return nested ? `(${text})` : text
    }
    case 'not':
      return `NOT ${node(n.child, names, true)}`
    case 'trait':
      return `trait ${path(n.trait)} ${describeCondition(n.condition)}`
    case 'computed_trait':
      return `computed trait ${names.computedTraits?.[n.id] ?? n.id} ${describeCondition(n.condition)}`
    case 'segment':
      return `${n.member === false ? 'not in' : 'in'} segment ${names.segments?.[n.id] ?? n.id}`
    case 'consent':
      return `consent for ${n.purpose} is ${n.status}`
    case 'event': {
      const c = n.count ?? { op: 'gte' as const, value: 1 }
      const count =
        c.op === 'gte'
          ? c.value === 1
            ? ''
            : ` at least ${times(c.value)}`
          : c.op === 'lte'
            ? ` at most ${times(c.value)}`
            : ` exactly ${times(c.value)}`
      const verb = n.performed === false ? 'did not perform' : 'performed'
      return `${verb} ${filter(n)}${count}${inWindow(n.window)}`
    }
    case 'funnel':
      return `did ${n.steps.map(filter).join(', then ')} within ${span(n.within.amount, n.within.unit)}${inWindow(n.window)}`
  }
}

/** The whole definition in words. */
export function describeSegment(def: SegmentNode, names: DescribeNames = {}): string {
  return node(def, names, false)
}
