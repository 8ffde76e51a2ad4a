#!/usr/bin/env node
// Kindred runs from its TypeScript sources (tsx); the console is built on first start.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { register } from 'tsx/esm/api'

register()
const root = fileURLToPath(new URL('..', import.meta.url))
if (
  process.argv[2] === 'start' &&
  process.env.KINDRED_CONSOLE_BUILD !== '0' &&
  !existsSync(`${root}console/dist/index.html`) &&
  existsSync(`${root}console/vite.config.ts`)
) {
  process.stdout.write('  Building the console (first start only)…\n')
  try {
    const { build } = await import('vite')
    await build({ configFile: `${root}console/vite.config.ts`, logLevel: 'warn' })
  } catch (err) {
    // The API works without the console: say so and go on.
    process.stderr.write(
      `  The console could not be built (${err?.message?.split('\n')[0]}); serving the API only.\n`,
    )
  }
}
await import('../src/cli/main.ts')
