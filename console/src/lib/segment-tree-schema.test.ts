/**
 * The builder's tree is the engine's own format: every node kind the builder creates and every
 * value operator it offers, once the user has filled the blanks, parses with the server's zod
 * schema, so a drift between the two fails here.
 */
import { describe, expect, it } from 'vitest'
import { segmentDefinitionSchema } from '../../../src/understand/core/segments/definition.js'
import {
  changeOp,
  conditionKinds,
  newCondition,
  valueOps,
  type SegmentNode,
  type ValueCondition,
} from './segment-tree.js'

/** What a user types into the blanks the builder leaves. */
function filled(node: SegmentNode): SegmentNode {
  switch (node.kind) {
    case 'trait':
      return { ...node, trait: 'plan' }
    case 'event':
      return { ...node, event: 'Order Completed' }
    case 'computed_trait':
      return { ...node, id: 'ct_lifetime_value' }
    case 'segment':
      return { ...node, id: 'seg_pro' }
    case 'funnel':
      return { ...node, steps: [{ event: 'Product Viewed' }, { event: 'Order Completed' }] }
    default:
      return node
  }
}

function withValues(cond: ValueCondition): ValueCondition {
  if ('values' in cond && cond.values.length === 0) return { ...cond, values: ['pro'] }
  if ('value' in cond && cond.value === '') return { ...cond, value: 'pro' } as ValueCondition
  return cond
}

describe('the segment builder speaks the engine schema', () => {
  it.each(conditionKinds.map((c) => c.kind))('a new %s condition parses once filled', (kind) => {
    const root: SegmentNode = { kind: 'and', children: [filled(newCondition(kind))] }
    const r = segmentDefinitionSchema.safeParse(root)
    expect(r.error?.issues ?? []).toEqual([])
  })

  it.each(valueOps.map((o) => o.value))('a trait condition with operator %s parses', (op) => {
    const start = newCondition('trait')
    if (start.kind !== 'trait') throw new Error('newCondition(trait) is not a trait')
    const node: SegmentNode = {
      kind: 'trait',
      trait: 'plan',
      condition: withValues(changeOp(start.condition, op)),
    }
    const r = segmentDefinitionSchema.safeParse(node)
    expect(r.error?.issues ?? []).toEqual([])
  })
})
