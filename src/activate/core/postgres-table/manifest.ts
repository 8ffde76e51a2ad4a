/**
 * Postgres table (reverse ETL): upserts profiles, and audience members, into tables of the
 * customer's own Postgres database. Statements use quoted identifiers validated against a strict
 * regex (settings are checked when saved) and `$n` parameters for every value.
 * Docs followed: https://www.postgresql.org/docs/current/sql-insert.html#SQL-ON-CONFLICT
 * and https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-IDENTIFIERS
 *
 * Expected tables (create them yourself; Kindred never runs DDL in your database):
 *   profiles:  (<keyColumn> text PRIMARY KEY, <mapped columns…>, <updatedAtColumn> timestamptz)
 *   audiences: (audience_key text, profile_id text, <updatedAtColumn> timestamptz,
 *               PRIMARY KEY (audience_key, profile_id))
 */
import { z } from 'zod'
import type { DestinationManifest } from '../contract.js'
import { IDENTIFIER } from '../shared/sql.js'

const ident = z.string().regex(IDENTIFIER, 'lower-case letters, digits and _, max 63')

export const postgresTableSettings = z.object({
  connectionString: z
    .string()
    .regex(/^postgres(ql)?:\/\//)
    .describe('postgres://user:password@host:5432/db of the database to write to.'),
  schema: ident.default('public').describe('Schema of the tables.'),
  profilesTable: ident.default('kindred_profiles').describe('Table that receives profile upserts.'),
  keyColumn: ident
    .default('profile_id')
    .describe('Primary key column of the profiles table (Kindred profile id).'),
  columns: z
    .record(z.string(), ident)
    .default({ email: 'email', first_name: 'first_name', last_name: 'last_name' })
    .describe('Profile trait → column of the profiles table.'),
  audienceTable: ident
    .default('kindred_audience_members')
    .describe('Table of (audience_key, profile_id) rows mirroring audience membership.'),
  updatedAtColumn: ident
    .nullable()
    .default('updated_at')
    .describe('timestamptz column set on every write (null: none).'),
})
export type PostgresTableSettings = z.infer<typeof postgresTableSettings>

export const manifest: DestinationManifest<typeof postgresTableSettings> = {
  id: 'builtin.postgres-table',
  name: 'Postgres table',
  description: 'Upserts profiles and audience members into tables of your Postgres database.',
  category: 'warehouse',
  purpose: 'analytics',
  settings: postgresTableSettings,
  secretFields: ['connectionString'],
  secretTransport: { connectionString: 'connection' },
  endpointFields: { connectionString: 'connection' },
  actions: ['upsertProfiles', 'syncAudience', 'delete'],
  maxBatchSize: 1000,
  rateLimit: 20,
  supportsDeletion: true,
  docs: [
    'https://www.postgresql.org/docs/current/sql-insert.html#SQL-ON-CONFLICT',
    'https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-IDENTIFIERS',
  ],
  vendorApi: { name: 'PostgreSQL', version: '14 or later' },
  limits: ['Up to 1,000 rows per statement; values always bound as parameters.'],
}
