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
  // Vite and React are the console workspace's dev dependencies: a production install
  // (`npm ci --omit=dev`) leaves them out, so it can serve a prebuilt console but not build one.
  const vite = await import('vite').catch((err) => {
    if (err?.code === 'ERR_MODULE_NOT_FOUND') return undefined
    throw err
  })
  if (vite === undefined) {
    process.stderr.write(
      '  console/dist is missing and this install has no console build tools (a production\n' +
        '  install leaves them out): run `npm ci && npm run build:console` to get the console.\n' +
        '  Serving the API only.\n',
    )
  } else {
    process.stdout.write('  Building the console (first start only)…\n')
    try {
      await vite.build({ configFile: `${root}console/vite.config.ts`, logLevel: 'warn' })
    } catch (err) {
      // The API works without the console: say so and go on.
      process.stderr.write(
        `  The console could not be built (${err?.message?.split('\n')[0]}); serving the API only.\n`,
      )
    }
  }
}
await import('../src/cli/main.ts')
