/**
 * `resolve`: the identifier (or profile id) named by the request → the surviving profile
 * (following merges), every profile merged into it, and all their identifiers.
 */
import { clusterIdentities, profileCluster } from '../erase.js'
import type { RequestSubject } from '../requests.js'
import { saveStep, type StepRunner } from './step-runner.js'

export const resolve: StepRunner = async (tx, row, deps) => {
  const id = row.subject.identifier
  const ws = row.workspace_id
  let profileId: string | null = null
  if (id?.type === 'profile_id') profileId = id.value
  else if (id) {
    const r = await tx.query<{ profile_id: string }>(
      'SELECT profile_id FROM identities WHERE workspace_id = $1 AND type = $2 AND value = $3',
      [ws, id.type, id.value],
    )
    profileId = r.rows[0]?.profile_id ?? null
  }
  // Follow merges to the survivor (a merged-away id names the same person).
  for (let hop = 0; profileId !== null && hop < 20; hop++) {
    const p = await tx.query<{ merged_into: string | null }>(
      'SELECT merged_into FROM profiles WHERE workspace_id = $1 AND id = $2',
      [ws, profileId],
    )
    const found = p.rows[0]
    if (!found) {
      profileId = null
      break
    }
    if (found.merged_into === null) break
    profileId = found.merged_into
  }
  const profileIds = profileId === null ? [] : await profileCluster(tx, ws, profileId)
  const identities = profileIds.length === 0 ? [] : await clusterIdentities(tx, ws, profileIds)
  if (
    id &&
    id.type !== 'profile_id' &&
    !identities.some((i) => i.type === id.type && i.value === id.value)
  )
    identities.push(id)
  const subject: RequestSubject = { ...row.subject, profileId, profileIds, identities }
  await saveStep(
    tx,
    deps,
    row,
    'resolve',
    {
      status: 'completed',
      details: {
        found: profileId !== null,
        profiles: profileIds.length,
        identifiers: identities.length,
      },
    },
    subject,
  )
  return { kind: 'done' }
}
