/**
 * `kindred sync run <modelId> [--url http://127.0.0.1:8787] [--workspace default]`: queues a run
 * of a sync model through the API (with KINDRED_ADMIN_TOKEN) and follows it to its end, printing
 * a progress line (rows read, changed, sent, rejected) as it goes. Exits non-zero when the run
 * failed, with its reason. The server's own worker runs it, so its lease, checkpoints and
 * retries are the same as for a scheduled run.
 */
import { parseArgs } from 'node:util'
import { KindredError } from '../protocol/errors.js'

export const SYNC_USAGE =
  'Usage: kindred sync run <modelId> [--url http://127.0.0.1:8787] [--workspace default]'

export interface SyncRunOptions {
  modelId: string
  url: string
  workspaceId: string
  adminToken: string | undefined
  /** Between two looks at the run (default 500 ms). */
  pollMs?: number
}

export function parseSyncArgs(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
): { ok: true; options: SyncRunOptions } | { ok: false; error: string } {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: 'string', default: 'http://127.0.0.1:8787' },
        workspace: { type: 'string', default: 'default' },
      },
    })
    if (positionals[0] !== 'run' || positionals.length !== 2)
      return { ok: false, error: SYNC_USAGE }
    return {
      ok: true,
      options: {
        modelId: positionals[1] as string,
        url: values.url as string,
        workspaceId: values.workspace as string,
        adminToken: env.KINDRED_ADMIN_TOKEN || undefined,
      },
    }
  } catch (err) {
    return { ok: false, error: `${(err as Error).message}\n${SYNC_USAGE}` }
  }
}

interface RunView {
  id: string
  status: string
  rowsRead: number
  rowsChanged: number
  rowsSent: number
  rowsRejected: number
  rowsDeleted: number
  error: string | null
  durationMs: number | null
}

const line = (r: RunView) =>
  `${r.status}: ${r.rowsRead} read, ${r.rowsChanged} changed, ${r.rowsSent} sent, ${r.rowsRejected} rejected, ${r.rowsDeleted} gone`

export async function runSyncCommand(
  o: SyncRunOptions,
  io: { stdout: { write(s: string): unknown }; isTTY?: boolean } = {
    stdout: process.stdout,
    isTTY: process.stdout.isTTY,
  },
): Promise<RunView> {
  if (!o.adminToken) throw new KindredError('UNAUTHORIZED', 'set KINDRED_ADMIN_TOKEN to run a sync')
  const base = o.url.replace(/\/$/, '')
  const headers = { authorization: `Bearer ${o.adminToken}`, 'x-kindred-workspace': o.workspaceId }
  const call = async (path: string, method = 'GET'): Promise<RunView> => {
    const res = await fetch(`${base}${path}`, { method, headers })
    const text = await res.text()
    if (!res.ok) {
      const body = JSON.parse(text) as { error?: { message?: string } }
      const code = res.status === 404 ? 'NOT_FOUND' : res.status === 409 ? 'CONFLICT' : 'INTERNAL'
      throw new KindredError(code, body.error?.message ?? `${res.status} ${text}`)
    }
    return JSON.parse(text) as RunView
  }
  let run = await call(`/api/v1/syncs/models/${encodeURIComponent(o.modelId)}/runs`, 'POST')
  io.stdout.write(`sync run ${run.id} of ${o.modelId} queued\n`)
  let last = ''
  for (;;) {
    run = await call(`/api/v1/syncs/runs/${encodeURIComponent(run.id)}`)
    const now = line(run)
    if (now !== last) {
      // On a terminal the line is redrawn in place; in a log, one line per change.
      io.stdout.write(io.isTTY === true ? `\r\x1b[K${now}` : `${now}\n`)
      last = now
    }
    if (run.status === 'succeeded' || run.status === 'failed') break
    await new Promise((r) => setTimeout(r, o.pollMs ?? 500))
  }
  if (io.isTTY === true) io.stdout.write('\n')
  if (run.status === 'failed')
    throw new KindredError('CONFLICT', `sync run ${run.id} failed: ${run.error ?? 'unknown'}`)
  io.stdout.write(`done in ${((run.durationMs ?? 0) / 1000).toFixed(1)} s\n`)
  return run
}
