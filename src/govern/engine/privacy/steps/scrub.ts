/**
 * `scrub` (deletions, last): removes what is left of the person in the delivery log and in the
 * deletion jobs themselves (inputs, redacted errors), starts the tombstones' grace period, and
 * ends the request: `failed` when a destination did not confirm the deletion.
 */
import { scrubAttempts, scrubAttemptsByNeedles } from '../erase.js'
import { erasureNeedles } from '../outside-store.js'
import { redactor, saveStep, type StepRunner } from './step-runner.js'

export const scrub: StepRunner = async (tx, row, deps) => {
  const ws = row.workspace_id
  const jobIds = row.subject.jobIds ?? []
  const redact = redactor(row.subject)
  let attempts = await scrubAttemptsByNeedles(tx, ws, erasureNeedles(row.subject))
  if (jobIds.length > 0) {
    attempts += await scrubAttempts(tx, ws, jobIds)
    const errors = await tx.query<{ id: string; last_error: string | null }>(
      'SELECT id::text AS id, last_error FROM delivery_jobs WHERE workspace_id = $1 AND id = ANY($2::bigint[])',
      [ws, jobIds],
    )
    await tx.query(
      `UPDATE delivery_jobs j SET input = '{"scrubbed":"privacy deletion"}'::jsonb, profile_id = NULL,
         last_error = x.err
       FROM jsonb_to_recordset($3::jsonb) AS x(id bigint, err text)
       WHERE j.workspace_id = $1 AND j.id = ANY($2::bigint[]) AND j.id = x.id`,
      [
        ws,
        jobIds,
        JSON.stringify(
          errors.rows.map((e) => ({
            id: e.id,
            err: e.last_error === null ? null : redact(e.last_error),
          })),
        ),
      ],
    )
  }
  // The tombstone stays a little longer: events accepted just before it existed may still be
  // waiting in the log; after the grace period the identifiers may be collected anew.
  await tx.query(
    `UPDATE privacy_suppressions SET expires_at = $3
     WHERE workspace_id = $1 AND request_id = $2 AND reason = 'deletion'`,
    [ws, row.id, new Date(deps.clock() + deps.tombstoneGraceMs).toISOString()],
  )
  const failed = row.destinations.filter((d) => d.status === 'failed').length
  const outside = deps.outsideDone
  await saveStep(
    tx,
    deps,
    row,
    'scrub',
    {
      status: 'completed',
      details: {
        deliveryAttempts: attempts,
        ...(outside?.eventLog ? { eventLogRecords: outside.eventLog.records } : {}),
        rejectLines: outside?.rejectLines ?? 0,
      },
    },
    {},
  )
  await deps.finish(tx, row, {
    status: failed > 0 ? 'failed' : 'completed',
    error: failed > 0 ? `${failed} destination(s) did not confirm the deletion` : null,
    subject: {},
  })
  return { kind: 'done' }
}
