/** The event timeline: type and name filters, newest first, infinite scroll. */
import {
  Accordion,
  Anchor,
  Badge,
  Code,
  Group,
  Loader,
  Select,
  Stack,
  Text,
  TextInput,
} from '@mantine/core'
import { useDebouncedValue } from '@mantine/hooks'
import { useInfiniteQuery } from '@tanstack/react-query'
import { useEffect, useRef, useState } from 'react'
import { api, isNotFound } from '../../api/client.js'
import type { Page, ProfileEvent } from '../../api/types.js'
import { JsonView } from '../../components/json-view.js'
import { Empty, ErrorNotice, Loading, NotAvailable } from '../../components/states.js'
import { formatShort, formatTime } from '../../lib/format.js'
import { Link } from '../../lib/router.js'
import { profilePath } from './profile-path.js'

const eventTypes = ['track', 'identify', 'page', 'screen', 'group', 'alias']

export function Timeline({ profileId }: { profileId: string }) {
  const [type, setType] = useState<string | null>(null)
  const [name, setName] = useState('')
  const [eventName] = useDebouncedValue(name.trim(), 300)
  const events = useInfiniteQuery({
    queryKey: ['profile', profileId, 'events', type, eventName],
    queryFn: ({ pageParam }) =>
      api<Page<ProfileEvent>>(profilePath(profileId, '/events'), {
        query: { cursor: pageParam, limit: 50, type, event: eventName },
      }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  })
  const sentinel = useRef<HTMLDivElement>(null)
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = events
  useEffect(() => {
    const el = sentinel.current
    if (!el) return undefined
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && hasNextPage && !isFetchingNextPage)
        void fetchNextPage()
    })
    observer.observe(el)
    return () => observer.disconnect()
  }, [hasNextPage, isFetchingNextPage, fetchNextPage])

  return (
    <Stack gap="sm">
      <Group gap="sm">
        <Select
          size="xs"
          w={150}
          placeholder="All types"
          aria-label="Event type"
          clearable
          data={eventTypes}
          value={type}
          onChange={setType}
        />
        <TextInput
          size="xs"
          w={240}
          placeholder="Event name, e.g. Order Completed"
          aria-label="Event name"
          value={name}
          onChange={(e) => setName(e.currentTarget.value)}
        />
        {events.isFetching && !events.isPending ? <Loader size="xs" /> : null}
      </Group>
      {events.isPending ? (
        <Loading />
      ) : events.isError ? (
        isNotFound(events.error) ? (
          <NotAvailable what="The event timeline" />
        ) : (
          <ErrorNotice error={events.error} onRetry={() => void events.refetch()} />
        )
      ) : (
        (() => {
          const rows = events.data.pages.flatMap((p) => p.data)
          if (rows.length === 0)
            return (
              <Empty
                icon="clock"
                title={type || eventName ? 'No events match these filters' : 'No events yet'}
                description={
                  type || eventName
                    ? 'Clear the filters to see every event.'
                    : 'Events sent with this person’s userId or anonymousId appear here, newest first.'
                }
              />
            )
          return (
            <Accordion variant="separated" multiple data-testid="timeline">
              {rows.map((e) => (
                <Accordion.Item key={e.messageId} value={e.messageId} data-testid="timeline-event">
                  <Accordion.Control>
                    <Group justify="space-between" wrap="nowrap" pr="sm">
                      <Group gap="xs" wrap="nowrap">
                        <Badge size="sm" variant="light" color={typeColor(e.type)}>
                          {e.type}
                        </Badge>
                        <Text size="sm" fw={600} truncate>
                          {e.event ??
                            (e.type !== 'identify'
                              ? e.type
                              : e.origin === 'import'
                                ? 'Imported'
                                : 'Identified')}
                        </Text>
                        {e.origin === 'import' ? (
                          <Badge
                            size="sm"
                            variant="outline"
                            color="gray"
                            data-testid="imported-badge"
                          >
                            {e.importedTime === 'row' ? 'imported' : 'imported, time of import'}
                          </Badge>
                        ) : null}
                      </Group>
                      <Text size="xs" c="dimmed" style={{ whiteSpace: 'nowrap' }}>
                        {formatShort(e.timestamp)}
                      </Text>
                    </Group>
                  </Accordion.Control>
                  <Accordion.Panel>
                    <Text size="xs" c="dimmed" mb={6}>
                      messageId <Code>{e.messageId}</Code> · source{' '}
                      <Anchor component={Link} to={`/sources/${e.sourceId}`} size="xs">
                        {e.sourceId}
                      </Anchor>{' '}
                      · received {formatTime(e.receivedAt)}
                    </Text>
                    <JsonView
                      value={{
                        ...(e.properties && Object.keys(e.properties).length
                          ? { properties: e.properties }
                          : {}),
                        ...(e.traits && Object.keys(e.traits).length ? { traits: e.traits } : {}),
                        ...(e.context && Object.keys(e.context).length
                          ? { context: e.context }
                          : {}),
                      }}
                      maxHeight={320}
                    />
                  </Accordion.Panel>
                </Accordion.Item>
              ))}
            </Accordion>
          )
        })()
      )}
      <div ref={sentinel} />
      {events.isFetchingNextPage ? <Loading label="Loading older events…" /> : null}
      {events.data && !events.hasNextPage && events.data.pages[0]?.data.length ? (
        <Text size="xs" c="dimmed" ta="center">
          That is the first event of this profile.
        </Text>
      ) : null}
    </Stack>
  )
}

function typeColor(type: string): string {
  return (
    {
      track: 'indigo',
      identify: 'teal',
      page: 'cyan',
      screen: 'cyan',
      group: 'orange',
      alias: 'grape',
    }[type] ?? 'gray'
  )
}
