/**
 * Erasing a whole workspace: every row carrying its workspace_id, in every table the catalog
 * lists, children before the tables their foreign keys point at. The audit log stays (history
 * outlives what it describes). `privacy/erase.ts` deletes one *person* from a named list of
 * tables instead: there the tables are chosen, here nothing that names the workspace may stay.
 * @module
 */
import { KindredError } from '../../protocol/errors.js'
import type { Queryable } from '../../platform/store/db.js'
import {
  DEFAULT_WORKSPACE_ID,
  workspacesRepository,
  type Workspace,
} from '../../platform/store/repositories/workspaces-repository.js'

/**
 * Every table with a workspace_id (partitions through their parent, the audit log excluded),
 * children before the tables their foreign keys point at, so deletes never trip a constraint.
 */
export async function workspaceTablesInDeleteOrder(db: Queryable): Promise<string[]> {
  const tables = await db.query<{ table_name: string }>(
    `SELECT c.table_name FROM information_schema.columns c
     JOIN pg_class k ON k.relname = c.table_name AND k.relnamespace = 'public'::regnamespace
     WHERE c.table_schema = 'public' AND c.column_name = 'workspace_id'
       AND k.relkind IN ('r', 'p') AND NOT k.relispartition AND c.table_name <> 'audit_log'`,
  )
  const fks = await db.query<{ child: string; parent: string }>(
    `SELECT cl.relname AS child, pa.relname AS parent FROM pg_constraint co
     JOIN pg_class cl ON cl.oid = co.conrelid JOIN pg_class pa ON pa.oid = co.confrelid
     WHERE co.contype = 'f' AND cl.relname <> pa.relname`,
  )
  const names = new Set(tables.rows.map((r) => r.table_name))
  const order: string[] = []
  const visit = (t: string, seen: Set<string>) => {
    if (order.includes(t) || seen.has(t)) return
    seen.add(t)
    // Tables referencing `t` first.
    for (const fk of fks.rows) if (fk.parent === t && names.has(fk.child)) visit(fk.child, seen)
    order.push(t)
  }
  for (const t of [...names].sort()) visit(t, new Set())
  return order
}

/**
 * Deletes workspace `id` and everything in it, inside the caller's transaction (so the caller
 * can write its audit row in the same one). Returns the workspace as it was.
 */
export async function eraseWorkspace(tx: Queryable, id: string): Promise<Workspace> {
  // `default` is recreated on every start: deleting it would only empty it behind the owner's back.
  if (id === DEFAULT_WORKSPACE_ID) {
    throw new KindredError('CONFLICT', 'the default workspace cannot be deleted')
  }
  const before = await workspacesRepository.get(tx, id)
  if (!before) throw new KindredError('NOT_FOUND', `workspace ${id} not found`)
  for (const table of await workspaceTablesInDeleteOrder(tx)) {
    await tx.query(`DELETE FROM "${table}" WHERE workspace_id = $1`, [id])
  }
  await tx.query('DELETE FROM workspaces WHERE id = $1', [id])
  return before
}
