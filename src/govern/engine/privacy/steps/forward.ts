/**
 * `forward` (deletions): follows the `delete` delivery jobs `erase` enqueued until every
 * destination confirmed or failed; until then the request waits (a second at a time) without a
 * receipt for the step. Vendor errors are kept redacted.
 */
import {
  forwardingSettled,
  receiptStatusOfJob,
  type DestinationReceipt,
} from '../../../core/privacy/privacy-request.js'
import { deletionJobKey } from './erase.js'
import { nowIso, redactor, saveStep, type StepRunner } from './step-runner.js'

export const forward: StepRunner = async (tx, row, deps) => {
  const jobs = await deps.deliveries.deletionsByKey(tx, row.workspace_id, deletionJobKey(row.id))
  const byDest = new Map(jobs.map((j) => [j.destinationId, j]))
  const redact = redactor(row.subject)
  const receipts = row.destinations.map((d): DestinationReceipt => {
    if (d.status !== 'pending') return d
    const job = byDest.get(d.destinationId)
    if (!job)
      return { ...d, status: 'failed', error: 'the delivery job was removed', at: nowIso(deps) }
    const status = receiptStatusOfJob(job.state)
    return {
      ...d,
      jobId: job.jobId,
      status,
      error: job.lastError === null ? null : redact(job.lastError),
      at: status === 'pending' ? d.at : nowIso(deps),
    }
  })
  const settled = forwardingSettled(receipts)
  const subject = { ...row.subject, jobIds: jobs.map((j) => j.jobId) }
  if (!settled) {
    // No receipt for the step yet: it runs again in a second with the jobs' new states.
    await tx.query(
      `UPDATE privacy_requests SET destinations = $3, next_run_at = $4, updated_at = $5
       WHERE workspace_id = $1 AND id = $2`,
      [
        row.workspace_id,
        row.id,
        JSON.stringify(receipts),
        new Date(deps.clock() + 1_000).toISOString(),
        nowIso(deps),
      ],
    )
    return { kind: 'wait', retryInMs: 1_000 }
  }
  const failed = receipts.filter((x) => x.status === 'failed').length
  await saveStep(
    tx,
    deps,
    row,
    'forward',
    { status: 'completed', details: { destinations: receipts.length, failed } },
    subject,
    { destinations: receipts },
  )
  return { kind: 'done' }
}
