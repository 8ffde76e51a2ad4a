/**
 * `suppress`: hashed suppressions of the identifiers (a suppression request), or tombstones of
 * every identifier of the person (a deletion), so that ingest drops their new events.
 */
import { addSuppressions } from '../requests.js'
import { REFRESH_MS } from '../suppression-cache.js'
import { nowIso, saveStep, type StepRunner } from './step-runner.js'

export const suppress: StepRunner = async (tx, row, deps) => {
  const deletion = row.type === 'deletion'
  const identifiers = deletion
    ? (row.subject.identities ?? []).filter((i) => i.type !== 'profile_id')
    : row.subject.identifier
      ? [row.subject.identifier]
      : []
  const ids = await addSuppressions(
    tx,
    {
      workspaceId: row.workspace_id,
      identifiers,
      reason: deletion ? 'deletion' : 'suppression',
      requestId: row.id,
      newId: () => deps.newId('sup'),
      now: nowIso(deps),
    },
    deps.suppressionKey,
  )
  // Erase only once every node's ingest and processor see the tombstone (caches refresh
  // within REFRESH_MS): nothing accepted after that can recreate the person.
  const runAt = deps.clock() + (deletion ? REFRESH_MS + 500 : 0)
  await saveStep(
    tx,
    deps,
    row,
    'suppress',
    { status: 'completed', details: { identifiers: ids.length, tombstone: deletion } },
    { ...row.subject, ...(deletion ? {} : { identifier: undefined }) },
    { runAt },
  )
  return { kind: 'done' }
}
