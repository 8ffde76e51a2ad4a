import { describe, expect, it } from 'vitest'
import {
  addChild,
  changeOp,
  toPathRef,
  coerceValue,
  countConditions,
  emptyGroup,
  getNode,
  newCondition,
  parseDefinition,
  problems,
  removeAt,
  toggleNot,
  updateAt,
  type SegmentNode,
} from './segment-tree.js'

const trait = (t: string, value: string | number): SegmentNode => ({
  kind: 'trait',
  trait: t,
  condition: { op: 'eq', value },
})

describe('segment tree editing', () => {
  it('adds conditions and nested groups without mutating the input', () => {
    const root = emptyGroup('and')
    const one = addChild(root, [], trait('plan', 'pro'))
    const two = addChild(one, [], emptyGroup('or'))
    const three = addChild(two, [1], trait('country', 'FR'))
    expect(root).toEqual({ kind: 'and', children: [] })
    expect(countConditions(three)).toBe(2)
    expect(getNode(three, [1, 0])).toEqual(trait('country', 'FR'))
  })

  it('updates and removes by path', () => {
    let root = addChild(addChild(emptyGroup(), [], trait('a', 1)), [], trait('b', 2))
    root = updateAt(root, [1], (n) =>
      n.kind === 'trait' ? { ...n, condition: { op: 'eq', value: 3 } } : n,
    )
    expect(getNode(root, [1])).toEqual(trait('b', 3))
    root = removeAt(root, [0])
    expect(root).toEqual({ kind: 'and', children: [trait('b', 3)] })
  })

  it('wraps in and unwraps from not; removing the inside removes the not', () => {
    const root = addChild(emptyGroup(), [], trait('a', 1))
    const negated = toggleNot(root, [0])
    expect(getNode(negated, [0])).toEqual({ kind: 'not', child: trait('a', 1) })
    expect(toggleNot(negated, [0])).toEqual(root)
    expect(removeAt(negated, [0, 0])).toEqual(emptyGroup())
  })

  it('reports what is missing in plain words', () => {
    expect(problems(emptyGroup())).toEqual(['Add a first condition.'])
    const root = addChild(
      addChild(emptyGroup(), [], newCondition('trait')),
      [],
      newCondition('event'),
    )
    expect(problems(root)).toEqual([
      'Pick a trait name (condition 1).',
      'Name the event (condition 2).',
    ])
    const between: SegmentNode = {
      kind: 'trait',
      trait: 'age',
      condition: { op: 'between', min: 65, max: 18 },
    }
    expect(problems({ kind: 'and', children: [between] })).toEqual([
      'The range starts after it ends (condition 1).',
    ])
    const anyPage: SegmentNode = { kind: 'event', type: 'page' }
    expect(problems({ kind: 'and', children: [anyPage] })).toEqual([])
    expect(problems({ kind: 'and', children: [trait('plan', 'pro')] })).toEqual([])
  })

  it('changes operators keeping operands that still fit', () => {
    expect(changeOp({ op: 'eq', value: 'pro' }, 'neq')).toEqual({ op: 'neq', value: 'pro' })
    expect(changeOp({ op: 'eq', value: 'pro' }, 'in')).toEqual({ op: 'in', values: ['pro'] })
    expect(changeOp({ op: 'eq', value: '5' }, 'gte')).toEqual({ op: 'gte', value: 5 })
    expect(changeOp({ op: 'eq', value: 'x' }, 'exists')).toEqual({ op: 'exists' })
    expect(changeOp({ op: 'exists' }, 'date_within_last')).toEqual({
      op: 'date_within_last',
      amount: 7,
      unit: 'days',
    })
    expect(toPathRef('address.city')).toEqual(['address', 'city'])
    expect(toPathRef('plan')).toBe('plan')
  })

  it('reads stored definitions and coerces typed values', () => {
    expect(parseDefinition(trait('a', 1))).toEqual({ kind: 'and', children: [trait('a', 1)] })
    expect(parseDefinition(null)).toEqual(emptyGroup())
    expect(coerceValue('42')).toBe(42)
    expect(coerceValue('true')).toBe(true)
    expect(coerceValue('pro')).toBe('pro')
  })
})
