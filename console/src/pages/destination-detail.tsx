import {
  Alert,
  Anchor,
  Badge,
  Box,
  Button,
  Code,
  Group,
  Modal,
  NumberInput,
  Paper,
  SegmentedControl,
  Select,
  Stack,
  Switch,
  Tabs,
  Text,
  Title,
  Tooltip,
} from '@mantine/core'
import { notifications } from '@mantine/notifications'
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { api, errorMessage } from '../api/client.js'
import type {
  CatalogEntry,
  Delivery,
  Destination,
  DestinationActions,
  DestinationUpdate,
  Page,
} from '../api/types.js'
import { ConfirmModal } from '../components/confirm-modal.js'
import { ActionsEditor, supportedActions } from '../components/destination-actions.js'
import { HealthBadge, healthOf } from '../components/health-badge.js'
import { SchemaForm } from '../components/schema-form.js'
import { ResourceTable } from '../components/resource-table.js'
import { Empty, QueryView } from '../components/states.js'
import { formatTime } from '../lib/format.js'
import { missingRequired } from '../lib/json-schema.js'
import { Link, navigate } from '../lib/router.js'

const dpath = (id: string, rest = '') => `/destinations/${encodeURIComponent(id)}${rest}`

export function DestinationDetailPage({ id }: { id: string }) {
  const destination = useQuery({
    queryKey: ['destinations', id],
    queryFn: () => api<Destination>(dpath(id)),
    refetchInterval: 10_000,
  })
  return (
    <QueryView query={destination} what="Destinations">
      {(d) => <DestinationView destination={d} />}
    </QueryView>
  )
}

function DestinationView({ destination }: { destination: Destination }) {
  const queryClient = useQueryClient()
  const catalog = useQuery({
    queryKey: ['destinations', 'catalog'],
    queryFn: () => api<Page<CatalogEntry>>('/destinations/catalog'),
  })
  const entry = catalog.data?.data.find((c) => c.id === destination.type)
  const [deleting, setDeleting] = useState(false)
  const update = useMutation({
    // Send only what changed: secrets come back redacted and must not be written back.
    mutationFn: (patch: DestinationUpdate) =>
      api<Destination>(dpath(destination.id), { method: 'PUT', body: patch }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ['destinations'] })
      notifications.show({ color: 'teal', message: 'Destination saved.' })
    },
    onError: (error) =>
      notifications.show({ color: 'red', title: 'Could not save', message: errorMessage(error) }),
  })
  const remove = useMutation({
    mutationFn: () => api(dpath(destination.id), { method: 'DELETE' }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ['destinations'] })
      navigate('/destinations')
    },
  })
  return (
    <Stack gap="lg">
      <Group justify="space-between" align="flex-start">
        <Stack gap={4}>
          <Anchor component={Link} to="/destinations" size="sm">
            ← Destinations
          </Anchor>
          <Group gap="sm">
            <Title order={2}>{destination.name}</Title>
            <HealthBadge destination={destination} />
          </Group>
          <Text size="sm" c="dimmed">
            {entry ? `${entry.name} · ${entry.category}` : destination.type} · id{' '}
            <Code>{destination.id}</Code>
          </Text>
        </Stack>
        <Group gap="sm">
          <Switch
            label="Enabled"
            checked={destination.enabled}
            onChange={(e) => update.mutate({ enabled: e.currentTarget.checked })}
          />
          <Button variant="light" color="red" onClick={() => setDeleting(true)}>
            Delete
          </Button>
        </Group>
      </Group>
      {destination.status === 'degraded' ? (
        <Alert color="orange" title="Degraded: deliveries are failing">
          {healthOf(destination).message ?? 'Recent deliveries failed.'} Check the errors in the
          log, fix the settings, then replay the failed deliveries.
        </Alert>
      ) : null}
      <Paper withBorder p="md">
        <Tabs defaultValue="deliveries" keepMounted={false}>
          <Tabs.List mb="md">
            <Tabs.Tab value="deliveries">Delivery log</Tabs.Tab>
            <Tabs.Tab value="settings">Settings</Tabs.Tab>
            <Tabs.Tab value="actions">Actions &amp; mapping</Tabs.Tab>
          </Tabs.List>
          <Tabs.Panel value="deliveries">
            <Deliveries destinationId={destination.id} />
          </Tabs.Panel>
          <Tabs.Panel value="settings">
            <SettingsForm
              destination={destination}
              entry={entry}
              saving={update.isPending}
              onSave={(settings) => update.mutate({ settings })}
            />
            <RetryForm
              destination={destination}
              saving={update.isPending}
              onSave={(retryHours) => update.mutate({ retryHours })}
            />
            <PurposeForm
              destination={destination}
              saving={update.isPending}
              onSave={(purpose) => update.mutate({ purpose })}
            />
          </Tabs.Panel>
          <Tabs.Panel value="actions">
            <ActionsForm
              destination={destination}
              supported={supportedActions(entry?.actions)}
              saving={update.isPending}
              onSave={(actions) => update.mutate({ actions })}
            />
          </Tabs.Panel>
        </Tabs>
      </Paper>
      <ConfirmModal
        opened={deleting}
        onClose={() => setDeleting(false)}
        title="Delete this destination?"
        subject={<>The destination “{destination.name}” and its delivery log</>}
        confirmLabel="Delete destination"
        onConfirm={() => remove.mutate()}
        pending={remove.isPending}
        error={remove.error}
        testId="delete-destination"
      >
        Nothing more is sent to it, and its delivery log is deleted too.
      </ConfirmModal>
    </Stack>
  )
}

function statusColor(status: string): string {
  if (['success', 'succeeded', 'delivered', 'ok'].includes(status)) return 'teal'
  if (['failed', 'error', 'dead', 'dead_letter'].includes(status)) return 'red'
  if (['retry', 'retrying', 'pending', 'queued'].includes(status)) return 'yellow'
  if (status === 'partial') return 'orange'
  return 'gray'
}

type StatusFilter = 'all' | 'success' | 'retry' | 'failed'

function Deliveries({ destinationId }: { destinationId: string }) {
  const queryClient = useQueryClient()
  const [filter, setFilter] = useState<StatusFilter>('all')
  // Jobs by state: what gave up (dead letters) is what a replay sends again.
  const jobs = useQuery({
    queryKey: ['destinations', destinationId, 'deliveries', 'jobs'],
    queryFn: () => api<{ jobs: Record<string, number> }>(dpath(destinationId)),
    refetchInterval: 3_000,
  })
  const dead = jobs.data?.jobs.dead ?? 0
  const [shown, setShown] = useState<Delivery | null>(null)
  const deliveries = useInfiniteQuery({
    queryKey: ['destinations', destinationId, 'deliveries', filter],
    queryFn: ({ pageParam }) =>
      api<Page<Delivery>>(dpath(destinationId, '/deliveries'), {
        query: { cursor: pageParam, status: filter === 'all' ? undefined : filter },
      }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    refetchInterval: 3_000,
  })
  const replay = useMutation({
    mutationFn: (body: { ids?: string[] }) =>
      api<{ replayed?: number }>(dpath(destinationId, '/replay'), { method: 'POST', body }),
    onSuccess: (result) => {
      const n = result?.replayed
      notifications.show({
        color: n === 0 ? 'gray' : 'teal',
        message:
          n === 0
            ? 'Nothing to replay: only deliveries that gave up (dead letters) can be replayed; retries still in progress run by themselves.'
            : `Replay queued${n !== undefined ? ` for ${n} deliver${n === 1 ? 'y' : 'ies'}` : ''}: new attempts will appear in the log.`,
      })
      void queryClient.invalidateQueries({
        queryKey: ['destinations', destinationId, 'deliveries'],
      })
    },
    onError: (error) =>
      notifications.show({ color: 'red', title: 'Replay failed', message: errorMessage(error) }),
  })
  return (
    <QueryView query={deliveries} what="The delivery log">
      {(data) => {
        const rows = data.pages.flatMap((p) => p.data)
        return (
          <Stack gap="sm">
            <Group justify="space-between">
              <Group gap="sm">
                <SegmentedControl
                  size="xs"
                  value={filter}
                  onChange={(v) => setFilter(v as StatusFilter)}
                  data={[
                    { value: 'all', label: 'All' },
                    { value: 'success', label: 'Delivered' },
                    { value: 'retry', label: 'Retried' },
                    { value: 'failed', label: 'Failed' },
                  ]}
                  data-testid="deliveries-filter"
                />
                <Text size="sm" c="dimmed" data-testid="dead-letter-count">
                  Newest first · refreshes every few seconds
                  {dead ? ` · ${dead} dead letter${dead === 1 ? '' : 's'}` : ''}
                </Text>
              </Group>
              <Button
                size="xs"
                variant="light"
                disabled={dead === 0}
                loading={replay.isPending}
                onClick={() => replay.mutate({})}
                data-testid="replay-dead"
              >
                Replay dead letters
              </Button>
            </Group>
            <ResourceTable
              dense
              rows={rows}
              rowKey={(d) => d.id}
              testId="deliveries-table"
              rowTestId="delivery-row"
              more={deliveries}
              moreLabel="Load older deliveries"
              empty={
                <Empty
                  icon="inbox"
                  title="No deliveries yet"
                  description="Deliveries appear here when events, profile changes or segment changes reach this destination. Send an event to a source to try it."
                />
              }
              columns={[
                { title: 'When', render: (d) => <Text size="xs">{formatTime(d.at)}</Text> },
                {
                  title: 'Status',
                  render: (d) => (
                    <>
                      {d.deadJobIds.length ? (
                        <Tooltip label="Retries gave up: replay sends it again">
                          <Badge size="sm" variant="filled" color="red" data-testid="dead-letter">
                            dead letter
                          </Badge>
                        </Tooltip>
                      ) : (
                        <Badge size="sm" variant="light" color={statusColor(d.status)}>
                          {d.status}
                        </Badge>
                      )}
                      {d.attempt > 1 ? (
                        <Text size="xs" c="dimmed">
                          attempt {d.attempt}
                        </Text>
                      ) : null}
                    </>
                  ),
                },
                {
                  title: 'Carried',
                  render: (d) => <Carried delivery={d} onPayload={() => setShown(d)} />,
                },
                {
                  title: 'Request',
                  render: (d) => (
                    <Text size="xs" ff="monospace" truncate maw={320}>
                      {d.request.method} {d.request.url}
                    </Text>
                  ),
                },
                {
                  title: 'Response',
                  render: (d) => (
                    <Box maw={300}>
                      <Text size="xs">
                        {d.responseStatus ? <Code>{d.responseStatus}</Code> : null}{' '}
                        {d.responseExcerpt ?? ''}
                      </Text>
                      {d.error ? (
                        <Text size="xs" c="red">
                          {d.error}
                        </Text>
                      ) : null}
                    </Box>
                  ),
                },
                {
                  title: 'Latency',
                  align: 'right',
                  render: (d) => (
                    <Text size="xs">
                      {d.latencyMs !== null ? `${Math.round(d.latencyMs)} ms` : '—'}
                    </Text>
                  ),
                },
                {
                  align: 'right',
                  render: (d) =>
                    d.deadJobIds.length ? (
                      <Tooltip label="Send these items again">
                        <Button
                          size="compact-xs"
                          variant="subtle"
                          onClick={() => replay.mutate({ ids: d.deadJobIds })}
                        >
                          Replay
                        </Button>
                      </Tooltip>
                    ) : null,
                },
              ]}
            />
            <Modal
              opened={shown !== null}
              onClose={() => setShown(null)}
              title="What this delivery sent"
              size="xl"
            >
              {shown?.payload ? (
                <Code block data-testid="delivery-payload">
                  {prettyPayload(shown.payload)}
                </Code>
              ) : (
                <Text size="sm" c="dimmed">
                  No request body was logged for this delivery (or your role does not show it).
                </Text>
              )}
            </Modal>
          </Stack>
        )
      }}
    </QueryView>
  )
}

/** A logged body as indented JSON when it is JSON (it may be cut at 2,000 characters). */
function prettyPayload(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2)
  } catch {
    return body
  }
}

/** Who and what one delivery carried: kind and action, the profile (linked), how many more. */
function Carried({ delivery, onPayload }: { delivery: Delivery; onPayload: () => void }) {
  const first = delivery.jobs[0]
  const more = delivery.jobIds.length - 1
  return (
    <Group gap={4} wrap="nowrap">
      {first ? (
        <Text size="xs">
          {first.kind}
          {first.action ? ` ${first.action}` : ''}
          {first.profileId ? (
            <>
              {' · '}
              <Anchor
                component={Link}
                to={`/profiles/${encodeURIComponent(first.profileId)}`}
                size="xs"
              >
                profile
              </Anchor>
            </>
          ) : null}
          {more > 0 ? ` +${more} more` : ''}
        </Text>
      ) : (
        <Text size="xs" c="dimmed">
          {delivery.jobIds.length} item{delivery.jobIds.length === 1 ? '' : 's'}
        </Text>
      )}
      {delivery.payload ? (
        <Button size="compact-xs" variant="subtle" onClick={onPayload} data-testid="show-payload">
          Payload
        </Button>
      ) : null}
    </Group>
  )
}

function SettingsForm({
  destination,
  entry,
  saving,
  onSave,
}: {
  destination: Destination
  entry: CatalogEntry | undefined
  saving: boolean
  onSave: (settings: Record<string, unknown>) => void
}) {
  const [settings, setSettings] = useState<Record<string, unknown>>(destination.settings)
  if (!entry?.settingsSchema)
    return (
      <Text size="sm" c="dimmed">
        This destination type publishes no settings schema.
      </Text>
    )
  const missing = missingRequired(entry.settingsSchema, settings)
  return (
    <Stack maw={640}>
      <SchemaForm
        schema={entry.settingsSchema}
        value={settings}
        onChange={setSettings}
        secretFields={entry.secretFields}
      />
      {entry.secretFields?.length ? (
        <Text size="xs" c="dimmed">
          Secret fields are never shown again once saved; leave them as they are to keep the stored
          value.
        </Text>
      ) : null}
      <Group>
        <Button loading={saving} disabled={missing.length > 0} onClick={() => onSave(settings)}>
          Save settings
        </Button>
        {missing.length ? (
          <Text size="xs" c="dimmed">
            Still needed: {missing.join(', ')}
          </Text>
        ) : null}
      </Group>
    </Stack>
  )
}

/** The consent purpose this instance's deliveries need (its type's unless chosen here). */
function PurposeForm({
  destination,
  saving,
  onSave,
}: {
  destination: Destination
  saving: boolean
  onSave: (purpose: string | null) => void
}) {
  const consent = useQuery({
    queryKey: ['setting', 'consent'],
    queryFn: () => api<{ purposes: string[] }>('/consent/settings'),
  })
  const [purpose, setPurpose] = useState<string>(destination.purposeOverride ?? '')
  return (
    <Group align="flex-end" mt="md" maw={640}>
      <Select
        label="Consent purpose"
        description={`Deliveries go only to people who allow it. Empty: the type's (${destination.purpose ?? 'none'}).`}
        data={[
          { value: '', label: 'As the destination type' },
          ...(consent.data?.purposes ?? []).map((p) => ({ value: p, label: p })),
        ]}
        value={purpose}
        onChange={(v) => setPurpose(v ?? '')}
        allowDeselect={false}
        w={320}
        data-testid="destination-purpose"
      />
      <Button
        variant="default"
        loading={saving}
        onClick={() => onSave(purpose === '' ? null : purpose)}
        data-testid="save-purpose"
      >
        Save
      </Button>
    </Group>
  )
}

/** How long failing deliveries are retried before they become dead letters. */
function RetryForm({
  destination,
  saving,
  onSave,
}: {
  destination: Destination
  saving: boolean
  onSave: (retryHours: number | null) => void
}) {
  const [hours, setHours] = useState<number | string>(destination.retryHours ?? '')
  return (
    <Group align="flex-end" mt="xl" maw={640}>
      <NumberInput
        label="Retry failing deliveries for (hours)"
        description="After this, a delivery is a dead letter until you replay it. Empty: 24 hours."
        min={0.1}
        max={168}
        decimalScale={2}
        value={hours}
        onChange={setHours}
        w={320}
        data-testid="retry-hours"
      />
      <Button
        variant="default"
        loading={saving}
        onClick={() => onSave(hours === '' ? null : Number(hours))}
        data-testid="save-retry-hours"
      >
        Save
      </Button>
    </Group>
  )
}

/** The destination's actions, edited locally and saved with one PUT. */
function ActionsForm({
  destination,
  supported,
  saving,
  onSave,
}: {
  destination: Destination
  supported: string[]
  saving: boolean
  onSave: (actions: DestinationActions) => void
}) {
  const [actions, setActions] = useState<DestinationActions>(destination.actions)
  return (
    <Stack maw={760}>
      <ActionsEditor value={actions} onChange={setActions} supported={supported} />
      {Object.keys(actions).length === 0 ? (
        <Text size="xs" c="orange">
          No action is on: nothing is sent to this destination.
        </Text>
      ) : null}
      <Group>
        <Button loading={saving} onClick={() => onSave(actions)}>
          Save actions
        </Button>
      </Group>
    </Stack>
  )
}
