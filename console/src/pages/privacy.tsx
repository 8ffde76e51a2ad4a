/**
 * Privacy: access, deletion and suppression requests (status and per-step / per-destination
 * receipts), a form to file one, the access export download, and the suppression list.
 */
import {
  Alert,
  Badge,
  Button,
  Card,
  Code,
  Group,
  Select,
  SimpleGrid,
  Stack,
  Table,
  Tabs,
  Text,
  TextInput,
  Title,
} from '@mantine/core'
import { notifications } from '@mantine/notifications'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { api, downloadFile, errorMessage } from '../api/client.js'
import { ConfirmModal } from '../components/confirm-modal.js'
import { PageHeader } from '../components/page-header.js'
import { ResourceTable } from '../components/resource-table.js'
import { Empty, QueryView } from '../components/states.js'
import { formatTime } from '../lib/format.js'

interface PrivacyRequest {
  id: string
  type: 'access' | 'deletion' | 'suppression'
  status: 'pending' | 'running' | 'completed' | 'failed'
  identifier: { type: string; masked: string }
  steps: { step: string; status: string; at: string; details: Record<string, unknown> }[]
  destinations: {
    destinationId: string
    name: string
    type: string
    status: string
    error: string | null
  }[]
  error: string | null
  exportAvailable: boolean
  createdAt: string
  finishedAt: string | null
}

interface Suppression {
  id: string
  identifier: { type: string; masked: string }
  reason: 'suppression' | 'deletion'
  droppedCount: number
  lastDroppedAt: string | null
  createdAt: string
  expiresAt: string | null
}

const statusColor: Record<string, string> = {
  pending: 'gray',
  running: 'blue',
  completed: 'green',
  failed: 'red',
  succeeded: 'green',
  skipped: 'gray',
  unsupported: 'gray',
}

const identifierTypes = [
  { value: 'email', label: 'Email' },
  { value: 'user_id', label: 'User ID' },
  { value: 'phone', label: 'Phone' },
  { value: 'anonymous_id', label: 'Anonymous ID' },
  { value: 'profile_id', label: 'Profile ID' },
]

export function PrivacyPage() {
  const [tab, setTab] = useState<string | null>('requests')
  return (
    <>
      <PageHeader
        title="Privacy"
        description="Access, deletion and suppression requests (GDPR / CCPA), with a receipt for every step and destination."
      />
      <Tabs value={tab} onChange={setTab}>
        <Tabs.List mb="md">
          <Tabs.Tab value="requests">Requests</Tabs.Tab>
          <Tabs.Tab value="suppressions">Suppressions</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="requests">
          <Stack>
            <NewRequestForm />
            <RequestList />
          </Stack>
        </Tabs.Panel>
        <Tabs.Panel value="suppressions">
          <SuppressionList />
        </Tabs.Panel>
      </Tabs>
    </>
  )
}

function NewRequestForm() {
  const queryClient = useQueryClient()
  const [type, setType] = useState<string>('access')
  const [idType, setIdType] = useState<string>('email')
  const [value, setValue] = useState('')
  // A deletion erases a person everywhere: it is filed only after the identifier is typed again.
  const [confirming, setConfirming] = useState(false)
  const create = useMutation({
    mutationFn: () =>
      api<PrivacyRequest>('/privacy/requests', {
        method: 'POST',
        body:
          idType === 'profile_id'
            ? { type, profileId: value.trim() }
            : { type, identifier: { type: idType, value } },
      }),
    onSuccess: (r) => {
      setConfirming(false)
      setValue('')
      notifications.show({ message: `${r.type} request ${r.id} filed`, color: 'green' })
      void queryClient.invalidateQueries({ queryKey: ['privacy'] })
    },
  })
  return (
    <Card withBorder padding="md">
      <Title order={4} mb="sm">
        New request
      </Title>
      <form
        onSubmit={(e) => {
          e.preventDefault()
          if (type === 'deletion') {
            create.reset()
            setConfirming(true)
          } else create.mutate()
        }}
      >
        <Group align="flex-end" wrap="wrap">
          <Select
            label="Request"
            data-testid="request-type"
            data={[
              { value: 'access', label: 'Access (export)' },
              { value: 'deletion', label: 'Deletion' },
              { value: 'suppression', label: 'Suppression' },
            ]}
            value={type}
            onChange={(v) => setType(v ?? 'access')}
            allowDeselect={false}
            w={180}
          />
          <Select
            label="Identifier type"
            data-testid="request-identifier-type"
            data={identifierTypes}
            value={idType}
            onChange={(v) => setIdType(v ?? 'email')}
            allowDeselect={false}
            w={170}
          />
          <TextInput
            label="Identifier"
            data-testid="request-identifier"
            placeholder="ada@example.com"
            value={value}
            onChange={(e) => setValue(e.currentTarget.value)}
            required
            style={{ flex: 1, minWidth: 220 }}
          />
          <Button
            type="submit"
            loading={create.isPending}
            color={type === 'deletion' ? 'red' : undefined}
          >
            File request
          </Button>
        </Group>
      </form>
      {create.isError && !confirming ? (
        <Alert color="red" mt="sm" title="The request was not filed">
          {errorMessage(create.error)}
        </Alert>
      ) : null}
      <ConfirmModal
        opened={confirming}
        onClose={() => setConfirming(false)}
        title="Delete this person?"
        subject={
          <>
            Everything Kindred holds about the person with{' '}
            {identifierTypes.find((t) => t.value === idType)?.label ?? idType}{' '}
            <Code>{value.trim()}</Code>
          </>
        }
        confirmLabel="Delete person"
        typed={value.trim()}
        onConfirm={() => create.mutate()}
        pending={create.isPending}
        error={create.error}
        testId="confirm-deletion"
      >
        Their profile and every profile merged into it, identifiers, events, traits, segment
        memberships, consent and access exports are erased, and destinations that support it are
        asked to delete them too. Events still arriving with their identifiers are dropped for a
        while (a deletion tombstone, kept as a keyed hash).
      </ConfirmModal>
    </Card>
  )
}

function RequestList() {
  const [status, setStatus] = useState<string | null>(null)
  const list = useQuery({
    queryKey: ['privacy', 'requests', status],
    queryFn: () =>
      api<{ items: PrivacyRequest[]; nextCursor: string | null }>('/privacy/requests', {
        query: { status, limit: 100 },
      }),
    // Requests run in the background: follow them while any is unfinished.
    refetchInterval: (q) =>
      q.state.data?.items.some((r) => r.status === 'pending' || r.status === 'running')
        ? 1000
        : false,
  })
  return (
    <Stack gap="sm">
      <Group justify="space-between">
        <Title order={4}>Requests</Title>
        <Select
          aria-label="Filter by status"
          placeholder="Any status"
          data={['pending', 'running', 'completed', 'failed']}
          value={status}
          onChange={setStatus}
          clearable
          w={180}
        />
      </Group>
      <QueryView query={list} what="Privacy requests">
        {(page) =>
          page.items.length === 0 ? (
            <Empty
              icon="profiles"
              title="No privacy requests"
              description="File an access, deletion or suppression request above; it runs in the background."
            />
          ) : (
            <SimpleGrid cols={1} spacing="sm">
              {page.items.map((r) => (
                <RequestCard key={r.id} r={r} />
              ))}
            </SimpleGrid>
          )
        }
      </QueryView>
    </Stack>
  )
}

function RequestCard({ r }: { r: PrivacyRequest }) {
  const [downloading, setDownloading] = useState(false)
  async function download() {
    setDownloading(true)
    try {
      await downloadFile(
        `/privacy/requests/${encodeURIComponent(r.id)}/export`,
        `kindred-access-${r.id}.json`,
      )
    } catch (err) {
      notifications.show({ message: errorMessage(err), color: 'red' })
    } finally {
      setDownloading(false)
    }
  }
  return (
    <Card withBorder padding="sm" data-testid={`privacy-request-${r.id}`}>
      <Group justify="space-between" wrap="nowrap">
        <Group gap="sm">
          <Badge variant="light">{r.type}</Badge>
          <Code>{r.identifier.type}</Code>
          <Text size="sm">{r.identifier.masked}</Text>
          <Badge color={statusColor[r.status]} data-testid="request-status">
            {r.status}
          </Badge>
        </Group>
        <Group gap="sm">
          <Text size="xs" c="dimmed">
            {formatTime(r.createdAt)}
          </Text>
          {r.exportAvailable ? (
            <Button size="xs" variant="light" loading={downloading} onClick={() => void download()}>
              Download export
            </Button>
          ) : null}
        </Group>
      </Group>
      {r.error ? (
        <Text size="sm" c="red" mt={4}>
          {r.error}
        </Text>
      ) : null}
      {r.steps.length > 0 ? (
        <Group gap={6} mt="xs">
          {r.steps.map((s) => (
            <Badge key={s.step} size="sm" variant="dot" color={statusColor[s.status] ?? 'gray'}>
              {s.step}
            </Badge>
          ))}
        </Group>
      ) : null}
      {r.destinations.length > 0 ? (
        <Table mt="xs" withRowBorders={false} verticalSpacing={2} fz="sm">
          <Table.Tbody>
            {r.destinations.map((d) => (
              <Table.Tr key={d.destinationId}>
                <Table.Td>{d.name}</Table.Td>
                <Table.Td c="dimmed">{d.type}</Table.Td>
                <Table.Td>
                  <Badge size="sm" color={statusColor[d.status] ?? 'gray'}>
                    {d.status}
                  </Badge>
                </Table.Td>
                <Table.Td c="dimmed">{d.error ?? ''}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      ) : null}
    </Card>
  )
}

function SuppressionList() {
  const queryClient = useQueryClient()
  const [idType, setIdType] = useState<string>('email')
  const [value, setValue] = useState('')
  const list = useQuery({
    queryKey: ['privacy', 'suppressions'],
    queryFn: () =>
      api<{ items: Suppression[] }>('/privacy/suppressions', { query: { limit: 200 } }),
  })
  const add = useMutation({
    mutationFn: () =>
      api<Suppression>('/privacy/suppressions', {
        method: 'POST',
        body: { identifier: { type: idType, value } },
      }),
    onSuccess: () => {
      setValue('')
      void queryClient.invalidateQueries({ queryKey: ['privacy', 'suppressions'] })
    },
  })
  const remove = useMutation({
    mutationFn: (id: string) =>
      api<void>(`/privacy/suppressions/${encodeURIComponent(id)}`, { method: 'DELETE' }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['privacy', 'suppressions'] }),
  })
  return (
    <Stack>
      <Text size="sm" c="dimmed">
        Events carrying a suppressed identifier are dropped at ingest (the SDK still gets a 200) and
        counted. Identifiers are stored hashed: the list shows a mask only.
      </Text>
      <form
        onSubmit={(e) => {
          e.preventDefault()
          add.mutate()
        }}
      >
        <Group align="flex-end">
          <Select
            label="Identifier type"
            data={identifierTypes.filter((t) => t.value !== 'profile_id')}
            value={idType}
            onChange={(v) => setIdType(v ?? 'email')}
            allowDeselect={false}
            w={170}
          />
          <TextInput
            label="Identifier to suppress"
            data-testid="suppression-identifier"
            value={value}
            onChange={(e) => setValue(e.currentTarget.value)}
            required
            style={{ flex: 1 }}
          />
          <Button type="submit" loading={add.isPending}>
            Suppress
          </Button>
        </Group>
      </form>
      {add.isError ? <Alert color="red">{errorMessage(add.error)}</Alert> : null}
      <QueryView query={list} what="Suppressions">
        {(page) => (
          <ResourceTable
            rows={page.items}
            rowKey={(s) => s.id}
            testId="suppressions"
            empty={
              <Empty
                icon="profiles"
                title="Nothing suppressed"
                description="No identifier is blocked."
              />
            }
            columns={[
              {
                title: 'Identifier',
                render: (s) => (
                  <>
                    <Code>{s.identifier.type}</Code> {s.identifier.masked}
                  </>
                ),
              },
              {
                title: 'Reason',
                render: (s) =>
                  s.reason === 'deletion'
                    ? `deletion tombstone${s.expiresAt ? ` until ${formatTime(s.expiresAt)}` : ''}`
                    : 'suppression',
              },
              { title: 'Events dropped', render: (s) => s.droppedCount },
              { title: 'Since', render: (s) => formatTime(s.createdAt) },
              {
                align: 'right',
                render: (s) =>
                  s.reason === 'suppression' ? (
                    <Button
                      size="xs"
                      variant="subtle"
                      color="red"
                      onClick={() => remove.mutate(s.id)}
                    >
                      Remove
                    </Button>
                  ) : null,
              },
            ]}
          />
        )}
      </QueryView>
    </Stack>
  )
}
