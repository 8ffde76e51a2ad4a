/**
 * Which columns of an import identify a person, and what a row needs to be imported: any
 * identifier the workspace's identity rules know (userId, anonymousId, an email, a phone, a trait
 * identifier, an external id), not Segment's userId-or-anonymousId. A CRM export keyed by email
 * imports as it is. Pure: the rules are handed in, and the row check is the identity core's own
 * extraction, so an import accepts exactly the rows the processor can resolve to a profile.
 * @module
 */
import type { FieldIssue } from '../../protocol/errors.js'
import {
  describeNormalization,
  extractIdentifiers,
  normalizeIdentifierType,
  type CompiledIdentityRules,
  type IdentitySourceEvent,
  type NormalizationView,
  type TextRule,
  type TraitRule,
} from '../../unify/core/index.js'
import type { CoercionType, ImportKind, ImportMapping } from './import-mapping.js'

/**
 * `missing_identity` when the mapped event carries no usable identifier under the rules, with the
 * values that were refused (an email without a domain, a national phone without a country), so
 * the rejects file says what to fix.
 */
export function rowIdentityIssues(
  event: IdentitySourceEvent,
  rules: CompiledIdentityRules,
): FieldIssue[] {
  const extracted = extractIdentifiers(event, rules)
  if (extracted.identifiers.length > 0) return []
  // An import's event has `userId: null` when no column gave one: absent, not refused.
  const refused = extracted.rejected
    .filter((r) => !(r.raw === 'null' && (r.field === 'userId' || r.field === 'anonymousId')))
    .map((r) => `${r.field} "${r.raw}" (${r.reason})`)
  return [
    {
      path: 'userId',
      code: 'missing_identity',
      message:
        'the row has no identifier: map a column to userId, anonymousId, traits.email, traits.phone, ' +
        'a trait identifier of the identity rules or externalIds.<type>, and give it a value' +
        (refused.length > 0 ? `; refused: ${refused.join(', ')}` : ''),
    },
  ]
}

/** The identifier type a mapping target yields under the rules, if any. */
export function identifierTypeOfTarget(
  to: string,
  kind: ImportKind,
  rules: CompiledIdentityRules,
): string | undefined {
  if (to === 'userId') return 'user_id'
  if (to === 'anonymousId') return 'anonymous_id'
  if (to.startsWith('externalIds.')) return normalizeIdentifierType(to.slice('externalIds.'.length))
  if (to === 'context.device.id') return 'device_id'
  // Person traits: identify traits in profile imports; context.traits in both kinds (the mapper
  // writes an event import's traits.<name> there).
  const trait = to.startsWith('context.traits.')
    ? to.slice('context.traits.'.length)
    : to.startsWith('traits.')
      ? to.slice('traits.'.length)
      : undefined
  if (trait === undefined) return undefined
  if (trait === 'email' || trait === 'phone') return trait
  return rules.rules.traitIdentifiers.find((t) => t.trait === trait)?.type
}

function traitKeyOfTarget(to: string): string | undefined {
  const path = to.startsWith('context.traits.')
    ? to.slice('context.traits.'.length)
    : to.startsWith('traits.')
      ? to.slice('traits.'.length)
      : undefined
  return path?.split('.')[0]
}

export interface ColumnDescription {
  column: string
  to: string
  type: CoercionType | null
  required: boolean
  /** The identifier type this column gives the row, when it gives one. */
  identifier: string | null
  /** How its value is normalised: as an identifier (the identity graph) and as a trait (the profile). */
  normalization: { identifier?: TextRule; trait?: TraitRule }
}

export interface MappingDescription {
  /** A row is imported when one of these (or an auto-mapped identifier column) has a usable value. */
  identity: {
    rule: string
    columns: string[]
    /** With `unmapped: auto`: header names that become identifiers, and of which type. */
    autoColumns: Record<string, string>
  }
  columns: ColumnDescription[]
  /** The workspace's effective normalisation rules, for columns not listed. */
  normalization: NormalizationView
}

/**
 * What the import API answers about a mapping: each named column's target, whether it is an
 * identifier and how its value will be normalised; which header names `unmapped: auto` turns into
 * identifiers; and the workspace's rules for everything else.
 */
export function describeImportMapping(
  mapping: ImportMapping,
  kind: ImportKind,
  rules: CompiledIdentityRules,
): MappingDescription {
  const columns = Object.entries(mapping.columns).map(([column, spec]): ColumnDescription => {
    const to = typeof spec === 'string' ? spec : spec.to
    const identifier = identifierTypeOfTarget(to, kind, rules) ?? null
    const trait = traitKeyOfTarget(to)
    return {
      column,
      to,
      type: typeof spec === 'string' ? null : (spec.type ?? null),
      required: typeof spec === 'string' ? false : (spec.required ?? false),
      identifier,
      normalization: {
        ...(identifier === null ? {} : { identifier: rules.normalization.identifier(identifier) }),
        ...(trait === undefined ? {} : { trait: rules.normalization.trait(trait) }),
      },
    }
  })
  const autoColumns: Record<string, string> = {}
  if (mapping.unmapped === 'auto') {
    for (const name of ['userId', 'user_id']) autoColumns[name] = 'user_id'
    for (const name of ['anonymousId', 'anonymous_id']) autoColumns[name] = 'anonymous_id'
    // Other columns become traits of a profile import (properties of an event import).
    if (kind === 'profiles') {
      autoColumns.email = 'email'
      autoColumns.phone = 'phone'
      for (const t of rules.rules.traitIdentifiers) {
        if (!t.trait.includes('.')) autoColumns[t.trait] = t.type
      }
    }
    for (const column of Object.keys(mapping.columns)) delete autoColumns[column]
  }
  return {
    identity: {
      rule:
        'a row is imported when at least one identifier column has a usable value (after ' +
        'normalisation); a row with none is rejected with missing_identity',
      columns: columns.filter((c) => c.identifier !== null).map((c) => c.column),
      autoColumns,
    },
    columns,
    normalization: describeNormalization(rules.normalization),
  }
}
