/**
 * `erase` (deletions): resolves the person again (events applied since `resolve` may have merged
 * more into them), deletes them from every table, and enqueues a `delete` delivery job for every
 * enabled destination that can delete, in one transaction. The job carries only what
 * destinations identify a person by, since the profile is gone when it runs.
 */
import type { DestinationReceipt } from '../../../core/privacy/privacy-request.js'
import type { DeletionForward } from '../../delivery-port.js'
import { clusterIdentities, erasePerson, profileCluster, type ErasureSubject } from '../erase.js'
import { nowIso, saveStep, type StepRunner } from './step-runner.js'

/** Trait keys destinations identify a person by when deleting (profile-fields.ts). */
const IDENTIFYING_TRAITS = ['email', 'phone', 'phone_number']

/** The idempotency key of a request's deletion jobs (one per destination). */
export const deletionJobKey = (requestId: string) => `privacy-delete:${requestId}`

export const erase: StepRunner = async (tx, row, deps) => {
  const ws = row.workspace_id
  const root = row.subject.profileId ?? null
  let profileIds = row.subject.profileIds ?? []
  let identities = row.subject.identities ?? []
  if (root !== null) {
    const exists = await tx.query('SELECT 1 FROM profiles WHERE workspace_id = $1 AND id = $2', [
      ws,
      root,
    ])
    if (exists.rows.length > 0) {
      profileIds = await profileCluster(tx, ws, root)
      const more = await clusterIdentities(tx, ws, profileIds)
      const seen = new Set(identities.map((i) => `${i.type}:${i.value}`))
      identities = [...identities, ...more.filter((i) => !seen.has(`${i.type}:${i.value}`))]
    }
  }
  const snapshotRow =
    root === null
      ? undefined
      : (
          await tx.query<{ traits: Record<string, unknown> }>(
            'SELECT traits FROM profiles WHERE workspace_id = $1 AND id = $2',
            [ws, root],
          )
        ).rows[0]
  // Destinations delete by identifier (e-mail, phone, user and external ids): the job carries
  // those, not the person's other traits (it is kept until the scrub step, and so are its
  // attempts, when a destination is slow or fails).
  const traits = snapshotRow?.traits ?? row.subject.snapshot?.traits ?? {}
  const snapshot = {
    id: root ?? row.id,
    traits: Object.fromEntries(
      IDENTIFYING_TRAITS.filter((k) => traits[k] !== undefined).map((k) => [k, traits[k]]),
    ),
    identities: identities.filter((i) => i.type !== 'profile_id'),
  }
  const subject: ErasureSubject = { workspaceId: ws, profileIds, identities }
  const rules = await deps.matcher.rules(ws, tx)
  const counts = await erasePerson(tx, subject, rules)

  // Forward to every destination that can delete, through the delivery port (the dispatcher's
  // jobs, when activate runs).
  const dests = await tx.query<{ id: string; type: string; name: string; enabled: boolean }>(
    'SELECT id, type, name, enabled FROM destinations WHERE workspace_id = $1 ORDER BY id',
    [ws],
  )
  const receipts: DestinationReceipt[] = []
  const forwards: DeletionForward[] = []
  for (const d of dests.rows) {
    const supports = deps.deliveries.destinationType(d.type)?.deletesPeople ?? false
    const base = { destinationId: d.id, type: d.type, name: d.name, jobId: null, at: nowIso(deps) }
    if (!supports) receipts.push({ ...base, status: 'unsupported', error: null })
    else if (!d.enabled)
      receipts.push({ ...base, status: 'skipped', error: 'destination is disabled' })
    else {
      receipts.push({ ...base, status: 'pending', error: null })
      forwards.push({
        workspaceId: ws,
        destinationId: d.id,
        profileId: root,
        person: snapshot,
        privacyRequestId: row.id,
        idempotencyKey: deletionJobKey(row.id),
      })
    }
  }
  await deps.deliveries.enqueueDeletions(tx, forwards, new Date(deps.clock()))
  await saveStep(
    tx,
    deps,
    row,
    'erase',
    { status: 'completed', details: { rows: counts, profiles: profileIds.length } },
    { ...row.subject, profileIds, identities, snapshot },
    { destinations: receipts },
  )
  if (forwards.length > 0) deps.onEnqueued?.()
  return { kind: 'done' }
}
