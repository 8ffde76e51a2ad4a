/**
 * The segment definition tree the no-code builder edits: the segment engine's own node types
 * (`src/understand/core/segments/definition.ts`, also published as `GET /api/v1/segments/schema`).
 * Pure, immutable updates addressed by a path of child indexes, so the builder's editing is
 * unit-tested.
 */

// The engine's own types (z.infer of its zod schemas), imported as types only: the builder edits
// exactly what the server parses, and the bundle carries none of the server's code.
import type {
  CountCondition,
  EventFilter,
  EventWindow,
  PropertyFilter,
  SegmentNode,
} from '../../../src/understand/core/segments/definition.js'
import type {
  DatePoint,
  Duration,
  PathRef,
  Scalar,
  TimeUnit,
  ValueCondition,
} from '../../../src/understand/core/segments/value-condition.js'

export type {
  DatePoint,
  Duration,
  EventFilter,
  EventWindow,
  PathRef,
  PropertyFilter,
  Scalar,
  SegmentNode,
  TimeUnit,
  ValueCondition,
}
export type ValueOp = ValueCondition['op']
export type CountOp = CountCondition['op']

export type NodeKind = SegmentNode['kind']
export type ConditionKind = Exclude<NodeKind, 'and' | 'or' | 'not'>
export type Path = number[]

export const conditionKinds: Array<{ kind: ConditionKind; label: string; hint: string }> = [
  { kind: 'trait', label: 'Trait', hint: 'who they are: plan, country, email…' },
  { kind: 'event', label: 'Event', hint: 'what they did, how often, when' },
  { kind: 'computed_trait', label: 'Computed trait', hint: 'lifetime value, order count…' },
  { kind: 'segment', label: 'In another segment', hint: 'reuse an audience' },
  { kind: 'funnel', label: 'Funnel', hint: 'A then B within a time' },
  { kind: 'consent', label: 'Consent', hint: 'granted or denied for a purpose' },
]

export type Arity = 'none' | 'scalar' | 'text' | 'number' | 'range' | 'list' | 'window' | 'date'

export const valueOps: Array<{ value: ValueOp; label: string; arity: Arity }> = [
  { value: 'eq', label: 'is', arity: 'scalar' },
  { value: 'neq', label: 'is not', arity: 'scalar' },
  { value: 'contains', label: 'contains', arity: 'text' },
  { value: 'not_contains', label: 'does not contain', arity: 'text' },
  { value: 'starts_with', label: 'starts with', arity: 'text' },
  { value: 'in', label: 'is one of', arity: 'list' },
  { value: 'not_in', label: 'is none of', arity: 'list' },
  { value: 'gt', label: '>', arity: 'number' },
  { value: 'gte', label: '≥', arity: 'number' },
  { value: 'lt', label: '<', arity: 'number' },
  { value: 'lte', label: '≤', arity: 'number' },
  { value: 'between', label: 'is between', arity: 'range' },
  { value: 'exists', label: 'is set', arity: 'none' },
  { value: 'not_exists', label: 'is not set', arity: 'none' },
  { value: 'is_true', label: 'is true', arity: 'none' },
  { value: 'is_false', label: 'is false', arity: 'none' },
  { value: 'date_within_last', label: 'date is within the last', arity: 'window' },
  { value: 'date_before', label: 'date is before', arity: 'date' },
  { value: 'date_after', label: 'date is after', arity: 'date' },
]

export function opArity(op: ValueOp): Arity {
  return valueOps.find((o) => o.value === op)?.arity ?? 'scalar'
}

/**
 * Switches a condition to another operator, keeping the operand when its shape still fits
 * (so changing "is" to "is not" keeps the typed value).
 */
export function changeOp(cond: ValueCondition, op: ValueOp): ValueCondition {
  const old = cond as Record<string, unknown>
  const scalar = (old.value ??
    (Array.isArray(old.values) ? old.values[0] : undefined) ??
    '') as Scalar
  switch (opArity(op)) {
    case 'none':
      return { op } as ValueCondition
    case 'scalar':
      return { op, value: scalar } as ValueCondition
    case 'text':
      return { op, value: typeof scalar === 'string' ? scalar : String(scalar) } as ValueCondition
    case 'number':
      return {
        op,
        value: typeof scalar === 'number' ? scalar : Number(scalar) || 0,
      } as ValueCondition
    case 'range':
      return {
        op: 'between',
        min: typeof old.min === 'number' ? old.min : 0,
        max: typeof old.max === 'number' ? old.max : 100,
      }
    case 'list':
      return {
        op,
        values: Array.isArray(old.values)
          ? (old.values as Scalar[])
          : scalar === ''
            ? []
            : [scalar],
      } as ValueCondition
    case 'window':
      return {
        op: 'date_within_last',
        amount: typeof old.amount === 'number' ? old.amount : 7,
        unit: (old.unit as TimeUnit) ?? 'days',
      }
    case 'date':
      return {
        op,
        date: (old.date as DatePoint) ?? {
          kind: 'relative',
          amount: 30,
          unit: 'days',
          direction: 'ago',
        },
      } as ValueCondition
  }
}

export function emptyGroup(kind: 'and' | 'or' = 'and'): SegmentNode {
  return { kind, children: [] }
}

export function newCondition(kind: ConditionKind): SegmentNode {
  switch (kind) {
    case 'trait':
      return { kind: 'trait', trait: '', condition: { op: 'eq', value: '' } }
    case 'event':
      return {
        kind: 'event',
        event: '',
        performed: true,
        count: { op: 'gte', value: 1 },
        window: { kind: 'last', amount: 30, unit: 'days' },
      }
    case 'computed_trait':
      return { kind: 'computed_trait', id: '', condition: { op: 'gte', value: 1 } }
    case 'segment':
      return { kind: 'segment', id: '', member: true }
    case 'funnel':
      return {
        kind: 'funnel',
        steps: [{ event: '' }, { event: '' }],
        within: { amount: 7, unit: 'days' },
      }
    case 'consent':
      return { kind: 'consent', purpose: 'marketing', status: 'granted' }
  }
}

export function getNode(root: SegmentNode, path: Path): SegmentNode | undefined {
  let node: SegmentNode | undefined = root
  for (const index of path) {
    if (!node) return undefined
    node = childrenOf(node)[index]
  }
  return node
}

export function childrenOf(node: SegmentNode): SegmentNode[] {
  if (node.kind === 'and' || node.kind === 'or') return node.children
  if (node.kind === 'not') return [node.child]
  return []
}

function withChildren(node: SegmentNode, children: SegmentNode[]): SegmentNode {
  if (node.kind === 'and' || node.kind === 'or') return { ...node, children }
  if (node.kind === 'not') return { ...node, child: children[0] ?? emptyGroup() }
  return node
}

/** Replaces the node at `path` with `fn(node)`; returns a new tree. */
export function updateAt(
  root: SegmentNode,
  path: Path,
  fn: (node: SegmentNode) => SegmentNode,
): SegmentNode {
  if (path.length === 0) return fn(root)
  const [head, ...rest] = path as [number, ...number[]]
  const children = childrenOf(root)
  if (head < 0 || head >= children.length) return root
  const next = children.map((child, i) => (i === head ? updateAt(child, rest, fn) : child))
  return withChildren(root, next)
}

/** Appends `child` to the group at `path` (a group or a `not`'s inner group). */
export function addChild(root: SegmentNode, path: Path, child: SegmentNode): SegmentNode {
  return updateAt(root, path, (node) =>
    node.kind === 'and' || node.kind === 'or'
      ? { ...node, children: [...node.children, child] }
      : node,
  )
}

/** Removes the node at `path`; removing a `not`'s only child removes the `not`. */
export function removeAt(root: SegmentNode, path: Path): SegmentNode {
  if (path.length === 0) return emptyGroup(root.kind === 'or' ? 'or' : 'and')
  const parentPath = path.slice(0, -1)
  const index = path[path.length - 1]!
  const parent = getNode(root, parentPath)
  if (parent?.kind === 'not') return removeAt(root, parentPath)
  return updateAt(root, parentPath, (node) =>
    node.kind === 'and' || node.kind === 'or'
      ? { ...node, children: node.children.filter((_, i) => i !== index) }
      : node,
  )
}

/** Wraps the node at `path` in a `not`, or unwraps it when it already is one. */
export function toggleNot(root: SegmentNode, path: Path): SegmentNode {
  return updateAt(root, path, (node) =>
    node.kind === 'not' ? node.child : { kind: 'not', child: node },
  )
}

/** Counts leaf conditions (for "3 conditions" summaries and the empty check). */
export function countConditions(node: SegmentNode): number {
  if (node.kind === 'and' || node.kind === 'or' || node.kind === 'not')
    return childrenOf(node).reduce((sum, child) => sum + countConditions(child), 0)
  return 1
}

/** Lists what is still missing before a definition can be previewed or saved. */
export function problems(node: SegmentNode, path: Path = []): string[] {
  const where = path.length ? ` (condition ${path.map((i) => i + 1).join('.')})` : ''
  switch (node.kind) {
    case 'and':
    case 'or':
      if (node.children.length === 0)
        return [
          path.length
            ? `An empty group${where}: add a condition or remove it.`
            : 'Add a first condition.',
        ]
      return node.children.flatMap((c, i) => problems(c, [...path, i]))
    case 'not':
      return problems(node.child, [...path, 0])
    case 'trait':
      if (pathText(node.trait) === '') return [`Pick a trait name${where}.`]
      return conditionProblems(node.condition, where)
    case 'event':
      if (!node.event?.trim() && !node.type) return [`Name the event${where}.`]
      return (node.where ?? []).flatMap((f) =>
        pathText(f.property) === ''
          ? [`Name the property to filter on${where}.`]
          : conditionProblems(f.condition, where),
      )
    case 'computed_trait':
      if (!node.id) return [`Pick a computed trait${where}.`]
      return conditionProblems(node.condition, where)
    case 'segment':
      return node.id ? [] : [`Pick a segment${where}.`]
    case 'funnel':
      return node.steps.length < 2 || node.steps.some((s) => !s.event?.trim())
        ? [`Name every funnel step (at least two)${where}.`]
        : []
    case 'consent':
      return node.purpose.trim() ? [] : [`Name the consent purpose${where}.`]
  }
}

export function pathText(ref: PathRef): string {
  return (typeof ref === 'string' ? ref : ref.join('.')).trim()
}

/** `a.b` typed in the builder becomes the path `['a', 'b']`; a plain key stays a string. */
export function toPathRef(text: string): PathRef {
  const parts = text.split('.')
  return parts.length > 1 && parts.every((p) => p !== '') ? parts : text
}

function conditionProblems(c: ValueCondition, where: string): string[] {
  switch (opArity(c.op)) {
    case 'scalar':
    case 'text':
      return (c as { value: Scalar }).value === '' ? [`Give a value${where}.`] : []
    case 'number':
      return typeof (c as { value: unknown }).value === 'number' ? [] : [`Give a number${where}.`]
    case 'range': {
      const r = c as { min: number; max: number }
      return r.min <= r.max ? [] : [`The range starts after it ends${where}.`]
    }
    case 'list':
      return (c as { values: Scalar[] }).values.length ? [] : [`List at least one value${where}.`]
    case 'date': {
      const d = (c as { date: DatePoint }).date
      return d.kind === 'absolute' && !/^\d{4}-\d{2}-\d{2}/.test(d.at)
        ? [`Give a date as YYYY-MM-DD${where}.`]
        : []
    }
    default:
      return []
  }
}

/** Reads a stored definition; anything unreadable becomes an empty `and` group. */
export function parseDefinition(value: unknown): SegmentNode {
  if (typeof value === 'object' && value !== null && 'kind' in value) {
    const node = value as SegmentNode
    if (node.kind === 'and' || node.kind === 'or') return node
    return { kind: 'and', children: [node] }
  }
  return emptyGroup()
}

/** Turns a typed string into a number when it looks like one (trait values are JSON). */
export function coerceValue(text: string): string | number | boolean {
  const trimmed = text.trim()
  if (trimmed === 'true') return true
  if (trimmed === 'false') return false
  if (trimmed !== '' && /^-?\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed)
  return text
}
