/**
 * @module engine/privacy/worker
 * Runs privacy requests in the background. A request is a list of idempotent steps
 * (src/govern/core/privacy/privacy-request.ts `stepsFor`); each step's work and its receipt commit in one
 * transaction, so a crash re-runs at most the step that was interrupted. Requests are claimed
 * with a lease (`FOR UPDATE SKIP LOCKED`): pending requests, and running ones whose worker died
 * (lease expired), are picked up by whichever worker polls next, after a restart too.
 *
 * Audit: every status change goes through `recordLifecycle` (one place for the audit call).
 */
import type { Logger } from 'pino'
import { getDestination } from '../../../activate/core/index.js'
import {
  forwardingSettled,
  nextStep,
  receiptStatusOfJob,
  withReceipt,
  type DestinationReceipt,
  type StepName,
  type StepReceipt,
} from '../../core/privacy/privacy-request.js'
import type { SuppressionKey } from '../../core/privacy/suppression.js'
import type { Db, Queryable } from '../../../platform/store/db.js'
import type { EventLogWriter } from '../../../platform/stream/event-log.js'
import { pollingLoop } from '../../../platform/jobs/loops.js'
import { auditRepository } from '../../../platform/store/repositories/audit-repository.js'
import { insertJobs } from '../../../activate/engine/dispatcher.js'
import {
  clusterIdentities,
  erasePerson,
  profileCluster,
  scrubAttempts,
  scrubAttemptsByNeedles,
  type ErasureSubject,
} from './erase.js'
import {
  eraseOutsideStore,
  erasureNeedles,
  vacuumTables,
  type OutsideStoreErasure,
} from './outside-store.js'
import { addSuppressions, type PrivacyRequestRow, type RequestSubject } from './requests.js'
import { REFRESH_MS, suppressionMatcher } from './suppression-cache.js'

export interface PrivacyWorkerOptions {
  db: Db
  logger: Logger
  /** Epoch ms. */
  clock: () => number
  newId: (prefix: string) => string
  /** Keys the hashes of suppressions and tombstones (derived from the instance secret). */
  suppressionKey: SuppressionKey
  /** Poll for due requests (other nodes create them too). Default 500 ms. */
  pollIntervalMs?: number
  /** How long a claimed request stays leased. Default 30 s. */
  leaseMs?: number
  /** How long a completed deletion's tombstone keeps blocking the identifiers. Default 10 min. */
  tombstoneGraceMs?: number
  /** Attempts of a failing step before the request fails. Default 5. */
  maxAttempts?: number
  /** New delivery jobs were enqueued (destination deletions). */
  onEnqueued?: () => void
  /** The event log, whose own storage (segment files) a deletion rewrites when it can. */
  eventLog?: EventLogWriter
}

/** Trait keys destinations identify a person by when deleting (profile-fields.ts). */
const IDENTIFYING_TRAITS = ['email', 'phone', 'phone_number']

/** Tables a deletion's scrub step changes (vacuumed afterwards along with the erased ones). */
const SCRUBBED_TABLES = ['delivery_jobs', 'delivery_attempts', 'privacy_requests']

export interface PrivacyWorker {
  start(): void
  stop(): Promise<void>
  wake(): void
  /** Runs due requests until none is due (tests). */
  runOnce(): Promise<number>
}

type StepResult =
  | { kind: 'done' }
  /** Not finished (waiting for destinations): look again at `retryInMs`. */
  | { kind: 'wait'; retryInMs: number }

/**
 * The one place a request's lifecycle is recorded in the audit log (append-only), inside the
 * transaction that changes the request, so the log never disagrees with the request row. Creation
 * is audited by the HTTP layer's hook with the caller; status changes made by the worker are the
 * system's.
 */
export async function recordLifecycle(
  tx: Queryable,
  event: {
    workspaceId: string
    requestId: string
    actor: string | null
    action: 'privacy_request.created' | 'privacy_request.status_changed'
    before: string | null
    after: string
  },
  at: Date = new Date(),
): Promise<void> {
  await auditRepository.append(tx, {
    workspaceId: event.workspaceId,
    at,
    actorKind: event.action === 'privacy_request.created' && event.actor ? 'key' : 'system',
    actorId: event.action === 'privacy_request.created' ? event.actor : null,
    actorLabel: null,
    action: event.action,
    targetType: 'privacy_request',
    targetId: event.requestId,
    outcome: event.after === 'failed' ? 'failure' : 'success',
    status: null,
    before: event.before === null ? null : { status: event.before },
    after: { status: event.after },
    requestId: null,
    ip: null,
    method: null,
    path: null,
  })
}

export function createPrivacyWorker(options: PrivacyWorkerOptions): PrivacyWorker {
  const { db, clock, logger } = options
  const pollIntervalMs = options.pollIntervalMs ?? 500
  const leaseMs = options.leaseMs ?? 30_000
  const graceMs = options.tombstoneGraceMs ?? 10 * 60_000
  const maxAttempts = options.maxAttempts ?? 5
  const matcher = suppressionMatcher(db, options.suppressionKey)

  const nowIso = () => new Date(clock()).toISOString()

  async function claim(): Promise<PrivacyRequestRow | undefined> {
    const now = clock()
    const r = await db.query<PrivacyRequestRow>(
      `UPDATE privacy_requests r SET locked_until = $2,
         status = 'running', started_at = coalesce(r.started_at, $1), updated_at = $1
       WHERE (r.workspace_id, r.id) IN (
         SELECT workspace_id, id FROM privacy_requests
         WHERE status IN ('pending', 'running') AND next_run_at <= $1
           AND (locked_until IS NULL OR locked_until < $1)
         ORDER BY next_run_at, created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
       RETURNING r.*`,
      [new Date(now).toISOString(), new Date(now + leaseMs).toISOString()],
    )
    return r.rows[0]
  }

  async function finish(
    tx: Queryable,
    row: PrivacyRequestRow,
    patch: { status: 'completed' | 'failed'; error: string | null; subject?: RequestSubject },
  ): Promise<void> {
    const at = nowIso()
    await tx.query(
      `UPDATE privacy_requests SET status = $3, error = $4, finished_at = $5, updated_at = $5,
         locked_until = NULL, subject = coalesce($6::jsonb, subject)
       WHERE workspace_id = $1 AND id = $2`,
      [
        row.workspace_id,
        row.id,
        patch.status,
        patch.error,
        at,
        patch.subject ? JSON.stringify(patch.subject) : null,
      ],
    )
    await recordLifecycle(
      tx,
      {
        workspaceId: row.workspace_id,
        requestId: row.id,
        actor: row.actor,
        action: 'privacy_request.status_changed',
        before: row.status,
        after: patch.status,
      },
      new Date(clock()),
    )
    row.status = patch.status
  }

  /** Saves a step's receipt and the new working state, in the step's transaction. */
  async function saveStep(
    tx: Queryable,
    row: PrivacyRequestRow,
    step: StepName,
    result: { status: StepReceipt['status']; details: Record<string, unknown> },
    subject: RequestSubject,
    extra: { destinations?: DestinationReceipt[]; runAt?: number } = {},
  ): Promise<StepReceipt[]> {
    const steps = withReceipt(row.steps, { step, at: nowIso(), ...result })
    await tx.query(
      `UPDATE privacy_requests SET steps = $3, subject = $4,
         destinations = coalesce($5::jsonb, destinations), next_run_at = $6, updated_at = $7
       WHERE workspace_id = $1 AND id = $2`,
      [
        row.workspace_id,
        row.id,
        JSON.stringify(steps),
        JSON.stringify(subject),
        extra.destinations ? JSON.stringify(extra.destinations) : null,
        new Date(extra.runAt ?? clock()).toISOString(),
        nowIso(),
      ],
    )
    row.steps = steps
    row.subject = subject
    if (extra.destinations) row.destinations = extra.destinations
    return steps
  }

  // --------------------------------------------------------------------------------------------
  // Steps
  // --------------------------------------------------------------------------------------------

  async function resolve(tx: Queryable, row: PrivacyRequestRow): Promise<StepResult> {
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

  async function suppress(tx: Queryable, row: PrivacyRequestRow): Promise<StepResult> {
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
        newId: () => options.newId('sup'),
        now: nowIso(),
      },
      options.suppressionKey,
    )
    // Erase only once every node's ingest and processor see the tombstone (caches refresh
    // within REFRESH_MS): nothing accepted after that can recreate the person.
    const runAt = clock() + (deletion ? REFRESH_MS + 500 : 0)
    await saveStep(
      tx,
      row,
      'suppress',
      { status: 'completed', details: { identifiers: ids.length, tombstone: deletion } },
      { ...row.subject, ...(deletion ? {} : { identifier: undefined }) },
      { runAt },
    )
    return { kind: 'done' }
  }

  async function erase(tx: Queryable, row: PrivacyRequestRow): Promise<StepResult> {
    const ws = row.workspace_id
    // Resolve again: events applied since `resolve` may have merged more into the person.
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
    const rules = await matcher.rules(ws, tx)
    const counts = await erasePerson(tx, subject, rules)

    // Forward to every destination that can delete, through the dispatcher's jobs.
    const dests = await tx.query<{ id: string; type: string; name: string; enabled: boolean }>(
      'SELECT id, type, name, enabled FROM destinations WHERE workspace_id = $1 ORDER BY id',
      [ws],
    )
    const receipts: DestinationReceipt[] = []
    const jobs: Record<string, unknown>[] = []
    for (const d of dests.rows) {
      let supports = false
      try {
        const m = getDestination(d.type).manifest
        supports = m.supportsDeletion && m.actions.includes('delete')
      } catch {
        supports = false
      }
      const base = { destinationId: d.id, type: d.type, name: d.name, jobId: null, at: nowIso() }
      if (!supports) receipts.push({ ...base, status: 'unsupported', error: null })
      else if (!d.enabled)
        receipts.push({ ...base, status: 'skipped', error: 'destination is disabled' })
      else {
        receipts.push({ ...base, status: 'pending', error: null })
        jobs.push({
          workspace_id: ws,
          destination_id: d.id,
          kind: 'delete',
          profile_id: root,
          input: { profile: snapshot, privacyRequestId: row.id },
          idempotency_key: `privacy-delete:${row.id}`,
        })
      }
    }
    await insertJobs(tx, jobs, nowIso())
    await saveStep(
      tx,
      row,
      'erase',
      { status: 'completed', details: { rows: counts, profiles: profileIds.length } },
      { ...row.subject, profileIds, identities, snapshot },
      { destinations: receipts },
    )
    if (jobs.length > 0) options.onEnqueued?.()
    return { kind: 'done' }
  }

  async function forward(tx: Queryable, row: PrivacyRequestRow): Promise<StepResult> {
    const r = await tx.query<{
      id: string
      destination_id: string
      state: string
      last_error: string | null
    }>(
      `SELECT id::text AS id, destination_id, state, last_error FROM delivery_jobs
       WHERE workspace_id = $1 AND idempotency_key = $2`,
      [row.workspace_id, `privacy-delete:${row.id}`],
    )
    const byDest = new Map(r.rows.map((j) => [j.destination_id, j]))
    const redact = redactor(row.subject)
    const receipts = row.destinations.map((d): DestinationReceipt => {
      if (d.status !== 'pending') return d
      const job = byDest.get(d.destinationId)
      if (!job)
        return { ...d, status: 'failed', error: 'the delivery job was removed', at: nowIso() }
      const status = receiptStatusOfJob(job.state)
      return {
        ...d,
        jobId: job.id,
        status,
        error: job.last_error === null ? null : redact(job.last_error),
        at: status === 'pending' ? d.at : nowIso(),
      }
    })
    const settled = forwardingSettled(receipts)
    const subject = { ...row.subject, jobIds: r.rows.map((j) => j.id) }
    if (!settled) {
      // No receipt for the step yet: it runs again in a second with the jobs' new states.
      await tx.query(
        `UPDATE privacy_requests SET destinations = $3, next_run_at = $4, updated_at = $5
         WHERE workspace_id = $1 AND id = $2`,
        [
          row.workspace_id,
          row.id,
          JSON.stringify(receipts),
          new Date(clock() + 1_000).toISOString(),
          nowIso(),
        ],
      )
      return { kind: 'wait', retryInMs: 1_000 }
    }
    const failed = receipts.filter((x) => x.status === 'failed').length
    await saveStep(
      tx,
      row,
      'forward',
      {
        status: 'completed',
        details: { destinations: receipts.length, failed },
      },
      subject,
      { destinations: receipts },
    )
    return { kind: 'done' }
  }

  async function scrub(tx: Queryable, row: PrivacyRequestRow): Promise<StepResult> {
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
      [ws, row.id, new Date(clock() + graceMs).toISOString()],
    )
    const failed = row.destinations.filter((d) => d.status === 'failed').length
    const outside = outsideDone.get(row.id)
    await saveStep(
      tx,
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
    await finish(tx, row, {
      status: failed > 0 ? 'failed' : 'completed',
      error: failed > 0 ? `${failed} destination(s) did not confirm the deletion` : null,
      subject: {},
    })
    return { kind: 'done' }
  }

  async function accessExport(tx: Queryable, row: PrivacyRequestRow): Promise<StepResult> {
    const ids = row.subject.profileIds ?? []
    const counts = await tx.query<{ events: string | number }>(
      'SELECT count(*) AS events FROM events WHERE workspace_id = $1 AND profile_id = ANY($2::text[])',
      [row.workspace_id, ids],
    )
    await saveStep(
      tx,
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

  /** What the file pass of a request's scrub step did, for its receipt. */
  const outsideDone = new Map<string, OutsideStoreErasure>()

  async function eraseFiles(row: PrivacyRequestRow): Promise<OutsideStoreErasure> {
    const subject: ErasureSubject = {
      workspaceId: row.workspace_id,
      profileIds: row.subject.profileIds ?? [],
      identities: row.subject.identities ?? [],
    }
    const rules = await matcher.rules(row.workspace_id)
    return eraseOutsideStore({ db, eventLog: options.eventLog }, subject, rules)
  }

  /** Tables the erase step's receipt counted rows in. */
  function erasedTables(row: PrivacyRequestRow): string[] {
    const receipt = row.steps.find((s) => s.step === 'erase')
    const rows = (receipt?.details as { rows?: Record<string, number> } | undefined)?.rows ?? {}
    return Object.keys(rows)
  }

  const runners: Record<StepName, (tx: Queryable, row: PrivacyRequestRow) => Promise<StepResult>> =
    { resolve, suppress, erase, forward, scrub, export: accessExport }

  async function runRequest(row: PrivacyRequestRow): Promise<void> {
    for (;;) {
      const step = nextStep(row.type, row.steps)
      if (step === undefined) {
        if (row.status !== 'completed' && row.status !== 'failed') {
          await db.transaction((tx) => finish(tx, row, { status: 'completed', error: null }))
        }
        return
      }
      if (row.type === 'deletion' && step === 'scrub') {
        // Files first, outside the transaction; the receipt commits after them, so a crash
        // before it runs this (idempotent) pass again.
        const done = await eraseFiles(row)
        if (done.eventLog && done.eventLog.deferred > 0) {
          // Records still waiting for the processor hold the person with others' events that do
          // not fit once cut: look again when the processor has applied them.
          await db.query(
            `UPDATE privacy_requests SET next_run_at = $3, locked_until = NULL, updated_at = $4
             WHERE workspace_id = $1 AND id = $2`,
            [row.workspace_id, row.id, new Date(clock() + 1_000).toISOString(), nowIso()],
          )
          return
        }
        outsideDone.set(row.id, done)
      }
      let result: StepResult
      try {
        result = await db.transaction(async (tx) => runners[step](tx, row))
      } finally {
        outsideDone.delete(row.id)
      }
      if (row.type === 'deletion' && step === 'erase') {
        // At once, rather than after forwarding (which may wait long for a destination); the
        // scrub step repeats it, so a crash here leaves nothing behind for good.
        await eraseFiles(row).catch((err: unknown) =>
          logger.warn(
            { err, requestId: row.id },
            'privacy deletion: file erasure failed; retried at scrub',
          ),
        )
        await vacuumTables(db, erasedTables(row), logger)
      }
      if (row.type === 'deletion' && step === 'scrub') {
        await vacuumTables(db, SCRUBBED_TABLES, logger)
      }
      if (result.kind === 'wait') {
        await db.query(
          `UPDATE privacy_requests SET locked_until = NULL WHERE workspace_id = $1 AND id = $2`,
          [row.workspace_id, row.id],
        )
        return
      }
      // A step that scheduled its successor later (suppress → erase) releases the request.
      const due = await db.query<{ next_run_at: Date | string }>(
        'SELECT next_run_at FROM privacy_requests WHERE workspace_id = $1 AND id = $2',
        [row.workspace_id, row.id],
      )
      const next = due.rows[0]?.next_run_at
      if (next !== undefined && new Date(next).getTime() > clock()) {
        await db.query(
          `UPDATE privacy_requests SET locked_until = NULL WHERE workspace_id = $1 AND id = $2`,
          [row.workspace_id, row.id],
        )
        if (step === 'suppress') await matcher.invalidate()
        return
      }
      if (step === 'suppress') await matcher.invalidate()
    }
  }

  async function runOnce(): Promise<number> {
    let n = 0
    for (;;) {
      const row = await claim()
      if (!row) return n
      n++
      try {
        await runRequest(row)
      } catch (err) {
        const attempts = row.attempts + 1
        logger.error({ err, requestId: row.id }, 'privacy request step failed')
        const message = (err as Error).message.slice(0, 500)
        if (attempts >= maxAttempts) {
          await db.transaction((tx) =>
            finish(tx, row, { status: 'failed', error: `${message} (after ${attempts} attempts)` }),
          )
        } else {
          await db.query(
            `UPDATE privacy_requests SET attempts = $3, error = $4, locked_until = NULL,
               next_run_at = $5, updated_at = $6 WHERE workspace_id = $1 AND id = $2`,
            [
              row.workspace_id,
              row.id,
              attempts,
              message,
              new Date(clock() + 1_000 * 2 ** attempts).toISOString(),
              nowIso(),
            ],
          )
        }
      }
    }
  }

  const loop = pollingLoop(runOnce, {
    intervalMs: pollIntervalMs,
    onError: (err) => logger.error({ err }, 'privacy worker pass failed; will retry'),
  })

  return {
    start: loop.start,
    async stop() {
      await loop.stop()
      await matcher.flush().catch(() => undefined)
    },
    wake: loop.wake,
    runOnce,
  }
}

/** Replaces the person's identifiers and profile ids in a text (vendor error messages). */
function redactor(subject: RequestSubject): (text: string) => string {
  const needles = [
    ...(subject.identities ?? []).map((i) => i.value),
    ...(subject.profileIds ?? []),
  ].filter((v) => v.length >= 3)
  return (text) => {
    let out = text
    for (const n of needles) out = out.split(n).join('[redacted]')
    for (const n of needles) {
      const re = new RegExp(n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi')
      out = out.replace(re, '[redacted]')
    }
    return out
  }
}
