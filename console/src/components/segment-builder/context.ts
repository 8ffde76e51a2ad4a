/**
 * What every editor of the builder reads: the whole tree (edits address it by path) and the lists
 * to pick from.
 */
import { createContext, useContext } from 'react'
import type { Catalog, ComputedTrait, Segment } from '../../api/types.js'
import type { SegmentNode } from '../../lib/segment-tree.js'

export interface BuilderContext {
  root: SegmentNode
  onChange: (root: SegmentNode) => void
  segments: Segment[]
  computedTraits: ComputedTrait[]
  /** What the workspace's sources have sent (names to suggest); undefined until loaded. */
  catalog?: Catalog | undefined
  excludeSegmentId?: string
}

export const BuilderCtx = createContext<BuilderContext | null>(null)

export function useBuilder(): BuilderContext {
  const ctx = useContext(BuilderCtx)
  if (!ctx) throw new Error('SegmentBuilder context missing')
  return ctx
}

/** The props of a condition kind's fields: its node and how to replace it. */
export interface FieldsProps<K extends SegmentNode['kind']> {
  node: Extract<SegmentNode, { kind: K }>
  set: (n: SegmentNode) => void
}
