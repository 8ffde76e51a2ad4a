import type {
  Destination,
  DestinationInput,
  FileEffect,
  TransformContext,
  TransformResult,
} from '../contract.js'
import { defineDestination } from '../contract.js'
import { defaultClassify } from '../shared/classify.js'
import { idempotencyKey, partitionSupported } from '../shared/profile-fields.js'
import { manifest, type FileExportSettings } from './manifest.js'

export function transform(
  inputs: DestinationInput[],
  ctx: TransformContext<FileExportSettings>,
): TransformResult {
  const { supported, skipped } = partitionSupported(inputs, manifest.actions)
  const result: TransformResult = { effects: [], skipped }
  const s = ctx.settings
  const exportedAt = new Date(ctx.now).toISOString()
  const file = (
    kind: string,
    columns: string[],
    items: { id: string; row: Record<string, unknown> }[],
  ): FileEffect => {
    const itemIds = items.map((i) => i.id)
    const key = idempotencyKey(ctx.destinationId, `file:${kind}`, itemIds)
    return {
      type: 'file',
      path: `${kind}/${s.filePrefix}-${kind}-${key.slice(0, 16)}.${s.format}`,
      format: s.format,
      columns,
      rows: items.map((i) => i.row),
      idempotencyKey: key,
      itemIds,
    }
  }
  const traitsOf = (traits: Record<string, unknown>) =>
    Object.fromEntries(s.traits.map((t) => [t, traits[t] ?? null]))

  const profiles: { id: string; row: Record<string, unknown> }[] = []
  const audience: { id: string; row: Record<string, unknown> }[] = []
  for (const input of supported) {
    if (input.kind === 'profile') {
      profiles.push({
        id: input.id,
        row: {
          profile_id: input.profile.id,
          ...traitsOf(input.profile.traits),
          exported_at: exportedAt,
        },
      })
    } else if (input.kind === 'audience') {
      audience.push({
        id: input.id,
        row: {
          audience_key: input.audience.key,
          audience_name: input.audience.name,
          action: input.action,
          profile_id: input.profile.id,
          ...traitsOf(input.profile.traits),
          exported_at: exportedAt,
        },
      })
    }
  }
  if (profiles.length > 0) {
    result.effects.push(file('profiles', ['profile_id', ...s.traits, 'exported_at'], profiles))
  }
  if (audience.length > 0) {
    result.effects.push(
      file(
        'audiences',
        ['audience_key', 'audience_name', 'action', 'profile_id', ...s.traits, 'exported_at'],
        audience,
      ),
    )
  }
  return result
}

export const fileExport: Destination<typeof manifest.settings> = defineDestination({
  manifest,
  transform,
  classifyResponse: defaultClassify,
})
