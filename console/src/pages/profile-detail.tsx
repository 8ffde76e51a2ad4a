import {
  Accordion,
  Alert,
  Anchor,
  Badge,
  Button,
  Checkbox,
  Code,
  Grid,
  Group,
  Loader,
  Modal,
  Paper,
  Select,
  Stack,
  Table,
  Tabs,
  Text,
  TextInput,
  Title,
  Tooltip,
} from '@mantine/core'
import { useDebouncedValue } from '@mantine/hooks'
import { notifications } from '@mantine/notifications'
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useEffect, useRef, useState, type ReactNode } from 'react'
import { api, errorMessage, isNotFound } from '../api/client.js'
import type {
  Identity,
  IdentityDetail,
  Merge,
  Page,
  ProfileDetail,
  ProfileEvent,
  TraitProvenance,
} from '../api/types.js'
import { ConsentPanel } from '../components/consent-panel.js'
import { IdentityGraph } from '../components/identity-graph.js'
import { JsonView } from '../components/json-view.js'
import { Empty, ErrorNotice, Loading, NotAvailable, QueryView } from '../components/states.js'
import { formatShort, formatTime, formatValue, profileName } from '../lib/format.js'
import { Link, navigate } from '../lib/router.js'

const path = (id: string, rest = '') => `/profiles/${encodeURIComponent(id)}${rest}`

export function ProfileDetailPage({ id }: { id: string }) {
  const profile = useQuery({
    queryKey: ['profile', id],
    queryFn: () => api<ProfileDetail>(path(id)),
  })
  if (profile.isError && isNotFound(profile.error))
    return (
      <Empty
        icon="profiles"
        title="Profile not found"
        description="It may have been deleted, or the link is wrong. Search for the person on the Profiles page."
        action={
          <Button component={Link} to="/profiles">
            Search profiles
          </Button>
        }
      />
    )
  return (
    <QueryView query={profile} what="Profiles">
      {(p) => <Profile360 profile={p} />}
    </QueryView>
  )
}

function Profile360({ profile }: { profile: ProfileDetail }) {
  const id = profile.id
  const identities = useQuery({
    queryKey: ['profile', id, 'identities'],
    queryFn: () => api<Page<IdentityDetail>>(path(id, '/identities')),
  })
  const merges = useQuery({
    queryKey: ['profile', id, 'merges'],
    queryFn: () => api<Page<Merge>>(path(id, '/merges')),
  })
  const [splitting, setSplitting] = useState(false)
  const identityList: Identity[] = identities.data?.data ?? profile.identities
  return (
    <Stack gap="lg" data-testid="profile-360">
      <Group justify="space-between" align="flex-start" wrap="nowrap">
        <Stack gap={4}>
          <Anchor component={Link} to="/profiles" size="sm">
            ← Profiles
          </Anchor>
          <Title order={2} data-testid="profile-name">
            {profileName(profile)}
          </Title>
          <Text size="sm" c="dimmed">
            <Code>{profile.id}</Code> · first seen {formatTime(profile.createdAt)} · updated{' '}
            {formatTime(profile.updatedAt)}
          </Text>
          <Group gap={4} mt={4}>
            {profile.identities.map((i) => (
              <Badge key={`${i.type}:${i.value}`} variant="light" tt="none">
                {i.type}: {i.value}
              </Badge>
            ))}
          </Group>
        </Stack>
        <Tooltip label="Move some identifiers (and their events) to a new, separate profile">
          <Button
            variant="default"
            onClick={() => setSplitting(true)}
            disabled={identityList.length < 2}
          >
            Split profile…
          </Button>
        </Tooltip>
      </Group>
      {profile.mergedInto ? (
        <Alert color="grape" title="This profile was merged">
          It now lives in{' '}
          <Anchor component={Link} to={path(profile.mergedInto)}>
            {profile.mergedInto}
          </Anchor>
          . New events land there.
        </Alert>
      ) : null}
      <Grid gap="lg">
        <Grid.Col span={{ base: 12, lg: 5 }}>
          <Stack gap="lg">
            <Section title="Traits" hint="Golden record, with where each value came from">
              <TraitsCard profile={profile} />
            </Section>
            <Section title="Computed traits">
              <ComputedTraits profile={profile} />
            </Section>
            <Section title="Segments">
              <Segments profile={profile} />
            </Section>
            <Section title="Consent">
              <ConsentPanel profileId={profile.id} />
            </Section>
          </Stack>
        </Grid.Col>
        <Grid.Col span={{ base: 12, lg: 7 }}>
          <Paper withBorder p="md">
            <Tabs defaultValue="timeline" keepMounted={false}>
              <Tabs.List mb="md">
                <Tabs.Tab value="timeline">Event timeline</Tabs.Tab>
                <Tabs.Tab value="graph" data-testid="tab-graph">
                  Identity graph
                </Tabs.Tab>
                <Tabs.Tab value="identities">Identities</Tabs.Tab>
                <Tabs.Tab value="merges">Merge history</Tabs.Tab>
              </Tabs.List>
              <Tabs.Panel value="timeline">
                <Timeline profileId={id} />
              </Tabs.Panel>
              <Tabs.Panel value="graph">
                {merges.isPending || identities.isPending ? (
                  <Loading />
                ) : (
                  <Stack gap="xs">
                    <IdentityGraph
                      profileId={id}
                      identities={identityList}
                      merges={merges.data?.data ?? []}
                    />
                    <Text size="xs" c="dimmed">
                      Grey lines link identifiers to this profile; purple arrows are merges between
                      profiles (click a merged profile to open it). Drag to move, scroll to zoom.
                    </Text>
                  </Stack>
                )}
              </Tabs.Panel>
              <Tabs.Panel value="identities">
                <Identities query={identities} fallback={profile.identities} />
              </Tabs.Panel>
              <Tabs.Panel value="merges">
                <Merges query={merges} profileId={id} />
              </Tabs.Panel>
            </Tabs>
          </Paper>
        </Grid.Col>
      </Grid>
      <SplitModal
        opened={splitting}
        onClose={() => setSplitting(false)}
        profileId={id}
        identities={identityList}
      />
    </Stack>
  )
}

function Section({ title, hint, children }: { title: string; hint?: string; children: ReactNode }) {
  return (
    <Paper withBorder p="md">
      <Group justify="space-between" mb="xs">
        <Title order={4}>{title}</Title>
        {hint ? (
          <Text size="xs" c="dimmed">
            {hint}
          </Text>
        ) : null}
      </Group>
      {children}
    </Paper>
  )
}

function TraitsCard({ profile }: { profile: ProfileDetail }) {
  const traits = useQuery({
    queryKey: ['profile', profile.id, 'traits'],
    queryFn: () => api<Page<TraitProvenance>>(path(profile.id, '/traits')),
  })
  const rows: TraitProvenance[] =
    traits.data?.data ??
    Object.entries(profile.traits ?? {}).map(([key, value]) => ({ key, value }))
  if (traits.isPending) return <Loading />
  if (rows.length === 0)
    return (
      <Text size="sm" c="dimmed">
        No traits yet. Send an identify call with traits (email, name, plan…) to fill the golden
        record.
      </Text>
    )
  return (
    <Table verticalSpacing={6} data-testid="traits-table">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Trait</Table.Th>
          <Table.Th>Value</Table.Th>
          <Table.Th>From</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {rows.map((t) => {
          const sourceId = t.sourceId ?? t.provenance?.sourceId
          const at = t.at ?? t.provenance?.at
          const others = t.history?.length
            ? t.history.map((h) => `${formatValue(h.value)} — ${formatShort(h.at)}`)
            : (t.conflicts ?? []).map(
                (c) =>
                  `${formatValue(c.value)} — seen ${c.count ?? 1}×, last ${formatShort(c.last?.at)}`,
              )
          return (
            <Table.Tr key={t.key}>
              <Table.Td>
                <Text size="sm" fw={500}>
                  {t.key}
                </Text>
                {t.strategy ? (
                  <Text size="xs" c="dimmed">
                    {t.strategy.replace(/_/g, ' ')}
                  </Text>
                ) : null}
              </Table.Td>
              <Table.Td style={{ wordBreak: 'break-word' }}>
                <Text size="sm">{formatValue(t.value)}</Text>
                {others.length ? (
                  <Tooltip
                    multiline
                    w={300}
                    label={others.join('\n')}
                    style={{ whiteSpace: 'pre-line' }}
                  >
                    <Text size="xs" c="dimmed" style={{ cursor: 'help' }} tabIndex={0}>
                      {t.history?.length
                        ? `${others.length} values over time`
                        : `${others.length} other value${others.length > 1 ? 's' : ''} seen`}
                    </Text>
                  </Tooltip>
                ) : null}
              </Table.Td>
              <Table.Td>
                {sourceId || at ? (
                  <Text size="xs" c="dimmed">
                    {sourceId ? (
                      <Anchor component={Link} to={`/sources/${sourceId}`} size="xs">
                        {sourceId}
                      </Anchor>
                    ) : null}
                    <br />
                    {formatShort(at)}
                  </Text>
                ) : (
                  <Text size="xs" c="dimmed">
                    —
                  </Text>
                )}
              </Table.Td>
            </Table.Tr>
          )
        })}
      </Table.Tbody>
    </Table>
  )
}

function ComputedTraits({ profile }: { profile: ProfileDetail }) {
  const list = profile.computedTraits ?? []
  if (list.length === 0)
    return (
      <Text size="sm" c="dimmed">
        None yet. Define computed traits (order count, lifetime value…) on the{' '}
        <Anchor component={Link} to="/computed-traits" size="sm">
          Computed traits
        </Anchor>{' '}
        page.
      </Text>
    )
  return (
    <Table verticalSpacing={6}>
      <Table.Tbody>
        {list.map((c) => (
          <Table.Tr key={c.id}>
            <Table.Td>
              <Tooltip
                label={<Code block>{JSON.stringify(c.definition, null, 2)}</Code>}
                disabled={!c.definition}
              >
                <Text size="sm" fw={500} style={{ cursor: c.definition ? 'help' : undefined }}>
                  {c.name ?? c.id}
                </Text>
              </Tooltip>
            </Table.Td>
            <Table.Td>
              <Text size="sm">{formatValue(c.value)}</Text>
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  )
}

function Segments({ profile }: { profile: ProfileDetail }) {
  const list = profile.segments ?? []
  if (list.length === 0)
    return (
      <Text size="sm" c="dimmed">
        Not in any segment. Build audiences on the{' '}
        <Anchor component={Link} to="/segments" size="sm">
          Segments
        </Anchor>{' '}
        page.
      </Text>
    )
  return (
    <Table verticalSpacing={6}>
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Segment</Table.Th>
          <Table.Th>Entered</Table.Th>
          <Table.Th>Exited</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {list.map((s) => (
          <Table.Tr key={`${s.id}:${s.enteredAt}`}>
            <Table.Td>
              <Anchor component={Link} to={`/segments/${s.id}`} size="sm">
                {s.name ?? s.id}
              </Anchor>{' '}
              {s.exitedAt ? null : (
                <Badge size="xs" color="teal" variant="light">
                  member
                </Badge>
              )}
            </Table.Td>
            <Table.Td>
              <Text size="xs">{formatShort(s.enteredAt)}</Text>
            </Table.Td>
            <Table.Td>
              <Text size="xs">{formatShort(s.exitedAt)}</Text>
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  )
}

const eventTypes = ['track', 'identify', 'page', 'screen', 'group', 'alias']

function Timeline({ profileId }: { profileId: string }) {
  const [type, setType] = useState<string | null>(null)
  const [name, setName] = useState('')
  const [eventName] = useDebouncedValue(name.trim(), 300)
  const events = useInfiniteQuery({
    queryKey: ['profile', profileId, 'events', type, eventName],
    queryFn: ({ pageParam }) =>
      api<Page<ProfileEvent>>(path(profileId, '/events'), {
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
                          {e.event ?? (e.type === 'identify' ? 'Identified' : e.type)}
                        </Text>
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

function Identities({
  query,
  fallback,
}: {
  query: ReturnType<typeof useQuery<Page<IdentityDetail>>>
  fallback: Identity[]
}) {
  if (query.isPending) return <Loading />
  const rows: IdentityDetail[] = query.data?.data ?? fallback
  if (query.isError && !isNotFound(query.error)) return <ErrorNotice error={query.error} />
  return (
    <Table verticalSpacing={6} data-testid="identities-table">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Type</Table.Th>
          <Table.Th>Value</Table.Th>
          <Table.Th>First seen</Table.Th>
          <Table.Th>Last seen</Table.Th>
          <Table.Th>Source</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {rows.map((i) => (
          <Table.Tr key={`${i.type}:${i.value}`}>
            <Table.Td>
              <Badge variant="light" color="gray" tt="none">
                {i.type}
              </Badge>
            </Table.Td>
            <Table.Td style={{ wordBreak: 'break-all' }}>{i.value}</Table.Td>
            <Table.Td>
              <Text size="xs">{formatShort(i.firstSeenAt)}</Text>
            </Table.Td>
            <Table.Td>
              <Text size="xs">{formatShort(i.lastSeenAt)}</Text>
            </Table.Td>
            <Table.Td>
              <Text size="xs">{i.sourceId ?? '—'}</Text>
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  )
}

function Merges({
  query,
  profileId,
}: {
  query: ReturnType<typeof useQuery<Page<Merge>>>
  profileId: string
}) {
  if (query.isPending) return <Loading />
  if (query.isError)
    return isNotFound(query.error) ? (
      <NotAvailable what="Merge history" />
    ) : (
      <ErrorNotice error={query.error} />
    )
  const rows = query.data.data
  if (rows.length === 0)
    return (
      <Empty
        icon="link"
        title="No merges"
        description="When an event ties two identifiers of different profiles together (say, an anonymous visitor logs in), the merge is recorded here."
      />
    )
  return (
    <Table verticalSpacing={6} data-testid="merges-table">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>When</Table.Th>
          <Table.Th>Merged</Table.Th>
          <Table.Th>Why</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {rows.map((m) => (
          <Table.Tr key={m.id}>
            <Table.Td>
              <Text size="xs">{formatShort(m.at)}</Text>
            </Table.Td>
            <Table.Td>
              <Text size="xs">
                <ProfileRef id={m.fromProfileId} current={profileId} /> →{' '}
                <ProfileRef id={m.intoProfileId} current={profileId} />
              </Text>
            </Table.Td>
            <Table.Td>
              <Text size="xs">
                {[m.rule, m.reason].filter(Boolean).join(': ') || '—'}
                {m.identifiers?.length
                  ? ` (${m.identifiers.map((i) => `${i.type}: ${i.value}`).join(', ')})`
                  : ''}
              </Text>
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  )
}

function ProfileRef({ id, current }: { id: string; current: string }) {
  if (id === current) return <b>this profile</b>
  return (
    <Anchor component={Link} to={path(id)} size="xs">
      {id}
    </Anchor>
  )
}

function SplitModal({
  opened,
  onClose,
  profileId,
  identities,
}: {
  opened: boolean
  onClose: () => void
  profileId: string
  identities: Identity[]
}) {
  const queryClient = useQueryClient()
  const [chosen, setChosen] = useState<string[]>([])
  const split = useMutation({
    mutationFn: () =>
      api<{ profileId: string; newProfileId: string }>(path(profileId, '/split'), {
        method: 'POST',
        body: {
          identifiers: identities.filter((i) => chosen.includes(`${i.type}\u0000${i.value}`)),
        },
      }),
    onSuccess: (result) => {
      void queryClient.invalidateQueries({ queryKey: ['profile'] })
      void queryClient.invalidateQueries({ queryKey: ['profiles'] })
      setChosen([])
      onClose()
      notifications.show({
        color: 'teal',
        title: 'Profile split',
        message: `The chosen identifiers now belong to a new profile, ${result.newProfileId}.`,
      })
      navigate(path(result.newProfileId))
    },
  })
  return (
    <Modal opened={opened} onClose={onClose} title="Split this profile" size="lg">
      <Stack>
        <Text size="sm">
          Pick the identifiers that belong to someone else. They move, with their events, to a new
          profile; the rest stays here. Use this when two people were merged by mistake.
        </Text>
        <Checkbox.Group value={chosen} onChange={setChosen}>
          <Stack gap="xs">
            {identities.map((i) => (
              <Checkbox
                key={`${i.type}:${i.value}`}
                value={`${i.type}\u0000${i.value}`}
                label={`${i.type}: ${i.value}`}
              />
            ))}
          </Stack>
        </Checkbox.Group>
        {split.isError ? (
          <Alert color="red" role="alert">
            {errorMessage(split.error)}
          </Alert>
        ) : null}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Cancel
          </Button>
          <Button
            color="orange"
            disabled={chosen.length === 0 || chosen.length === identities.length}
            loading={split.isPending}
            onClick={() => split.mutate()}
          >
            Split {chosen.length || ''} identifier{chosen.length === 1 ? '' : 's'} off
          </Button>
        </Group>
      </Stack>
    </Modal>
  )
}
