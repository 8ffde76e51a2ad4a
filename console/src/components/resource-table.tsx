/**
 * The list pages' table: the empty state when there is nothing yet, else one row per resource
 * with a header per column. Pages keep their queries and actions; only the table shape is here.
 */
import { Table } from '@mantine/core'
import type { ReactNode } from 'react'

export interface Column<T> {
  /** Header text; none for an actions column. */
  title?: ReactNode
  render: (row: T) => ReactNode
  align?: 'right'
}

export function ResourceTable<T>({
  columns,
  rows,
  rowKey,
  empty,
  testId,
  highlightOnHover,
}: {
  columns: Array<Column<T>>
  rows: T[]
  rowKey: (row: T) => string
  /** Shown instead of the table when `rows` is empty: say what to do next. */
  empty: ReactNode
  testId?: string
  highlightOnHover?: boolean
}) {
  if (rows.length === 0) return <>{empty}</>
  return (
    <Table
      highlightOnHover={highlightOnHover}
      withTableBorder
      verticalSpacing="sm"
      data-testid={testId}
    >
      <Table.Thead>
        <Table.Tr>
          {columns.map((c, i) => (
            <Table.Th key={i}>{c.title}</Table.Th>
          ))}
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {rows.map((row) => (
          <Table.Tr key={rowKey(row)}>
            {columns.map((c, i) => (
              <Table.Td key={i} ta={c.align}>
                {c.render(row)}
              </Table.Td>
            ))}
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  )
}
