import {
  Alert,
  Anchor,
  Badge,
  Button,
  Code,
  Grid,
  Group,
  Modal,
  Paper,
  ScrollArea,
  SegmentedControl,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
  UnstyledButton,
} from '@mantine/core'
import { notifications } from '@mantine/notifications'
import { useDebouncedValue } from '@mantine/hooks'
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useEffect, useRef, useState } from 'react'
import { api, apiUrl, errorMessage } from '../api/client.js'
import { useSession } from '../api/session.js'
import type { LiveEvent, SourceEvent, SourceSchemaCall, Source } from '../api/types.js'
import { ConfirmModal } from '../components/confirm-modal.js'
import { DataQuality } from '../components/data-quality.js'
import { JsonView } from '../components/json-view.js'
import { Empty, QueryView } from '../components/states.js'
import { WriteKeyPanel } from '../components/write-key-panel.js'
import { formatTime } from '../lib/format.js'
import { normalizePath } from '../lib/json-path.js'
import { Link, navigate } from '../lib/router.js'
import { sourceSnippets } from '../lib/snippets.js'

const MAX_EVENTS = 500

export function SourceDetailPage({ id }: { id: string }) {
  const source = useQuery({
    queryKey: ['sources', id],
    queryFn: () => api<Source>(`/sources/${encodeURIComponent(id)}`),
  })
  return (
    <QueryView query={source} what="This source">
      {(s) => (
        <Stack gap="lg">
          <SourceHeader source={s} />
          <WriteKeyPanel source={s} />
          <LiveDebugger sourceId={s.id} />
          <SourceSchema sourceId={s.id} />
          <DataQuality sourceId={s.id} />
        </Stack>
      )}
    </QueryView>
  )
}

function SourceHeader({ source }: { source: Source }) {
  const queryClient = useQueryClient()
  const [renaming, setRenaming] = useState(false)
  const [deleting, setDeleting] = useState(false)
  const [name, setName] = useState(source.name)
  const rename = useMutation({
    mutationFn: () =>
      api<Source>(`/sources/${encodeURIComponent(source.id)}`, { method: 'PATCH', body: { name } }),
    onSuccess: () => {
      setRenaming(false)
      void queryClient.invalidateQueries({ queryKey: ['sources'] })
    },
  })
  const remove = useMutation({
    mutationFn: () => api(`/sources/${encodeURIComponent(source.id)}`, { method: 'DELETE' }),
    onSuccess: () => {
      notifications.show({ message: `Source “${source.name}” deleted.` })
      void queryClient.invalidateQueries({ queryKey: ['sources'] })
      navigate('/sources')
    },
  })
  return (
    <Group justify="space-between" align="flex-start">
      <Stack gap={4}>
        <Anchor component={Link} to="/sources" size="sm">
          ← Sources
        </Anchor>
        <Title order={2}>{source.name}</Title>
        <Text size="sm" c="dimmed">
          Write key <Code>{source.writeKeyPrefix}…</Code> · created {formatTime(source.createdAt)} ·
          id <Code>{source.id}</Code>
        </Text>
      </Stack>
      <Group gap="xs">
        <Button variant="default" size="xs" onClick={() => setRenaming(true)}>
          Rename
        </Button>
        <Button
          variant="light"
          color="red"
          size="xs"
          onClick={() => setDeleting(true)}
          data-testid="delete-source"
        >
          Delete
        </Button>
      </Group>
      <Modal opened={renaming} onClose={() => setRenaming(false)} title="Rename source">
        <form
          onSubmit={(e) => {
            e.preventDefault()
            rename.mutate()
          }}
        >
          <Stack>
            <TextInput
              label="Name"
              value={name}
              onChange={(e) => setName(e.currentTarget.value)}
              data-autofocus
            />
            {rename.isError ? <Alert color="red">{errorMessage(rename.error)}</Alert> : null}
            <Group justify="flex-end">
              <Button type="submit" loading={rename.isPending}>
                Save
              </Button>
            </Group>
          </Stack>
        </form>
      </Modal>
      <ConfirmModal
        opened={deleting}
        onClose={() => setDeleting(false)}
        title="Delete this source?"
        subject={<>The source “{source.name}” and its write keys</>}
        confirmLabel="Delete source"
        onConfirm={() => remove.mutate()}
        pending={remove.isPending}
        error={remove.error}
        testId="delete-source"
      >
        Its write keys stop working at once: SDKs using them get 401 answers. Events already
        received are kept.
      </ConfirmModal>
    </Group>
  )
}

type Connection = 'connecting' | 'live' | 'error' | 'unavailable'

interface Row extends LiveEvent {
  key: number
  /** From the store (what arrived before the debugger opened), not the live stream. */
  stored?: boolean
}

/** The same match the server's history search makes: a person's id, or an event-name prefix. */
function matchesSearch(row: LiveEvent, q: string): boolean {
  if (!q) return true
  const e = (row.event ?? {}) as Record<string, unknown>
  if (e.userId === q || e.anonymousId === q) return true
  const name = typeof e.event === 'string' ? e.event : typeof e.name === 'string' ? e.name : ''
  return name.toLowerCase().startsWith(q.toLowerCase())
}

function storedRow(e: SourceEvent, key: number): Row {
  return {
    key,
    stored: true,
    status: 'accepted',
    receivedAt: e.receivedAt,
    event: e.payload as Record<string, unknown>,
  }
}

/** Live event debugger over Server-Sent Events (EventSource cannot send headers: token in the URL). */
export function LiveDebugger({ sourceId }: { sourceId: string }) {
  const session = useSession()
  const [rows, setRows] = useState<Row[]>([])
  const [paused, setPaused] = useState(false)
  const [buffered, setBuffered] = useState<Row[]>([])
  const [connection, setConnection] = useState<Connection>('connecting')
  const [filter, setFilter] = useState<'all' | 'accepted' | 'rejected'>('all')
  const [selected, setSelected] = useState<number | null>(null)
  const [search, setSearch] = useState('')
  const [q] = useDebouncedValue(search.trim(), 300)
  // What arrived before the debugger opened (or matches the search), newest first, from the store.
  const history = useInfiniteQuery({
    queryKey: ['source-events', sourceId, q],
    initialPageParam: '',
    queryFn: ({ pageParam }) =>
      api<{ data: SourceEvent[]; nextCursor: string | null }>(
        `/sources/${encodeURIComponent(sourceId)}/events`,
        { query: { limit: 50, q, cursor: pageParam } },
      ),
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  })
  const pausedRef = useRef(paused)
  pausedRef.current = paused
  const counter = useRef(0)

  useEffect(() => {
    if (!session.token && !session.cookie) return undefined
    // With a cookie session the browser sends the cookie itself (same origin).
    const url = apiUrl(`/sources/${encodeURIComponent(sourceId)}/events/live`, {
      token: session.token,
      workspace: session.workspaceId,
    })
    setConnection('connecting')
    const source = new EventSource(url)
    source.onopen = () => setConnection('live')
    source.onerror = () => {
      // EventSource retries by itself; after a failed first attempt it gives up (CLOSED).
      setConnection(source.readyState === EventSource.CLOSED ? 'unavailable' : 'error')
    }
    source.addEventListener('event', (message) => {
      let parsed: LiveEvent
      try {
        parsed = JSON.parse((message as MessageEvent<string>).data) as LiveEvent
      } catch {
        return
      }
      const row: Row = { ...parsed, key: ++counter.current }
      setConnection('live')
      if (pausedRef.current) setBuffered((prev) => [row, ...prev].slice(0, MAX_EVENTS))
      else setRows((prev) => [row, ...prev].slice(0, MAX_EVENTS))
    })
    return () => source.close()
  }, [sourceId, session.token, session.cookie, session.workspaceId])

  function resume() {
    setRows((prev) => [...buffered, ...prev].slice(0, MAX_EVENTS))
    setBuffered([])
    setPaused(false)
  }

  // Live rows first; stored ones the live stream has not shown already (by messageId).
  const liveIds = new Set(
    rows.map((r) => (r.event as { messageId?: unknown } | undefined)?.messageId).filter(Boolean),
  )
  const stored = (history.data?.pages ?? [])
    .flatMap((p) => p.data)
    .filter((e) => !liveIds.has(e.messageId))
    .map((e, i) => storedRow(e, -1 - i))
  const visible = [...rows.filter((r) => matchesSearch(r, q)), ...stored].filter(
    (r) => filter === 'all' || r.status === filter,
  )
  const current = visible.find((r) => r.key === selected) ?? visible[0] ?? null
  const rejected = rows.filter((r) => r.status === 'rejected').length

  return (
    <Paper withBorder p="md" data-testid="live-debugger">
      <Group justify="space-between" mb="sm">
        <Group gap="sm">
          <Title order={4}>Live events</Title>
          <ConnectionBadge state={connection} />
          <Text size="sm" c="dimmed" data-testid="live-count">
            {rows.length} received{rejected ? ` · ${rejected} rejected` : ''}
          </Text>
        </Group>
        <Group gap="xs">
          <TextInput
            size="xs"
            placeholder="Search: user id, anonymous id or event name"
            value={search}
            onChange={(e) => setSearch(e.currentTarget.value)}
            w={280}
            aria-label="Search events"
            data-testid="debugger-search"
          />
          <SegmentedControl
            size="xs"
            value={filter}
            onChange={(v) => setFilter(v as typeof filter)}
            data={[
              { value: 'all', label: 'All' },
              { value: 'accepted', label: 'Accepted' },
              { value: 'rejected', label: 'Rejected' },
            ]}
          />
          {paused ? (
            <Button size="xs" onClick={resume} data-testid="resume">
              Resume{buffered.length ? ` (${buffered.length} new)` : ''}
            </Button>
          ) : (
            <Button size="xs" variant="default" onClick={() => setPaused(true)} data-testid="pause">
              Pause
            </Button>
          )}
          <Button
            size="xs"
            variant="default"
            onClick={() => {
              setRows([])
              setBuffered([])
              setSelected(null)
            }}
          >
            Clear
          </Button>
        </Group>
      </Group>
      {connection === 'unavailable' && rows.length === 0 ? (
        <Alert color="gray" mb="sm">
          The live stream is not available right now (the server refused or closed it). Reload the
          page to try again.
        </Alert>
      ) : null}
      {visible.length === 0 ? (
        <WaitingForEvents filtered={rows.length > 0 || q !== ''} />
      ) : (
        <Grid gap="md">
          <Grid.Col span={{ base: 12, md: 5 }}>
            <ScrollArea h={520} type="auto" offsetScrollbars>
              <Stack gap={4} data-testid="live-list">
                {visible.map((row) => (
                  <EventRow
                    key={row.key}
                    row={row}
                    active={current?.key === row.key}
                    onSelect={() => setSelected(row.key)}
                  />
                ))}
                {history.hasNextPage ? (
                  <Button
                    size="xs"
                    variant="subtle"
                    loading={history.isFetchingNextPage}
                    onClick={() => void history.fetchNextPage()}
                    data-testid="debugger-older"
                  >
                    Older events
                  </Button>
                ) : null}
              </Stack>
            </ScrollArea>
          </Grid.Col>
          <Grid.Col span={{ base: 12, md: 7 }}>
            {current ? <EventDetail row={current} /> : null}
          </Grid.Col>
        </Grid>
      )}
    </Paper>
  )
}

function ConnectionBadge({ state }: { state: Connection }) {
  const map: Record<Connection, { color: string; label: string }> = {
    connecting: { color: 'gray', label: 'connecting…' },
    live: { color: 'teal', label: '● live' },
    error: { color: 'orange', label: 'reconnecting…' },
    unavailable: { color: 'red', label: 'disconnected' },
  }
  return (
    <Badge variant="light" color={map[state].color} data-testid="live-status">
      {map[state].label}
    </Badge>
  )
}

function eventTitle(row: LiveEvent): string {
  const e = row.event
  if (!e) return '(unreadable payload)'
  const type = typeof e.type === 'string' ? e.type : 'event'
  if (type === 'track' && typeof e.event === 'string') return e.event
  if ((type === 'page' || type === 'screen') && typeof e.name === 'string')
    return `${type}: ${e.name}`
  return type
}

function eventWho(row: LiveEvent): string {
  const e = row.event
  if (!e) return ''
  if (typeof e.userId === 'string' && e.userId) return e.userId
  if (typeof e.anonymousId === 'string' && e.anonymousId) return `anon ${e.anonymousId}`
  return ''
}

function EventRow({ row, active, onSelect }: { row: Row; active: boolean; onSelect: () => void }) {
  const rejected = row.status === 'rejected'
  return (
    <UnstyledButton
      onClick={onSelect}
      data-testid="live-event"
      data-status={row.status}
      aria-pressed={active}
      p="xs"
      style={{
        borderRadius: 6,
        border: `1px solid ${active ? 'var(--mantine-color-indigo-4)' : 'var(--mantine-color-gray-3)'}`,
        borderLeft: `4px solid ${rejected ? 'var(--mantine-color-red-6)' : 'var(--mantine-color-teal-6)'}`,
        background: active ? 'var(--mantine-color-indigo-0)' : undefined,
      }}
    >
      <Group justify="space-between" wrap="nowrap" gap="xs">
        <Stack gap={0} style={{ minWidth: 0 }}>
          <Text size="sm" fw={600} truncate>
            {eventTitle(row)}
          </Text>
          <Text size="xs" c="dimmed" truncate>
            {[typeof row.event?.type === 'string' ? row.event.type : null, eventWho(row)]
              .filter(Boolean)
              .join(' · ')}
          </Text>
        </Stack>
        <Stack gap={2} align="flex-end">
          <Badge size="xs" variant="light" color={rejected ? 'red' : row.stored ? 'gray' : 'teal'}>
            {row.stored ? 'stored' : row.status}
          </Badge>
          <Text size="xs" c="dimmed">
            {new Date(row.receivedAt).toLocaleTimeString()}
          </Text>
        </Stack>
      </Group>
    </UnstyledButton>
  )
}

function EventDetail({ row }: { row: Row }) {
  const errors = row.errors ?? []
  return (
    <Stack gap="sm" data-testid="live-detail">
      <Group justify="space-between">
        <Text fw={600}>{eventTitle(row)}</Text>
        <Text size="xs" c="dimmed">
          received {formatTime(row.receivedAt)}
        </Text>
      </Group>
      {errors.length ? (
        <Alert
          color="red"
          title={`Rejected: ${errors.length} problem${errors.length > 1 ? 's' : ''}`}
          data-testid="live-errors"
        >
          <Stack gap={4}>
            {errors.map((err, i) => (
              <Text size="sm" key={i}>
                <Code color="red.1">{normalizePath(err.path).join('.') || '(event)'}</Code>{' '}
                {err.message}{' '}
                <Text span size="xs" c="dimmed">
                  ({err.code})
                </Text>
              </Text>
            ))}
          </Stack>
        </Alert>
      ) : null}
      {row.event ? (
        <JsonView
          value={row.event}
          highlight={errors.map((err) => normalizePath(err.path))}
          maxHeight={440}
        />
      ) : (
        <Text size="sm" c="dimmed">
          The payload could not be read as JSON, so there is nothing to show.
        </Text>
      )}
    </Stack>
  )
}

function WaitingForEvents({ filtered }: { filtered: boolean }) {
  if (filtered)
    return (
      <Empty
        icon="search"
        title="No events match this filter"
        description="Pick “All” to see every event received."
      />
    )
  const example = sourceSnippets(window.location.origin, '<write key>').curl
  return (
    <Empty
      icon="radar"
      title="Waiting for events…"
      description={
        <Stack gap="xs" align="center">
          <Text size="sm" c="dimmed">
            Send an event to this source and it shows up here at once, with any validation errors.
          </Text>
          <Code block style={{ textAlign: 'left' }}>
            {example}
          </Code>
        </Stack>
      }
    />
  )
}

/** What the source has sent: each call with its volume and fields, from the event catalogue. */
function SourceSchema({ sourceId }: { sourceId: string }) {
  const schema = useQuery({
    queryKey: ['source-schema', sourceId],
    queryFn: () =>
      api<{ data: SourceSchemaCall[] }>(`/sources/${encodeURIComponent(sourceId)}/schema`),
  })
  const [open, setOpen] = useState<string | null>(null)
  return (
    <Paper withBorder p="md" data-testid="source-schema">
      <Title order={4} mb="sm">
        Schema
      </Title>
      <QueryView query={schema} what="Schema">
        {({ data }) =>
          data.length === 0 ? (
            <Text size="sm" c="dimmed">
              Nothing processed from this source yet: each call and its fields appear here with
              their volumes.
            </Text>
          ) : (
            <Table highlightOnHover data-testid="schema-table">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Call</Table.Th>
                  <Table.Th>Events</Table.Th>
                  <Table.Th>First seen</Table.Th>
                  <Table.Th>Last seen</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {data.flatMap((c) => {
                  const key = `${c.type}:${c.event}`
                  const rows = [
                    <Table.Tr
                      key={key}
                      onClick={() => setOpen(open === key ? null : key)}
                      style={{ cursor: 'pointer' }}
                      data-testid="schema-call"
                    >
                      <Table.Td>
                        <Group gap="xs">
                          <Badge variant="light" size="sm">
                            {c.type}
                          </Badge>
                          <Text size="sm" fw={600}>
                            {c.event}
                          </Text>
                          <Text size="xs" c="dimmed">
                            {c.fields.length} field{c.fields.length === 1 ? '' : 's'}
                          </Text>
                        </Group>
                      </Table.Td>
                      <Table.Td>{c.count.toLocaleString()}</Table.Td>
                      <Table.Td>{formatTime(c.firstSeen)}</Table.Td>
                      <Table.Td>{formatTime(c.lastSeen)}</Table.Td>
                    </Table.Tr>,
                  ]
                  if (open === key)
                    for (const f of c.fields)
                      rows.push(
                        <Table.Tr key={`${key}/${f.field}`} data-testid="schema-field">
                          <Table.Td pl="xl">
                            <Code>{f.field}</Code>{' '}
                            {f.valueTypes.map((t) => (
                              <Badge
                                key={t}
                                size="xs"
                                variant="outline"
                                color={f.valueTypes.length > 1 ? 'orange' : 'gray'}
                                mr={4}
                              >
                                {t}
                              </Badge>
                            ))}
                          </Table.Td>
                          <Table.Td>{f.count.toLocaleString()}</Table.Td>
                          <Table.Td />
                          <Table.Td>{formatTime(f.lastSeen)}</Table.Td>
                        </Table.Tr>,
                      )
                  return rows
                })}
              </Table.Tbody>
            </Table>
          )
        }
      </QueryView>
    </Paper>
  )
}
