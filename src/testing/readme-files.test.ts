/**
 * Every folder's README stays true: each file in a folder that has a README (and in its
 * subfolders that have none) is named in it, and so is each subfolder with a README of its own.
 * A test file counts as named when the file it tests is; a `fixtures/` folder is one entry.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

const root = path.resolve(import.meta.dirname, '../..')
const checked = ['src', 'bench', 'e2e', 'docs', 'scripts']
const skipDirs = new Set(['node_modules', 'results', 'dist', 'fixtures'])

function readmes(dir: string): string[] {
  const out: string[] = []
  if (existsSync(path.join(dir, 'README.md'))) out.push(dir)
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name)
    if (!skipDirs.has(name) && statSync(full).isDirectory()) out.push(...readmes(full))
  }
  return out
}

/** What a README must name: files (relative paths) and subfolders that have their own README. */
function entries(dir: string, rel = ''): string[] {
  const out: string[] = []
  for (const name of readdirSync(path.join(dir, rel))) {
    const relPath = rel ? `${rel}/${name}` : name
    const full = path.join(dir, relPath)
    if (statSync(full).isDirectory()) {
      if (name === 'fixtures' || name === 'results') out.push(`${relPath}/`)
      else if (skipDirs.has(name)) continue
      else if (existsSync(path.join(full, 'README.md'))) out.push(`${relPath}/`)
      else out.push(...entries(dir, relPath))
    } else if (name !== 'README.md') out.push(relPath)
  }
  return out
}

function named(readme: string, entry: string): boolean {
  const base = path.posix.basename(entry.replace(/\/$/, ''))
  const candidates = [entry, entry.replace(/\/$/, ''), base]
  const subject = base.replace(/(\.property)?\.test\.(ts|tsx)$/, '.$2')
  if (subject !== base) candidates.push(entry.replace(base, subject), subject)
  return candidates.some((c) => readme.includes(c))
}

const folders = checked.flatMap((top) => readmes(path.join(root, top)))

describe('READMEs list their files', () => {
  it('covers every top folder', () => {
    expect(folders.map((f) => path.relative(root, f))).toEqual(expect.arrayContaining(checked))
  })
  it.each(folders.map((f) => [path.relative(root, f), f]))('%s/README.md', (_rel, dir) => {
    const readme = readFileSync(path.join(dir, 'README.md'), 'utf8')
    const missing = entries(dir).filter((e) => !named(readme, e))
    expect(missing).toEqual([])
  })
})
