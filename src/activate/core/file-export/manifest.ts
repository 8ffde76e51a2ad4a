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

const DIRECTORY = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*\/?$/

/**
 * A directory inside the operator's export root: relative, no `..` or `.` segments (except `.`
 * alone, the root itself), no backslashes. An editor chooses it, so it must not reach the rest of
 * the host's file system.
 */
export function isSafeExportDirectory(directory: string): boolean {
  if (directory === '.') return true
  if (directory.length > 200 || !DIRECTORY.test(directory)) return false
  return directory.split('/').every((seg) => seg !== '.' && seg !== '..')
}

export const fileExportSettings = z.object({
  directory: z
    .string()
    .min(1)
    .refine(isSafeExportDirectory, {
      message: 'a relative directory inside the export root (letters, digits, . _ - and /; no ..)',
    })
    .describe(
      'Sub-directory of the export root (KINDRED_EXPORT_DIR, default <data dir>/exports) that files are written into; "." for the root itself.',
    ),
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
  endpointFields: { directory: 'directory' },
  actions: ['upsertProfiles', 'syncAudience'],
  maxBatchSize: 10_000,
  rateLimit: 10,
  supportsDeletion: false,
  docs: [
    'https://www.rfc-editor.org/rfc/rfc4180',
    'https://jsonlines.org/',
    'https://parquet.apache.org/docs/file-format/',
  ],
  vendorApi: { name: 'Files (CSV RFC 4180, JSON Lines, Parquet)', version: 'n/a' },
  limits: ['Up to 10,000 rows per file; one file per batch and kind.'],
}
