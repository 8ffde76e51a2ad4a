/**
 * @module attribution/heuristic-models
 * Rule-based attribution: first touch, last touch, linear, time decay (a touch's weight halves
 * every half-life before the conversion; default 7 days, as Google Analytics' time-decay model)
 * and position-based (40% first, 40% last, 20% spread over the middle; with two touches 50/50).
 * Each converting path hands out exactly one conversion and its revenue; a conversion with no
 * touch in its window goes to "(no touch)", so credits always add up to the totals.
 */

import {
  addCredit,
  keyOf,
  type AttributionKey,
  type ConversionPath,
  type Credits,
} from './attribution-paths.js'

export type HeuristicModel =
  'first-touch' | 'last-touch' | 'linear' | 'time-decay' | 'position-based'

export const NO_TOUCH = '(no touch)'
export const DEFAULT_HALF_LIFE_MS = 7 * 24 * 3600 * 1000

export interface HeuristicOptions {
  readonly key?: AttributionKey
  readonly halfLifeMs?: number
}

/** The share of one conversion each touch of a path gets under a model (sums to 1). */
export function touchWeights(
  model: HeuristicModel,
  path: ConversionPath,
  halfLifeMs = DEFAULT_HALF_LIFE_MS,
): number[] {
  const n = path.touchpoints.length
  if (n === 0) return []
  const w = new Array<number>(n).fill(0)
  switch (model) {
    case 'first-touch':
      w[0] = 1
      return w
    case 'last-touch':
      w[n - 1] = 1
      return w
    case 'linear':
      return w.fill(1 / n)
    case 'time-decay': {
      const raw = path.touchpoints.map((t) =>
        Math.pow(2, -(path.endMs - t.timestampMs) / halfLifeMs),
      )
      const total = raw.reduce((s, x) => s + x, 0)
      return raw.map((x) => x / total)
    }
    case 'position-based': {
      if (n === 1) return [1]
      if (n === 2) return [0.5, 0.5]
      w.fill(0.2 / (n - 2))
      w[0] = 0.4
      w[n - 1] = 0.4
      return w
    }
  }
}

/** Credits under one heuristic model over the converting paths. */
export function heuristicCredits(
  model: HeuristicModel,
  paths: readonly ConversionPath[],
  options: HeuristicOptions = {},
): Credits {
  const key = options.key ?? 'channel'
  const credits: Credits = new Map()
  for (const path of paths) {
    if (!path.converted) continue
    if (path.touchpoints.length === 0) {
      addCredit(credits, NO_TOUCH, 1, path)
      continue
    }
    const w = touchWeights(model, path, options.halfLifeMs)
    path.touchpoints.forEach((t, i) => {
      if (w[i]! > 0) addCredit(credits, keyOf(t, key), w[i]!, path)
    })
  }
  return credits
}
