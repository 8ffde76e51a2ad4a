import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'

const root = mkdtempSync(join(tmpdir(), 'kindred-newdest-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

it('scripts/new-destination.mjs creates a folder from the template and registers it', () => {
  cpSync('src/activate/core/registry.ts', join(root, 'src/activate/core/registry.ts'))
  const out = execFileSync(
    'node',
    [
      'scripts/new-destination.mjs',
      'acme-crm',
      'Acme CRM',
      '--category',
      'crm',
      '--purpose',
      'marketing',
      '--root',
      root,
    ],
    { encoding: 'utf8' },
  )
  expect(out).toContain('registered builtin.acme-crm')
  for (const f of ['manifest.ts', 'transform.ts', 'transform.test.ts'])
    expect(existsSync(join(root, 'src/activate/core/acme-crm', f))).toBe(true)
  const manifest = readFileSync(join(root, 'src/activate/core/acme-crm/manifest.ts'), 'utf8')
  expect(manifest).toContain("id: 'builtin.acme-crm'")
  expect(manifest).toContain("category: 'crm'")
  const registry = readFileSync(join(root, 'src/activate/core/registry.ts'), 'utf8')
  expect(registry).toContain("import { acmeCrm } from './acme-crm/transform.js'")
  expect(registry).toContain("'builtin.acme-crm': acmeCrm as unknown as AnyDestination,")
  expect(() =>
    execFileSync('node', ['scripts/new-destination.mjs', 'Bad Id', 'x', '--root', root], {
      stdio: 'pipe',
    }),
  ).toThrow()
})
