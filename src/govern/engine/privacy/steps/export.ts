/**
 * `export` (access requests): counts what the export holds. The export itself is built at
 * download time from the live store, so no second copy of the person's data is kept.
 */
import { saveStep, type StepRunner } from './step-runner.js'

export const accessExport: StepRunner = async (tx, row, deps) => {
  const ids = row.subject.profileIds ?? []
  const counts = await tx.query<{ events: string | number }>(
    'SELECT count(*) AS events FROM events WHERE workspace_id = $1 AND profile_id = ANY($2::text[])',
    [row.workspace_id, ids],
  )
  await saveStep(
    tx,
    deps,
    row,
    'export',
    {
      status: 'completed',
      details: { profiles: ids.length, events: Number(counts.rows[0]?.events ?? 0) },
    },
    row.subject,
  )
  return { kind: 'done' }
}
