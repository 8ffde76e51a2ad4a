import {
  Alert,
  Anchor,
  Badge,
  Button,
  Card,
  Chip,
  Group,
  Modal,
  SimpleGrid,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core'
import { notifications } from '@mantine/notifications'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useMemo, useState } from 'react'
import { api, errorMessage, isNotFound } from '../api/client.js'
import type { CatalogEntry, Destination, DestinationActions, Page } from '../api/types.js'
import {
  ActionsEditor,
  defaultActions,
  supportedActions,
} from '../components/destination-actions.js'
import { HealthBadge } from '../components/health-badge.js'
import { PageHeader } from '../components/page-header.js'
import { ResourceTable } from '../components/resource-table.js'
import { SchemaForm } from '../components/schema-form.js'
import { Empty, NotAvailable, QueryView } from '../components/states.js'
import { defaultsFor, missingRequired } from '../lib/json-schema.js'
import { Link, navigate } from '../lib/router.js'

export function DestinationsPage() {
  const destinations = useQuery({
    queryKey: ['destinations'],
    queryFn: () => api<Page<Destination>>('/destinations'),
  })
  const catalog = useQuery({
    queryKey: ['destinations', 'catalog'],
    queryFn: () => api<Page<CatalogEntry>>('/destinations/catalog'),
  })
  const [adding, setAdding] = useState<CatalogEntry | null>(null)
  if (destinations.isError && isNotFound(destinations.error))
    return (
      <>
        <PageHeader
          title="Destinations"
          description="Send profiles, segment changes and events to the tools you use."
        />
        <NotAvailable what="Destinations" />
      </>
    )
  const catalogById = new Map<string, CatalogEntry>(
    (catalog.data?.data ?? []).map((c) => [c.id, c]),
  )
  return (
    <Stack gap="xl">
      <div>
        <PageHeader
          title="Destinations"
          description="Send profiles, segment changes and events to the tools you use."
        />
        <QueryView query={destinations} what="Destinations">
          {(page) => (
            <ResourceTable
              rows={page.data}
              rowKey={(d) => d.id}
              testId="destinations-table"
              highlightOnHover
              empty={
                <Empty
                  icon="destinations"
                  title="No destinations yet"
                  description="Pick one from the catalog below (a webhook is the quickest to try), fill in its settings, and deliveries start with the next event."
                />
              }
              columns={[
                {
                  title: 'Name',
                  render: (d) => (
                    <Anchor
                      component={Link}
                      to={`/destinations/${encodeURIComponent(d.id)}`}
                      fw={600}
                    >
                      {d.name}
                    </Anchor>
                  ),
                },
                { title: 'Type', render: (d) => catalogById.get(d.type)?.name ?? d.type },
                { title: 'Health', render: (d) => <HealthBadge destination={d} /> },
                {
                  align: 'right',
                  render: (d) => (
                    <Button
                      size="xs"
                      variant="light"
                      component={Link}
                      to={`/destinations/${encodeURIComponent(d.id)}`}
                    >
                      Deliveries
                    </Button>
                  ),
                },
              ]}
            />
          )}
        </QueryView>
      </div>
      <div>
        <Title order={3} mb="sm">
          Catalog
        </Title>
        <QueryView query={catalog} what="The destination catalog">
          {(page) => <Catalog entries={page.data} onPick={setAdding} />}
        </QueryView>
      </div>
      {adding ? <AddDestinationModal entry={adding} onClose={() => setAdding(null)} /> : null}
    </Stack>
  )
}

function Catalog({
  entries,
  onPick,
}: {
  entries: CatalogEntry[]
  onPick: (entry: CatalogEntry) => void
}) {
  const categories = useMemo(() => [...new Set(entries.map((e) => e.category))].sort(), [entries])
  const [category, setCategory] = useState<string>('all')
  const [q, setQ] = useState('')
  const shown = entries.filter(
    (e) =>
      (category === 'all' || e.category === category) &&
      (!q ||
        `${e.name} ${e.category} ${e.description ?? ''}`.toLowerCase().includes(q.toLowerCase())),
  )
  if (entries.length === 0)
    return (
      <Empty
        icon="book"
        title="The catalog is empty"
        description="This server ships no destination connectors."
      />
    )
  return (
    <Stack gap="sm">
      <Group justify="space-between">
        <Chip.Group value={category} onChange={(v) => setCategory(String(v))}>
          <Group gap={6}>
            <Chip value="all" size="xs">
              All
            </Chip>
            {categories.map((c) => (
              <Chip key={c} value={c} size="xs">
                {c}
              </Chip>
            ))}
          </Group>
        </Chip.Group>
        <TextInput
          size="xs"
          w={220}
          placeholder="Filter the catalog"
          aria-label="Filter the catalog"
          value={q}
          onChange={(e) => setQ(e.currentTarget.value)}
        />
      </Group>
      <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }} data-testid="catalog">
        {shown.map((entry) => (
          <Card key={entry.id} withBorder padding="md" data-testid={`catalog-${entry.id}`}>
            <Group justify="space-between" mb={4} wrap="nowrap">
              <Text fw={600}>{entry.name}</Text>
              <Badge variant="light" size="sm" style={{ flexShrink: 0, overflow: 'visible' }}>
                {entry.category}
              </Badge>
            </Group>
            <Text size="sm" c="dimmed" mb="xs" lineClamp={2} mih={40}>
              {entry.description ?? ''}
            </Text>
            {entry.purpose ? (
              <Text size="xs" c="dimmed" mb="sm">
                Needs consent for: <b>{entry.purpose}</b>
              </Text>
            ) : null}
            <Button
              size="xs"
              variant="light"
              onClick={() => onPick(entry)}
              aria-label={`Add ${entry.name}`}
            >
              Add {entry.name}
            </Button>
          </Card>
        ))}
      </SimpleGrid>
    </Stack>
  )
}

function AddDestinationModal({ entry, onClose }: { entry: CatalogEntry; onClose: () => void }) {
  const queryClient = useQueryClient()
  const schema = entry.settingsSchema ?? { type: 'object', properties: {} }
  const [name, setName] = useState(entry.name)
  const [settings, setSettings] = useState<Record<string, unknown>>(
    () => (defaultsFor(schema) as Record<string, unknown> | undefined) ?? {},
  )
  const supported = supportedActions(entry.actions)
  const [actions, setActions] = useState<DestinationActions>(() => defaultActions(supported))
  const missing = missingRequired(schema, settings)
  const create = useMutation({
    mutationFn: () =>
      api<Destination>('/destinations', {
        method: 'POST',
        body: { name: name.trim(), type: entry.id, settings, actions },
      }),
    onSuccess: (d) => {
      void queryClient.invalidateQueries({ queryKey: ['destinations'] })
      notifications.show({ color: 'teal', message: `Destination “${d.name}” created.` })
      onClose()
      navigate(`/destinations/${encodeURIComponent(d.id)}`)
    },
  })
  return (
    <Modal opened onClose={onClose} title={`Add ${entry.name}`} size="lg">
      <form
        onSubmit={(e) => {
          e.preventDefault()
          if (!missing.length && name.trim()) create.mutate()
        }}
      >
        <Stack>
          {entry.description ? (
            <Text size="sm" c="dimmed">
              {entry.description}
            </Text>
          ) : null}
          <TextInput
            label="Name"
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            required
            data-testid="destination-name"
          />
          <SchemaForm
            schema={schema}
            value={settings}
            onChange={setSettings}
            secretFields={entry.secretFields}
          />
          <Title order={5} mt="xs">
            What to send
          </Title>
          <ActionsEditor value={actions} onChange={setActions} supported={supported} />
          {missing.length ? (
            <Text size="xs" c="dimmed">
              Still needed: {missing.join(', ')}
            </Text>
          ) : null}
          {create.isError ? (
            <Alert color="red" role="alert">
              {errorMessage(create.error)}
            </Alert>
          ) : null}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button
              type="submit"
              loading={create.isPending}
              disabled={missing.length > 0 || !name.trim()}
              data-testid="create-destination"
            >
              Create destination
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  )
}
