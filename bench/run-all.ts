/** `npm run bench`: every benchmark in turn, then docs/benchmarks.md. */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { repoRoot } from './support.js'
import { renderBenchmarks } from './render.js'

const benches = [
  'ingest',
  'processing',
  'identity-cache',
  'lake',
  'lookup',
  'matching',
  'destinations',
  'streams',
  'segments',
  'insights',
  'import',
  'syncs',
  'matching-cdp',
  'matching-shoppers',
  'btyd',
  'attribution',
  'experiments',
]
for (const name of benches) {
  const file = path.join(repoRoot, 'bench', `${name}.bench.ts`)
  if (!existsSync(file)) continue
  process.stdout.write(`\n== bench ${name}\n`)
  const r = spawnSync(process.execPath, ['--import', 'tsx', file], {
    stdio: 'inherit',
    cwd: repoRoot,
  })
  if (r.status !== 0) process.exit(r.status ?? 1)
}
renderBenchmarks()
