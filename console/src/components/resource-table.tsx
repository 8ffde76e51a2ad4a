/**
 * The list pages' table: the empty state when there is nothing yet, else one row per resource
 * with a header per column, and "Load more" while a paged list has further pages. Pages keep
 * their queries and actions, and wrap this in `QueryView` for loading and errors; only the
 * table shape is here.
 */
import { Box, Button, Group, Table } from '@mantine/core'
import type { ReactNode } from 'react'

export interface Column<T> {
  /** Header text; none for an actions column. */
  title?: ReactNode
  render: (row: T) => ReactNode
  align?: 'right'
}

/** The part of an infinite query that pages on (`useInfiniteQuery`'s result has it). */
export interface MorePages {
  hasNextPage: boolean
  isFetchingNextPage: boolean
  fetchNextPage: () => unknown
}

export function ResourceTable<T>({
  columns,
  rows,
  rowKey,
  empty,
  testId,
  rowTestId,
  highlightOnHover,
  dense,
  more,
  moreLabel = 'Load more',
}: {
  columns: Array<Column<T>>
  rows: T[]
  rowKey: (row: T) => string
  /** Shown instead of the table when `rows` is empty: say what to do next. */
  empty: ReactNode
  testId?: string
  /** The same `data-testid` on every row, for tests that count or pick rows. */
  rowTestId?: string
  highlightOnHover?: boolean
  /** Inside a card or a tab, which draws the border already: none of its own, tighter rows. */
  dense?: boolean
  /** A paged list: "Load more" under the table while there is a next page. */
  more?: MorePages
  moreLabel?: string
}) {
  if (rows.length === 0) return <>{empty}</>
  return (
    <>
      {/* Wide tables scroll sideways inside their box instead of widening the page (phones). */}
      <Box style={{ overflowX: 'auto', maxWidth: '100%' }} data-testid="table-scroll">
        <Table
          highlightOnHover={highlightOnHover}
          withTableBorder={!dense}
          verticalSpacing={dense ? 6 : 'sm'}
          data-testid={testId}
        >
          <Table.Thead>
            <Table.Tr>
              {columns.map((c, i) => (
                <Table.Th key={i} ta={c.align}>
                  {c.title}
                </Table.Th>
              ))}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((row) => (
              <Table.Tr key={rowKey(row)} data-testid={rowTestId}>
                {columns.map((c, i) => (
                  <Table.Td key={i} ta={c.align}>
                    {c.render(row)}
                  </Table.Td>
                ))}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Box>
      {more?.hasNextPage ? (
        <Group justify="center" mt={dense ? 'xs' : 'md'}>
          <Button
            variant="default"
            size={dense ? 'xs' : 'sm'}
            loading={more.isFetchingNextPage}
            onClick={() => void more.fetchNextPage()}
          >
            {moreLabel}
          </Button>
        </Group>
      ) : null}
    </>
  )
}
