import {
  Alert,
  Button,
  Group,
  JsonInput,
  Modal,
  NumberInput,
  Select,
  SimpleGrid,
  Stack,
  Table,
  Tabs,
  Text,
  TextInput,
} from '@mantine/core'
import { notifications } from '@mantine/notifications'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { api, errorMessage, isNotFound } from '../api/client.js'
import type { ComputedTrait, Page } from '../api/types.js'
import { ConfirmModal } from '../components/confirm-modal.js'
import { JsonView } from '../components/json-view.js'
import { PageHeader } from '../components/page-header.js'
import { ResourceTable } from '../components/resource-table.js'
import { Empty, QueryView } from '../components/states.js'
import { formatTime } from '../lib/format.js'

const aggregations = [
  { value: 'count', label: 'Number of events', needsProperty: false },
  { value: 'sum', label: 'Sum of a property', needsProperty: true },
  { value: 'avg', label: 'Average of a property', needsProperty: true },
  { value: 'min', label: 'Minimum of a property', needsProperty: true },
  { value: 'max', label: 'Maximum of a property', needsProperty: true },
  { value: 'first', label: 'First value of a property', needsProperty: true },
  { value: 'last', label: 'Last value of a property', needsProperty: true },
  { value: 'most_frequent', label: 'Most frequent value', needsProperty: true },
  { value: 'unique_list', label: 'List of unique values', needsProperty: true },
  { value: 'unique_count', label: 'Number of unique values', needsProperty: true },
  { value: 'time_since_first', label: 'Time since first event', needsProperty: false },
  { value: 'time_since_last', label: 'Time since last event', needsProperty: false },
]

interface Draft {
  name: string
  aggregation: string
  event: string
  property: string
  windowAmount: number | ''
  windowUnit: string
}

const blank: Draft = {
  name: '',
  aggregation: 'count',
  event: '',
  property: '',
  windowAmount: '',
  windowUnit: 'days',
}

/** The computed-trait definition the engine takes (src/understand/core/computed-traits/definition.ts). */
function toDefinition(d: Draft): Record<string, unknown> {
  const needsProperty = aggregations.find((a) => a.value === d.aggregation)?.needsProperty ?? false
  return {
    aggregate: d.aggregation,
    event: { event: d.event.trim() },
    ...(needsProperty && d.property.trim() ? { property: toPath(d.property.trim()) } : {}),
    ...(d.windowAmount ? { window: { amount: d.windowAmount, unit: d.windowUnit } } : {}),
  }
}

function toPath(text: string): string | string[] {
  const parts = text.split('.')
  return parts.length > 1 && parts.every(Boolean) ? parts : text
}

function fromTrait(t: ComputedTrait): { draft: Draft; json: string } {
  const def = (t.definition ?? {}) as Record<string, unknown>
  const event = def.event as { event?: string; name?: string } | string | undefined
  const window = def.window as { amount?: number; unit?: string } | undefined
  const property = def.property as string | string[] | undefined
  const aggregate = def.aggregate ?? def.kind
  return {
    draft: {
      name: t.name,
      aggregation: typeof aggregate === 'string' ? aggregate : 'count',
      event: typeof event === 'string' ? event : (event?.event ?? event?.name ?? ''),
      property: Array.isArray(property) ? property.join('.') : (property ?? ''),
      windowAmount: window?.amount ?? '',
      windowUnit: window?.unit ?? 'days',
    },
    json: JSON.stringify(t.definition, null, 2),
  }
}

export function ComputedTraitsPage() {
  const list = useQuery({
    queryKey: ['computed-traits'],
    queryFn: () => api<Page<ComputedTrait>>('/computed-traits'),
  })
  const [editing, setEditing] = useState<ComputedTrait | 'new' | null>(null)
  const available = !(list.isError && isNotFound(list.error))
  return (
    <>
      <PageHeader
        title="Computed traits"
        description="Per-profile values computed from events: order count, lifetime value, last product viewed…"
        actions={
          available ? <Button onClick={() => setEditing('new')}>New computed trait</Button> : null
        }
      />
      <QueryView query={list} what="Computed traits">
        {(page) => (
          <ResourceTable
            rows={page.data}
            rowKey={(t) => t.id}
            highlightOnHover
            empty={
              <Empty
                icon="computed"
                title="No computed traits yet"
                description="Count events, sum a property or keep the last value seen, optionally over a time window. Values update as events arrive."
                action={<Button onClick={() => setEditing('new')}>Create a computed trait</Button>}
              />
            }
            columns={[
              {
                title: 'Name',
                render: (t) => (
                  <Text size="sm" fw={600}>
                    {t.name}
                  </Text>
                ),
              },
              {
                title: 'Definition',
                render: (t) => (
                  <Text size="xs" ff="monospace" lineClamp={2}>
                    {JSON.stringify(t.definition)}
                  </Text>
                ),
              },
              { title: 'Updated', render: (t) => formatTime(t.updatedAt) },
              {
                align: 'right',
                render: (t) => (
                  <Button size="xs" variant="light" onClick={() => setEditing(t)}>
                    Edit
                  </Button>
                ),
              },
            ]}
          />
        )}
      </QueryView>
      {editing ? (
        <ComputedTraitModal
          trait={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
        />
      ) : null}
    </>
  )
}

function ComputedTraitModal({
  trait,
  onClose,
}: {
  trait: ComputedTrait | null
  onClose: () => void
}) {
  const queryClient = useQueryClient()
  const initial = trait
    ? fromTrait(trait)
    : { draft: blank, json: JSON.stringify(toDefinition(blank), null, 2) }
  const [draft, setDraft] = useState<Draft>(initial.draft)
  const [tab, setTab] = useState<string | null>('form')
  const [json, setJson] = useState(initial.json)
  const needsProperty =
    aggregations.find((a) => a.value === draft.aggregation)?.needsProperty ?? false

  function definition(): unknown {
    if (tab === 'json') return JSON.parse(json)
    return toDefinition(draft)
  }

  const preview = useMutation({
    mutationFn: () =>
      api<unknown>('/computed-traits/preview', {
        method: 'POST',
        body: { definition: definition() },
      }),
  })
  const save = useMutation({
    mutationFn: () => {
      const body = { name: draft.name.trim(), definition: definition() }
      return trait
        ? api<ComputedTrait>(`/computed-traits/${encodeURIComponent(trait.id)}`, {
            method: 'PUT',
            body,
          })
        : api<ComputedTrait>('/computed-traits', { method: 'POST', body })
    },
    onSuccess: (saved) => {
      void queryClient.invalidateQueries({ queryKey: ['computed-traits'] })
      notifications.show({
        color: 'teal',
        message: `Computed trait “${saved.name ?? draft.name}” saved.`,
      })
      onClose()
    },
  })
  const [deleting, setDeleting] = useState(false)
  const remove = useMutation({
    mutationFn: () =>
      api(`/computed-traits/${encodeURIComponent(trait!.id)}`, { method: 'DELETE' }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ['computed-traits'] })
      onClose()
    },
  })
  const set = (patch: Partial<Draft>) => setDraft((d) => ({ ...d, ...patch }))
  const incomplete =
    !draft.name.trim() ||
    (tab === 'form' && (!draft.event.trim() || (needsProperty && !draft.property.trim())))

  return (
    <Modal
      opened
      onClose={onClose}
      title={trait ? `Edit “${trait.name}”` : 'New computed trait'}
      size="xl"
    >
      <Stack>
        <TextInput
          label="Name"
          placeholder="e.g. orders_last_30_days"
          value={draft.name}
          onChange={(e) => set({ name: e.currentTarget.value })}
          required
          data-autofocus
        />
        <Tabs
          value={tab}
          onChange={(next) => {
            if (next === 'json') setJson(JSON.stringify(toDefinition(draft), null, 2))
            setTab(next)
          }}
        >
          <Tabs.List mb="sm">
            <Tabs.Tab value="form">Form</Tabs.Tab>
            <Tabs.Tab value="json">JSON</Tabs.Tab>
          </Tabs.List>
          <Tabs.Panel value="form">
            <SimpleGrid cols={2}>
              <Select
                label="Compute"
                data={aggregations}
                value={draft.aggregation}
                allowDeselect={false}
                onChange={(v) => set({ aggregation: v ?? 'count' })}
              />
              <TextInput
                label="From events named"
                placeholder="Order Completed"
                value={draft.event}
                onChange={(e) => set({ event: e.currentTarget.value })}
              />
              <TextInput
                label="Property"
                placeholder={needsProperty ? 'revenue' : 'not needed'}
                disabled={!needsProperty}
                value={draft.property}
                onChange={(e) => set({ property: e.currentTarget.value })}
              />
              <Group gap="xs" align="flex-end" grow>
                <NumberInput
                  label="In the last (optional)"
                  min={1}
                  placeholder="all time"
                  value={draft.windowAmount}
                  onChange={(n) => set({ windowAmount: typeof n === 'number' ? n : '' })}
                />
                <Select
                  data={['minutes', 'hours', 'days']}
                  value={draft.windowUnit}
                  allowDeselect={false}
                  aria-label="Window unit"
                  onChange={(v) => set({ windowUnit: v ?? 'days' })}
                />
              </Group>
            </SimpleGrid>
          </Tabs.Panel>
          <Tabs.Panel value="json">
            <JsonInput
              aria-label="Definition as JSON"
              autosize
              minRows={8}
              formatOnBlur
              value={json}
              onChange={setJson}
              validationError="Not valid JSON"
            />
          </Tabs.Panel>
        </Tabs>
        <Group justify="space-between">
          <Button
            variant="light"
            onClick={() => preview.mutate()}
            loading={preview.isPending}
            disabled={tab === 'form' && !draft.event.trim()}
          >
            Preview on a sample
          </Button>
          <Group gap="xs">
            {trait ? (
              <Button variant="subtle" color="red" onClick={() => setDeleting(true)}>
                Delete
              </Button>
            ) : null}
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button onClick={() => save.mutate()} loading={save.isPending} disabled={incomplete}>
              Save
            </Button>
          </Group>
        </Group>
        {preview.isError ? (
          <Alert color={isNotFound(preview.error) ? 'gray' : 'red'}>
            {isNotFound(preview.error)
              ? 'Preview is not available in this version yet.'
              : errorMessage(preview.error)}
          </Alert>
        ) : null}
        {preview.data !== undefined ? <PreviewResult result={preview.data} /> : null}
        {save.isError ? (
          <Alert color="red" role="alert">
            {errorMessage(save.error)}
          </Alert>
        ) : null}
      </Stack>
      <ConfirmModal
        opened={deleting}
        onClose={() => setDeleting(false)}
        title="Delete this computed trait?"
        subject={<>The computed trait “{trait?.name}” and its values on every profile</>}
        confirmLabel="Delete computed trait"
        onConfirm={() => remove.mutate()}
        pending={remove.isPending}
        error={remove.error}
        testId="delete-computed-trait"
      >
        A segment that still reads it keeps it: remove those conditions first.
      </ConfirmModal>
    </Modal>
  )
}

function PreviewResult({ result }: { result: unknown }) {
  const sample = (
    result as { sample?: Array<{ profileId?: string; id?: string; value?: unknown }> }
  )?.sample
  if (Array.isArray(sample))
    return (
      <Table withTableBorder verticalSpacing={4}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Profile</Table.Th>
            <Table.Th>Value</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {sample.map((row, i) => (
            <Table.Tr key={row.profileId ?? row.id ?? i}>
              <Table.Td>
                <Text size="xs">{row.profileId ?? row.id}</Text>
              </Table.Td>
              <Table.Td>
                <Text size="xs">{JSON.stringify(row.value)}</Text>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    )
  return <JsonView value={result} maxHeight={260} />
}
