/**
 * @module destinations/shared/sql
 * Safe SQL identifiers: validated against a strict regex AND double-quoted. Values never enter
 * SQL text; they go in `$n` parameters.
 */
import { DestinationError } from '../contract.js'

/** Lower-case letters, digits and underscores, not starting with a digit, at most 63 bytes. */
export const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/

export function quoteIdent(name: string): string {
  if (!IDENTIFIER.test(name)) {
    throw new DestinationError(
      'INVALID_SETTINGS',
      `"${name}" is not an allowed SQL identifier: use lower-case letters, digits and _ (max 63)`,
    )
  }
  return `"${name}"`
}

export function qualified(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`
}
