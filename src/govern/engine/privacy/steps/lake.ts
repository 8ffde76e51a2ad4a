/**
 * `lake` (deletions, after `erase`): the lake's Parquet files (src/platform/lake) hold the person
 * too. The step files an erasure for the lake writer and waits, a second at a time, until the
 * writer reports it done: every live file that held the person rewritten without them and the
 * old files deleted from disk. The writer runs erasures between its appends, so a batch it read
 * before `erase` committed cannot bring the person back afterwards. On a store that never had a
 * lake the step is skipped.
 */
import {
  forgetLakeErasure,
  lakeErasureStatus,
  lakeInUse,
  requestLakeErasure,
} from '../../../../platform/lake/lake-store.js'
import { nowIso, saveStep, type StepRunner } from './step-runner.js'

export const lake: StepRunner = async (tx, row, deps) => {
  const ws = row.workspace_id
  const status = await lakeErasureStatus(tx, ws, row.id)
  if (status === undefined && !(await lakeInUse(tx))) {
    await saveStep(tx, deps, row, 'lake', { status: 'skipped', details: {} }, row.subject)
    return { kind: 'done' }
  }
  if (status?.doneAt) {
    // Done: the erasure row's identifiers are no longer needed.
    await forgetLakeErasure(tx, ws, row.id)
    await saveStep(
      tx,
      deps,
      row,
      'lake',
      { status: 'completed', details: status.result ?? {} },
      row.subject,
    )
    return { kind: 'done' }
  }
  if (status === undefined) {
    const identities = row.subject.identities ?? []
    const values = (type: string) => identities.filter((i) => i.type === type).map((i) => i.value)
    await requestLakeErasure(
      tx,
      {
        workspaceId: ws,
        requestId: row.id,
        profileIds: row.subject.profileIds ?? [],
        userIds: values('user_id'),
        anonymousIds: values('anonymous_id'),
      },
      new Date(deps.clock()),
    )
  }
  await tx.query(
    `UPDATE privacy_requests SET next_run_at = $3, updated_at = $4
     WHERE workspace_id = $1 AND id = $2`,
    [ws, row.id, new Date(deps.clock() + 1_000).toISOString(), nowIso(deps)],
  )
  return { kind: 'wait', retryInMs: 1_000 }
}
