/**
 * The PII policy ingest applies to each source's events (ADR 0003): the workspace's settings
 * (`workspaces.settings.pii`, cached here for 30 s like write keys) merged with the source's
 * `settings.pii` (cached with the source by auth). One instance per app context, shared by the
 * tracking routes (which apply it) and the privacy routes (which invalidate it on change).
 */
import { effectivePolicy, sourcePiiSchema, type PiiPolicy, type PiiSettings } from '../core/pii.js'
import { loadPiiSettings } from '../engine/pii-settings.js'
import type { Source } from '../../platform/store/repositories/sources-repository.js'
import type { AppContext } from '../../platform/http/context.js'
import { ttlCache } from '../../platform/cache.js'

export { loadPiiSettings }

const CACHE_MS = 30_000
/** Workspaces whose PII settings one node keeps (least recently used out first). */
const CACHE_MAX = 10_000

export interface PiiPolicies {
  /** The policy for a source's events; undefined when nothing needs protecting. */
  forSource(source: Source): Promise<PiiPolicy | undefined>
  invalidate(workspaceId?: string): void
}

function createPiiPolicies(ctx: AppContext): PiiPolicies {
  const workspaces = ttlCache<string, PiiSettings>({
    max: CACHE_MAX,
    ttlMs: CACHE_MS,
    clock: () => ctx.clock().getTime(),
  })
  // Per source object (auth hands out the same object until it refreshes it) and settings.
  const memo = new WeakMap<Source, { settings: PiiSettings; policy: PiiPolicy | undefined }>()
  return {
    async forSource(source) {
      let settings = workspaces.get(source.workspaceId)
      if (settings === undefined) {
        settings = await loadPiiSettings(ctx.db, source.workspaceId)
        workspaces.set(source.workspaceId, settings)
      }
      const known = memo.get(source)
      if (known && known.settings === settings) return known.policy
      const sourcePii = sourcePiiSchema.safeParse(source.settings.pii ?? {})
      const policy = effectivePolicy(settings, sourcePii.success ? sourcePii.data : undefined)
      memo.set(source, { settings, policy })
      return policy
    },
    invalidate(workspaceId) {
      if (workspaceId === undefined) workspaces.clear()
      else workspaces.delete(workspaceId)
    },
  }
}

const instances = new WeakMap<AppContext, PiiPolicies>()

export function piiPoliciesFor(ctx: AppContext): PiiPolicies {
  let p = instances.get(ctx)
  if (!p) instances.set(ctx, (p = createPiiPolicies(ctx)))
  return p
}
