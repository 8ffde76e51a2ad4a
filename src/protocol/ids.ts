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
} as const

export type IdKind = keyof typeof idPrefixes

/** Ids we hand out: prefix, underscore, then URL-safe characters. */
export const idPattern = /^[a-z]+_[A-Za-z0-9_-]{6,64}$/
