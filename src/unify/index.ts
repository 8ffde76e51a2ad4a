/**
 * What other capabilities may use of unify's engine: a workspace's identity settings (identity
 * rules with their normalisation, survivorship), read from the store. Imports check their rows
 * against the rules the processor will apply.
 */
export type {
  IdentitySettingsCache,
  WorkspaceIdentitySettings,
} from './engine/identity-settings.js'
export { createIdentitySettingsCache } from './engine/identity-settings.js'
export type { IdentifierRef } from './engine/identity-lookup.js'
export { profilesOfIdentifiers, traitSurvivorSources } from './engine/identity-lookup.js'
