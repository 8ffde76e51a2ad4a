/**
 * @module platform/lake/lake-table
 * A lake table: its spec (lake-tables.ts) over its Delta table (delta-log.ts). Opening creates
 * the table (version 0: protocol, metaData, commitInfo) or evolves its schema additively (a new
 * metaData with the added columns; files written before read them as null). The commitInfo of
 * every operation is written here, and carries no identifier (the log is never rewritten).
 */
import { randomUUID } from 'node:crypto'
import path from 'node:path'
import {
  PROTOCOL,
  additiveChange,
  parseSchema,
  schemaString,
  type Action,
  type AddAction,
  type CommitInfo,
  type RemoveAction,
} from './delta-protocol.js'
import { openDeltaTable, type DeltaTable } from './delta-log.js'
import { deltaFields, type LakeTableSpec } from './lake-tables.js'
import type { Duck } from './parquet-files.js'

/** The Delta `txn` appId of Kindred's appends; its version is the batch number. */
export const LAKE_APP_ID = 'kindred-lake'
export const ENGINE_INFO = 'Kindred-lake/1'

export interface LakeTable {
  spec: LakeTableSpec
  delta: DeltaTable
  /** The newest batch this table holds (-1: none). */
  committedBatch(): number
}

export function commitInfo(
  now: number,
  operation: string,
  parameters: Record<string, string>,
  extra: Record<string, unknown> = {},
): { commitInfo: CommitInfo } {
  return {
    commitInfo: {
      timestamp: now,
      operation,
      operationParameters: parameters,
      engineInfo: ENGINE_INFO,
      txnId: randomUUID(),
      ...extra,
    },
  }
}

/** A remove action for a live file (its partition values and size kept for VACUUM). */
export function removeOf(a: AddAction, now: number, dataChange: boolean): { remove: RemoveAction } {
  return {
    remove: {
      path: a.path,
      deletionTimestamp: now,
      dataChange,
      extendedFileMetadata: true,
      partitionValues: a.partitionValues,
      size: a.size,
      ...(a.stats === undefined ? {} : { stats: a.stats }),
    },
  }
}

export async function openLakeTable(options: {
  root: string
  spec: LakeTableSpec
  duck: Duck
  now: () => number
  onCheckpointError?: (err: unknown) => void
}): Promise<LakeTable> {
  const { spec, now } = options
  const delta = await openDeltaTable({
    dir: path.join(options.root, spec.name),
    duck: options.duck,
    ...(options.onCheckpointError ? { onCheckpointError: options.onCheckpointError } : {}),
  })
  const wanted = deltaFields(spec)
  const partitionColumns = spec.partitions.map((p) => p.name)
  await delta.commit((s): Action[] | null => {
    if (!s.metadata) {
      const t = now()
      return [
        commitInfo(t, 'CREATE TABLE', {
          partitionBy: JSON.stringify(partitionColumns),
          description: spec.description,
        }),
        { protocol: { ...PROTOCOL } },
        {
          metaData: {
            id: randomUUID(),
            name: spec.name,
            description: spec.description,
            format: { provider: 'parquet', options: {} },
            schemaString: schemaString(wanted),
            partitionColumns,
            createdTime: t,
            configuration: {},
          },
        },
      ]
    }
    const change = additiveChange(parseSchema(s.metadata.schemaString), wanted)
    if (!change.ok) {
      throw new Error(
        `lake table ${spec.name}: the schema change is not additive: ${change.reason}`,
      )
    }
    if (change.added.length === 0) return null
    if (JSON.stringify(s.metadata.partitionColumns) !== JSON.stringify(partitionColumns)) {
      throw new Error(`lake table ${spec.name}: partition columns cannot change`)
    }
    return [
      commitInfo(now(), 'ADD COLUMNS', {
        columns: JSON.stringify(change.added.map((f) => f.name)),
      }),
      {
        metaData: {
          ...s.metadata,
          // Keep the existing columns' order; the new ones come after them.
          schemaString: schemaString([...parseSchema(s.metadata.schemaString), ...change.added]),
        },
      },
    ]
  })
  return {
    spec,
    delta,
    committedBatch: () => delta.snapshot().txns.get(LAKE_APP_ID)?.version ?? -1,
  }
}
