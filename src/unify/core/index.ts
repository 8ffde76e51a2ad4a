/**
 * What other capabilities may use of unify's pure core: identifier normalisation, identity rules
 * and keys (`identity/`). Privacy resolves a person under the workspace's rules with them.
 */
export * from './identity/index.js'
