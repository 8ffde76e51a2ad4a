/**
 * Capabilities use one another only through their public surface (`<capability>/index.ts`, or
 * `<capability>/core/index.ts` for pure code), in the order ADR 0010 gives, with no cycle. Read
 * from the sources (tests excluded: they may reach anywhere), so a new import that breaks the
 * order fails here even where lint cannot see the whole graph.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

const src = path.resolve(import.meta.dirname, '..')
const capabilities = ['collect', 'unify', 'understand', 'activate', 'govern'] as const
type Capability = (typeof capabilities)[number]

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name)
    if (statSync(full).isDirectory()) return sources(full)
    return /\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name) ? [full] : []
  })
}

interface CrossImport {
  from: string
  to: string
  fromCapability: Capability
  toCapability: Capability
}

function crossImports(): CrossImport[] {
  const out: CrossImport[] = []
  for (const c of capabilities) {
    for (const file of sources(path.join(src, c))) {
      const text = readFileSync(file, 'utf8')
      for (const m of text.matchAll(/from '(\.[^']+)'/g)) {
        const target = path.resolve(path.dirname(file), m[1] as string)
        const rel = path.relative(src, target).split(path.sep)
        const to = rel[0] as Capability
        if (capabilities.includes(to) && to !== c) {
          out.push({
            from: path.relative(src, file),
            to: rel.join('/'),
            fromCapability: c,
            toCapability: to,
          })
        }
      }
    }
  }
  return out
}

describe('capabilities', () => {
  const imports = crossImports()

  it('use one another only through index.ts or core/index.ts', () => {
    const internal = imports.filter((i) => !/^[a-z]+\/(core\/)?index\.js$/.test(i.to))
    expect(internal.map((i) => `${i.from} -> ${i.to}`)).toEqual([])
  })

  // The order: unify's identity core at the bottom, govern consulting it, collect, understand
  // and activate consulting govern, activate speaking understand's condition language, collect
  // checking import rows against unify's identity rules and normalisation. Nothing runs against
  // it: what consent and privacy owe destinations goes through govern's delivery port, which
  // activate implements and the composition root hands in (ADR 0010).
  const expected: Record<Capability, Capability[]> = {
    collect: ['govern', 'unify'],
    unify: [],
    understand: ['govern'],
    activate: ['govern', 'understand'],
    govern: ['unify'],
  }

  it('depend on one another exactly as the order says', () => {
    const edges = Object.fromEntries(capabilities.map((c) => [c, new Set<Capability>()])) as Record<
      Capability,
      Set<Capability>
    >
    for (const i of imports) edges[i.fromCapability].add(i.toCapability)
    const actual = Object.fromEntries(capabilities.map((c) => [c, [...edges[c]].sort()]))
    expect(actual).toEqual(expected)
  })

  it('form no cycle', () => {
    const edges = new Map<Capability, Set<Capability>>()
    for (const i of imports) {
      const set = edges.get(i.fromCapability) ?? new Set<Capability>()
      set.add(i.toCapability)
      edges.set(i.fromCapability, set)
    }
    const cycles: string[] = []
    const visit = (node: Capability, trail: Capability[]) => {
      for (const next of edges.get(node) ?? []) {
        if (trail.includes(next))
          cycles.push([...trail.slice(trail.indexOf(next)), next].join(' -> '))
        else visit(next, [...trail, next])
      }
    }
    for (const c of capabilities) visit(c, [c])
    expect(cycles).toEqual([])
  })

  it('let pure cores use only other cores', () => {
    const fromCore = imports.filter(
      (i) => i.from.split('/')[1] === 'core' && !/^[a-z]+\/core\/index\.js$/.test(i.to),
    )
    expect(fromCore.map((i) => `${i.from} -> ${i.to}`)).toEqual([])
  })

  it('the test sees imports (a probe of the reader itself)', () => {
    expect(imports.length).toBeGreaterThan(0)
  })
})
