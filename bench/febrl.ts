/**
 * Where the FEBRL test data lives: `bench/data/febrl` in this repository (with its licence and
 * source in the README there), so tests and benchmarks never read outside the checkout.
 * `KINDRED_FEBRL_DIR` points elsewhere, e.g. at larger generated files.
 */
import { existsSync } from 'node:fs'
import path from 'node:path'
import { repoRoot } from './support.js'

export function febrlDir(): string {
  const dir = process.env.KINDRED_FEBRL_DIR || path.join(repoRoot, 'bench/data/febrl')
  if (!existsSync(path.join(dir, 'dataset1.csv'))) {
    throw new Error(`FEBRL data not found in ${dir} (dataset1.csv); KINDRED_FEBRL_DIR overrides it`)
  }
  return dir
}
