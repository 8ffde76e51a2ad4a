/**
 * @module destinations/shared/chain
 * Chained effects: a later request that needs a value from an earlier response (Google Ads'
 * job resource name, HubSpot record ids, Klaviyo profile ids). Pure helpers; the executor in
 * src/activate/engine/executors runs the chain.
 */
import type { Capture, Effect, HttpEffect } from '../contract.js'
import { parseJson } from './classify.js'

export type CaptureValues = Record<string, unknown>

function walk(value: unknown, segments: string[]): unknown {
  if (segments.length === 0) return value
  const [head, ...rest] = segments as [string, ...string[]]
  const key = head.replace(/~1/g, '/').replace(/~0/g, '~')
  if (key === '*') {
    if (!Array.isArray(value)) return undefined
    return value.map((v) => walk(v, rest)).filter((v) => v !== undefined)
  }
  if (Array.isArray(value)) return walk(value[Number(key)], rest)
  if (typeof value === 'object' && value !== null) {
    return walk((value as Record<string, unknown>)[key], rest)
  }
  return undefined
}

function pick(value: unknown, keys: string[] | undefined): unknown {
  if (!keys) return value
  const one = (v: unknown): unknown =>
    typeof v === 'object' && v !== null
      ? Object.fromEntries(keys.map((k) => [k, (v as Record<string, unknown>)[k]]))
      : v
  return Array.isArray(value) ? value.map(one) : one(value)
}

/** Values named by `captures`, read from a successful response body. */
export function extractCaptures(captures: Capture[] | undefined, body: string): CaptureValues {
  if (!captures || captures.length === 0) return {}
  const json = parseJson(body)
  const out: CaptureValues = {}
  for (const c of captures) {
    const v = walk(json, c.pointer.split('/').slice(1))
    if (v !== undefined) out[c.name] = pick(v, c.pick)
  }
  return out
}

const SAFE_URL_VALUE = /^[A-Za-z0-9/_\-.~]+$/

/** True when a step's `skipIfEmpty` capture is missing, null or an empty array/string. */
export function shouldSkip(effect: HttpEffect, values: CaptureValues): boolean {
  if (!effect.skipIfEmpty) return false
  const v = values[effect.skipIfEmpty]
  return v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0)
}

/**
 * Put captured values into a step: `${name}` in the url (kept raw when it is a safe path such as
 * `customers/1/offlineUserDataJobs/2`, else percent-encoded) and `"${name}"` in the body (the JSON
 * string literal becomes the JSON value).
 */
export function resolveEffect(effect: HttpEffect, values: CaptureValues): HttpEffect {
  const url = effect.url.replace(/\$\{([a-zA-Z][a-zA-Z0-9_]*)\}/g, (whole, name: string) => {
    const v = values[name]
    if (v === undefined) return whole
    const s = String(v)
    return SAFE_URL_VALUE.test(s) ? s : encodeURIComponent(s)
  })
  const body =
    effect.body === null
      ? null
      : effect.body.replace(/"\$\{([a-zA-Z][a-zA-Z0-9_]*)\}"/g, (whole, name: string) =>
          name in values ? JSON.stringify(values[name]) : whole,
        )
  return { ...effect, url, body }
}

/** Effects in execution units: a chain's steps together in order, other effects alone. */
export function groupEffects<E extends Effect>(effects: E[]): E[][] {
  const groups: E[][] = []
  const byChain = new Map<string, E[]>()
  for (const e of effects) {
    if (e.chain === undefined) {
      groups.push([e])
      continue
    }
    let g = byChain.get(e.chain)
    if (!g) {
      g = []
      byChain.set(e.chain, g)
      groups.push(g)
    }
    g.push(e)
  }
  return groups
}
