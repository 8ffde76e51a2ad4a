/**
 * Golden fixtures: `src/activate/core/<dir>/fixtures/<action>.json` holds an input batch, settings
 * and the effects the transform must return. The shared suite (contract.test.ts) reads them.
 *
 * Regenerate after an intended change with `KINDRED_UPDATE_GOLDEN=1 npx vitest run
 * src/activate/core/contract.test.ts`, then review the diff like code.
 */
import type {
  Action,
  AnyDestination,
  DestinationInput,
  TransformResult,
} from '../../activate/core/contract.js'
import { SAMPLE_NOW, sampleInputs, sampleSettings } from './samples.js'

export interface GoldenFixture {
  description: string
  destinationId: string
  now: string
  settings: Record<string, unknown>
  inputs: DestinationInput[]
  expected: TransformResult
}

/** `<connector dir>/fixtures/<action>.json`, relative to src/activate/core. */
export function fixtureRelativePath(destination: AnyDestination, action: Action): string {
  return `${destination.manifest.id.replace(/^builtin\./, '')}/fixtures/${action}.json`
}

export const inputsForAction: Record<Action, DestinationInput[]> = {
  forwardEvents: [sampleInputs.event, sampleInputs.identify],
  upsertProfiles: [sampleInputs.profile, sampleInputs.anonymousProfile],
  syncAudience: [sampleInputs.audienceAdd, sampleInputs.audienceRemove],
  delete: [sampleInputs.delete],
}

/** A new fixture from the shared samples (expected is filled by running the transform). */
export function newFixture(destination: AnyDestination, action: Action): GoldenFixture {
  return {
    description: `${destination.manifest.name}: ${action} with the shared sample inputs`,
    destinationId: 'dest_fixture',
    now: new Date(SAMPLE_NOW).toISOString(),
    settings: sampleSettings[destination.manifest.id] ?? {},
    inputs: inputsForAction[action],
    expected: { effects: [], skipped: [] },
  }
}
