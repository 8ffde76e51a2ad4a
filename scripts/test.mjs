#!/usr/bin/env node
// `npm test`: typecheck, lint, then every test (unit, store suites, e2e). Exits non-zero on the
// first failing step so CI shows exactly which one broke.
import { spawnSync } from 'node:child_process'

const steps = [
  ['typecheck', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']],
  ['lint', 'npx', ['eslint', '.', '--max-warnings', '0']],
  ['tests', 'npx', ['vitest', 'run', ...process.argv.slice(2)]],
]
for (const [name, cmd, args] of steps) {
  process.stdout.write(`\n== ${name}: ${cmd} ${args.join(' ')}\n`)
  const started = Date.now()
  const r = spawnSync(cmd, args, { stdio: 'inherit' })
  process.stdout.write(
    `== ${name}: ${r.status === 0 ? 'ok' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  )
  if (r.status !== 0) process.exit(r.status ?? 1)
}
