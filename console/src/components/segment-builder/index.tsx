/**
 * The no-code segment builder: edits a definition tree (groups of conditions, nested groups,
 * NOT), one row per condition, for every node kind of the segment engine. One file per node
 * kind, as in src/understand/core/segments/definition.ts; the inputs they share are in inputs/.
 */
import { useQuery } from '@tanstack/react-query'
import { api } from '../../api/client.js'
import type { Catalog, ComputedTrait, Page, Segment } from '../../api/types.js'
import type { SegmentNode } from '../../lib/segment-tree.js'
import { BuilderCtx } from './context.js'
import { NodeEditor } from './group.js'

export function SegmentBuilder({
  value,
  onChange,
  excludeSegmentId,
}: {
  value: SegmentNode
  onChange: (next: SegmentNode) => void
  excludeSegmentId?: string
}) {
  const segments = useQuery({
    queryKey: ['segments'],
    queryFn: () => api<Page<Segment>>('/segments'),
  })
  const computed = useQuery({
    queryKey: ['computed-traits'],
    queryFn: () => api<Page<ComputedTrait>>('/computed-traits'),
  })
  // Suggestions only: the builder works the same while this loads or when it fails.
  const catalog = useQuery({ queryKey: ['catalog'], queryFn: () => api<Catalog>('/catalog') })
  return (
    <BuilderCtx.Provider
      value={{
        root: value,
        onChange,
        segments: segments.data?.data ?? [],
        computedTraits: computed.data?.data ?? [],
        catalog: catalog.data,
        excludeSegmentId,
      }}
    >
      <div data-testid="segment-builder">
        <NodeEditor node={value} path={[]} />
      </div>
    </BuilderCtx.Provider>
  )
}
