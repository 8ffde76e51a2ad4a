/** Id shapes shared by the API and the store. Generation needs randomness, so it lives in adapters. */
export const idPrefixes = {
  workspace: 'ws',
  source: 'src',
  apiKey: 'key',
  writeKey: 'wk',
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
  destination: 'dst',
  privacyRequest: 'prq',
  suppression: 'sup',
  /** One consent change through the API, which may set several purposes. */
  consentRequest: 'req',
} as const

export type IdKind = keyof typeof idPrefixes
