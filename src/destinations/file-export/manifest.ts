/**
 * File export: CSV, JSONL or Parquet files of profiles and audience changes, written to a
 * directory of the Kindred host (a mounted volume, an NFS or an S3 gateway such as s3fs).
 * One file per batch, named by a hash of its items: a retried batch rewrites the same file
 * instead of adding a duplicate. Writes are atomic (temporary file, then rename).
 * Formats: RFC 4180 CSV (https://www.rfc-editor.org/rfc/rfc4180), JSON Lines
 * (https://jsonlines.org/), Apache Parquet (https://parquet.apache.org/docs/file-format/; all
 * columns optional UTF8, non-string values JSON-encoded, so every file of a kind shares a schema).
 */
import { z } from 'zod'
import type { DestinationManifest } from '../contract.js'

export const fileExportSettings = z.object({
  directory: z
    .string()
    .min(1)
    .describe('Absolute directory on the Kindred host that files are written into.'),
  format: z.enum(['csv', 'jsonl', 'parquet']).default('csv').describe('File format.'),
  traits: z
    .array(z.string().regex(/^[A-Za-z0-9_.-]+$/))
    .default(['email', 'first_name', 'last_name'])
    .describe('Profile traits exported as columns (besides profile_id).'),
  filePrefix: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,40}$/)
    .default('kindred')
    .describe('Prefix of the file names.'),
})
export type FileExportSettings = z.infer<typeof fileExportSettings>

export const manifest: DestinationManifest<typeof fileExportSettings> = {
  id: 'builtin.file-export',
  name: 'File export',
  description:
    'Writes profiles and audience changes as CSV, JSONL or Parquet files to a directory.',
  category: 'storage',
  purpose: 'analytics',
  settings: fileExportSettings,
  secretFields: [],
  secretTransport: {},
  actions: ['upsertProfiles', 'syncAudience'],
  maxBatchSize: 10_000,
  rateLimit: 10,
  supportsDeletion: false,
  docs: [
    'https://www.rfc-editor.org/rfc/rfc4180',
    'https://jsonlines.org/',
    'https://parquet.apache.org/docs/file-format/',
  ],
}
