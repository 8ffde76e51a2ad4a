/**
 * @module identity/identifier-types
 * The shape of an identifier type name, shared by the identity rules and the normalisation rules
 * (which both key settings by type and must not import each other).
 */
import { z } from 'zod'

/** Lower-case snake case, as stored in the identities table. */
export const identifierTypeSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,63}$/, 'identifier types are lower-case snake_case, 1-64 chars')
