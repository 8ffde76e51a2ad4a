/** Id shapes shared by the API and the store. Generation needs randomness, so it lives in adapters. */
export const idPrefixes = {
  workspace: 'ws',
  source: 'src',
  apiKey: 'key',
  writeKey: 'wk',
  /** A write key a rotation replaced, kept working for its overlap (its id, not the key). */
  retiredWriteKey: 'rwk',
  adminToken: 'kdr',
  profile: 'prf',
  message: 'kdr-msg',
  user: 'usr',
  session: 'ses',
  sessionToken: 'kss',
  matchingRun: 'mrun',
  matchingPair: 'mpair',
  segment: 'seg',
  computedTrait: 'ct',
  insight: 'ins',
  prediction: 'prd',
  experiment: 'exp',
  destination: 'dst',
  privacyRequest: 'prq',
  suppression: 'sup',
  /** One consent change through the API, which may set several purposes. */
  consentRequest: 'req',
} as const

export type IdKind = keyof typeof idPrefixes

/**
 * The messageId of an imported row: unique per (import key, row) and the same on every run. The
 * key is already a hash of everything that defines the import (source, kind, mapping, bytes), so
 * its prefix plus the row number is enough. Shared by imports, which make it, and matching runs,
 * which look for an import's last rows among processed events.
 */
export function importRowMessageId(importKey: string, row: number): string {
  return `imp-${importKey.slice(0, 24)}-${row}`
}
