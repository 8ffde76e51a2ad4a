/**
 * Where the FEBRL test data lives: `KINDRED_FEBRL_DIR`, else `../shared/data/febrl` beside the
 * repository (the layout every checkout here has), else the workplace's `/work/shared`, so a
 * clone elsewhere on the machine still finds it. Used by the matching tests and benchmarks.
 */
import { existsSync } from 'node:fs'
import path from 'node:path'
import { repoRoot } from './support.js'

export function febrlDir(): string {
  const candidates = [
    process.env.KINDRED_FEBRL_DIR,
    path.resolve(repoRoot, '../shared/data/febrl'),
    '/work/shared/data/febrl',
  ].filter((c): c is string => c !== undefined && c !== '')
  const found = candidates.find((c) => existsSync(path.join(c, 'dataset1.csv')))
  if (!found) {
    throw new Error(
      `FEBRL data not found (looked in ${candidates.join(', ')}); set KINDRED_FEBRL_DIR`,
    )
  }
  return found
}
