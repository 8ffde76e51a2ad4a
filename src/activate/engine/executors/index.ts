/**
 * @module engine/effects
 * Executors for destination effects (the I/O side of src/activate/core), and `executeGroup`, which
 * runs one execution unit from `groupEffects` whatever its type and classifies the outcome.
 */
import type {
  Classification,
  ClassifyResponse,
  Effect,
  FileEffect,
  HttpEffect,
} from '../../core/contract.js'
import { executeFile, type FileExecution } from './file-executor.js'
import { executeHttpChain, type ChainStep, type HttpExecuteOptions } from './http-executor.js'
import { executeSql, type SqlExecution, type SqlPoolLike } from './sql-executor.js'
import { executeStream, type StreamExecution, type StreamPublishers } from './stream-executor.js'

export * from './file-executor.js'
export * from './http-executor.js'
export * from './outbound-guard.js'
export * from './sql-executor.js'
export * from './stream-executor.js'

export interface ExecuteDeps extends HttpExecuteOptions {
  classify: ClassifyResponse
  now?: () => number
  /** Pool for a sql effect's `connectionRef` (the dispatcher decrypts the setting and caches). */
  pool?: (connectionRef: string) => SqlPoolLike
  /** The operator's export root for file effects. */
  exportRoot?: string
  /** The destination's `directory` setting, relative to `exportRoot` (default: the root). */
  directory?: string
  /** Broker connections for stream effects, and how to read a `connectionRef` setting. */
  streams?: { publishers: StreamPublishers; key: string; url: (connectionRef: string) => string }
}

export type GroupResult =
  | { type: 'http'; classification: Classification; steps: ChainStep[] }
  | { type: 'sql'; classification: Classification; execution: SqlExecution }
  | { type: 'file'; classification: Classification; execution: FileExecution }
  | { type: 'stream'; classification: Classification; execution: StreamExecution }

function fromResult(r: SqlExecution | FileExecution | StreamExecution): Classification {
  if (r.ok) return { outcome: 'success' }
  if ('failed' in r && r.failed) {
    // The broker confirmed the others: only these are sent again.
    return {
      outcome: 'partial',
      failed: r.failed.map((f) => ({ ...f, retryable: r.error.retryable })),
    }
  }
  return r.error.retryable
    ? { outcome: 'retry', message: r.error.message }
    : { outcome: 'fail', message: r.error.message }
}

/** Execute one group (see `groupEffects`): a chain of http steps, or one sql/file effect. */
export async function executeGroup(group: Effect[], deps: ExecuteDeps): Promise<GroupResult> {
  const first = group[0]
  if (!first) throw new Error('executeGroup needs at least one effect')
  if (first.type === 'http') {
    const r = await executeHttpChain(group as HttpEffect[], deps)
    return { type: 'http', ...r }
  }
  if (first.type === 'sql') {
    if (!deps.pool) throw new Error('executeGroup: a sql effect needs deps.pool')
    const execution = await executeSql(first, deps.pool(first.connectionRef))
    return { type: 'sql', classification: fromResult(execution), execution }
  }
  if (first.type === 'stream') {
    if (!deps.streams) throw new Error('executeGroup: a stream effect needs deps.streams')
    const execution = await executeStream(
      first,
      deps.streams.url(first.connectionRef),
      deps.streams.publishers,
      { key: deps.streams.key, timeoutMs: deps.timeoutMs },
    )
    return { type: 'stream', classification: fromResult(execution), execution }
  }
  if (!deps.exportRoot) throw new Error('executeGroup: a file effect needs deps.exportRoot')
  const execution = await executeFile(first as FileEffect, deps.exportRoot, deps.directory)
  return { type: 'file', classification: fromResult(execution), execution }
}
