/**
 * What other capabilities may use of govern's pure core: consent settings, extraction and policy,
 * privacy-request schemas, suppression hashing (`privacy/`), and the PII policy applied at ingest.
 */
export * from './privacy/index.js'
export * from './pii.js'
