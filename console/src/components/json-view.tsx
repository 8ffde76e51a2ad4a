/**
 * Pretty JSON with syntax colours; values whose path is listed in `highlight` are marked (used
 * by the live debugger to point at validation errors).
 */
import { Box } from '@mantine/core'
import type { ReactNode } from 'react'
import { pathKey } from '../lib/json-path.js'

const colors = {
  key: 'var(--mantine-color-indigo-7)',
  string: 'var(--mantine-color-green-8)',
  number: 'var(--mantine-color-orange-8)',
  literal: 'var(--mantine-color-grape-7)',
  punct: 'var(--mantine-color-gray-6)',
}

export function JsonView({
  value,
  highlight = [],
  maxHeight,
}: {
  value: unknown
  highlight?: string[][]
  maxHeight?: number
}) {
  const marked = new Set(highlight.map((p) => pathKey(p)))
  return (
    <Box
      component="pre"
      data-testid="json-view"
      m={0}
      p="sm"
      fz="xs"
      style={{
        background: 'var(--mantine-color-gray-0)',
        border: '1px solid var(--mantine-color-gray-3)',
        borderRadius: 6,
        overflow: 'auto',
        maxHeight,
        fontFamily: 'var(--mantine-font-family-monospace)',
        lineHeight: 1.5,
      }}
    >
      {render(value, [], 0, marked)}
    </Box>
  )
}

function render(value: unknown, path: string[], depth: number, marked: Set<string>): ReactNode {
  const isMarked = marked.has(pathKey(path)) && path.length > 0
  const node = renderInner(value, path, depth, marked)
  if (!isMarked) return node
  return (
    <mark
      data-testid="json-error"
      style={{
        background: 'var(--mantine-color-red-1)',
        outline: '1px solid var(--mantine-color-red-5)',
        borderRadius: 3,
      }}
    >
      {node}
    </mark>
  )
}

function renderInner(
  value: unknown,
  path: string[],
  depth: number,
  marked: Set<string>,
): ReactNode {
  const pad = '  '.repeat(depth + 1)
  const end = '  '.repeat(depth)
  if (value === null || value === undefined)
    return <span style={{ color: colors.literal }}>null</span>
  if (typeof value === 'string')
    return <span style={{ color: colors.string }}>{JSON.stringify(value)}</span>
  if (typeof value === 'number') return <span style={{ color: colors.number }}>{value}</span>
  if (typeof value === 'boolean')
    return <span style={{ color: colors.literal }}>{String(value)}</span>
  if (Array.isArray(value)) {
    if (value.length === 0) return <span style={{ color: colors.punct }}>[]</span>
    return (
      <>
        <span style={{ color: colors.punct }}>[</span>
        {'\n'}
        {value.map((item, i) => (
          <span key={i}>
            {pad}
            {render(item, [...path, String(i)], depth + 1, marked)}
            {i < value.length - 1 ? ',' : ''}
            {'\n'}
          </span>
        ))}
        {end}
        <span style={{ color: colors.punct }}>]</span>
      </>
    )
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
    // Mark missing required keys too: show them as a highlighted placeholder.
    const missing = [...marked]
      .map((k) => k.split('\u0000'))
      .filter(
        (p) =>
          p.length === path.length + 1 &&
          pathKey(p.slice(0, -1)) === pathKey(path) &&
          !(p[p.length - 1]! in (value as Record<string, unknown>)),
      )
      .map((p) => p[p.length - 1]!)
    if (entries.length === 0 && missing.length === 0)
      return <span style={{ color: colors.punct }}>{'{}'}</span>
    return (
      <>
        <span style={{ color: colors.punct }}>{'{'}</span>
        {'\n'}
        {entries.map(([key, item], i) => (
          <span key={key}>
            {pad}
            <span style={{ color: colors.key }}>{JSON.stringify(key)}</span>
            <span style={{ color: colors.punct }}>: </span>
            {render(item, [...path, key], depth + 1, marked)}
            {i < entries.length - 1 || missing.length > 0 ? ',' : ''}
            {'\n'}
          </span>
        ))}
        {missing.map((key) => (
          <span key={`missing-${key}`}>
            {pad}
            <mark
              data-testid="json-error"
              style={{
                background: 'var(--mantine-color-red-1)',
                color: 'var(--mantine-color-red-8)',
              }}
            >
              {JSON.stringify(key)}: (missing)
            </mark>
            {'\n'}
          </span>
        ))}
        {end}
        <span style={{ color: colors.punct }}>{'}'}</span>
      </>
    )
  }
  return <span>{String(value)}</span>
}
