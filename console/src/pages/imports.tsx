/**
 * Imports: a CSV or JSONL file of profiles or events into a source, in three steps: choose the
 * file, check the mapping against a preview of its first rows (the server maps and checks them
 * exactly as the import will, and suggests a mapping from the header and values), then upload and
 * follow the import to its report (counts, first rejected rows, the rejects file). The list below
 * shows every import of the workspace with its progress.
 */
import {
  Alert,
  Autocomplete,
  Badge,
  Button,
  Card,
  Code,
  FileInput,
  Group,
  Progress,
  SegmentedControl,
  Select,
  Stack,
  Stepper,
  Table,
  Text,
  Title,
} from '@mantine/core'
import { notifications } from '@mantine/notifications'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useEffect, useMemo, useState } from 'react'
import { api, downloadFile, errorMessage } from '../api/client.js'
import type { ImportJob, ImportPreview, Page, Source } from '../api/types.js'
import { PageHeader } from '../components/page-header.js'
import { ResourceTable } from '../components/resource-table.js'
import { Empty, QueryView } from '../components/states.js'
import { formatNumber, formatTime } from '../lib/format.js'

/** What the preview reads of the file: the server's limit for a sample. */
const SAMPLE_BYTES = 256 * 1024

type Kind = 'profiles' | 'events'
type Format = 'csv' | 'jsonl'

const statusColor: Record<string, string> = {
  awaiting_upload: 'gray',
  running: 'blue',
  completed: 'green',
  failed: 'red',
  parked: 'orange',
  cancelled: 'gray',
}

function formatOf(file: File): Format | undefined {
  const name = file.name.toLowerCase()
  if (name.endsWith('.csv') || name.endsWith('.tsv') || name.endsWith('.txt')) return 'csv'
  if (name.endsWith('.jsonl') || name.endsWith('.ndjson') || name.endsWith('.json')) return 'jsonl'
  return undefined
}

/** Targets offered for every column; any `traits.<name>` or `properties.<name>` may be typed. */
function targetOptions(column: string, kind: Kind): string[] {
  const bag = kind === 'profiles' ? 'traits' : 'properties'
  const base = ['userId', 'anonymousId', 'traits.email', 'traits.phone', 'traits.country']
  const events = kind === 'events' ? ['event', 'timestamp'] : []
  return [...new Set([`${bag}.${column}`, ...base, ...events, 'externalIds.crm_id', 'ignore'])]
}

export function ImportsPage() {
  const imports = useQuery({
    queryKey: ['imports'],
    queryFn: () => api<Page<ImportJob>>('/imports'),
    // Running imports move: poll while any is running.
    refetchInterval: (q) =>
      q.state.data?.data.some((i) => i.status === 'running' || i.status === 'awaiting_upload')
        ? 1_000
        : false,
  })
  const [shown, setShown] = useState<string | null>(null)
  return (
    <>
      <PageHeader
        title="Imports"
        description="Load a CSV or JSONL file of profiles (each row an identify) or events (each row a track) into a source. Any identifier column is enough: an e-mail, a phone, a user id."
      />
      <Stack gap="xl">
        <NewImport onStarted={(id) => setShown(id)} />
        {shown ? <ImportReport id={shown} /> : null}
        <Stack gap="xs">
          <Title order={4}>All imports</Title>
          <QueryView query={imports} what="Imports">
            {(page) => (
              <ResourceTable
                rows={page.data}
                rowKey={(i) => i.id}
                testId="imports-table"
                rowTestId="import-row"
                highlightOnHover
                empty={
                  <Empty
                    icon="inbox"
                    title="No imports yet"
                    description="Choose a file above. The CLI does the same: kindred import <file> --source <id>."
                  />
                }
                columns={[
                  {
                    title: 'File',
                    render: (i) => (
                      <Button variant="subtle" size="compact-sm" onClick={() => setShown(i.id)}>
                        {i.fileName ?? i.id}
                      </Button>
                    ),
                  },
                  { title: 'Kind', render: (i) => i.kind },
                  {
                    title: 'Status',
                    render: (i) => (
                      <Badge color={statusColor[i.status] ?? 'gray'} variant="light">
                        {i.status.replace('_', ' ')}
                      </Badge>
                    ),
                  },
                  {
                    title: 'Rows',
                    render: (i) =>
                      `${formatNumber(i.counts.accepted)} imported, ${formatNumber(i.counts.rejected)} rejected`,
                  },
                  { title: 'Started', render: (i) => formatTime(i.createdAt) },
                ]}
              />
            )}
          </QueryView>
        </Stack>
      </Stack>
    </>
  )
}

function NewImport({ onStarted }: { onStarted: (id: string) => void }) {
  const queryClient = useQueryClient()
  const sources = useQuery({ queryKey: ['sources'], queryFn: () => api<Page<Source>>('/sources') })
  const [step, setStep] = useState(0)
  const [sourceId, setSourceId] = useState<string | null>(null)
  const [kind, setKind] = useState<Kind>('profiles')
  const [file, setFile] = useState<File | null>(null)
  const [sample, setSample] = useState<{ text: string; complete: boolean } | null>(null)
  const [columns, setColumns] = useState<Record<string, string> | null>(null)
  const format = file ? formatOf(file) : undefined

  useEffect(() => {
    setColumns(null)
    setSample(null)
    if (!file) return
    let gone = false
    void file
      .slice(0, SAMPLE_BYTES)
      .text()
      .then((text) => {
        if (!gone) setSample({ text, complete: file.size <= SAMPLE_BYTES })
      })
    return () => {
      gone = true
    }
  }, [file, kind])

  const preview = useQuery({
    queryKey: ['import-preview', sourceId, kind, format, sample?.text.length, columns],
    enabled: step >= 1 && sourceId !== null && format !== undefined && sample !== null,
    queryFn: () =>
      api<ImportPreview>('/imports/preview', {
        method: 'POST',
        body: {
          sourceId,
          kind,
          format,
          sample: sample?.text ?? '',
          complete: sample?.complete ?? false,
          ...(columns === null ? {} : { mapping: { columns, unmapped: 'ignore' } }),
        },
      }),
  })
  // The first answer carries the suggestion: the form starts from it, the user edits from there.
  useEffect(() => {
    const p = preview.data
    if (p && columns === null) {
      setColumns(
        Object.fromEntries(
          p.suggested.map((s) => [s.column, typeof s.to === 'string' ? s.to : s.to.to]),
        ),
      )
    }
  }, [preview.data, columns])

  const start = useMutation({
    mutationFn: async () => {
      if (!file || !sourceId || !format || !columns) throw new Error('Choose a source and a file.')
      const created = await api<ImportJob>('/imports', {
        method: 'POST',
        body: {
          sourceId,
          kind,
          format,
          fileName: file.name,
          mapping: { columns, unmapped: 'ignore' },
        },
      })
      return api<ImportJob>(`/imports/${encodeURIComponent(created.id)}/file`, {
        method: 'PUT',
        file,
      })
    },
    onSuccess: (job) => {
      void queryClient.invalidateQueries({ queryKey: ['imports'] })
      onStarted(job.id)
      setStep(0)
      setFile(null)
    },
  })

  const sourceOptions = (sources.data?.data ?? []).map((s) => ({ value: s.id, label: s.name }))
  const ready = sourceId !== null && file !== null && format !== undefined
  return (
    <Card withBorder padding="lg" data-testid="new-import">
      <Stepper active={step} onStepClick={(s) => s < step && setStep(s)} size="sm">
        <Stepper.Step label="File" description="Source, kind and file">
          <Stack mt="md" maw={560}>
            <Select
              label="Source"
              description="The events are recorded as this source's (provenance, PII settings)."
              data={sourceOptions}
              value={sourceId}
              onChange={setSourceId}
              placeholder={sources.isLoading ? 'Loading…' : 'Choose a source'}
              data-testid="import-source"
            />
            <SegmentedControl
              value={kind}
              onChange={(v) => setKind(v as Kind)}
              data={[
                { value: 'profiles', label: 'Profiles (identify)' },
                { value: 'events', label: 'Events (track)' },
              ]}
              data-testid="import-kind"
            />
            <FileInput
              label="File"
              description="CSV with a header row, or JSON Lines (one object per line)."
              placeholder="Choose a .csv or .jsonl file"
              accept=".csv,.tsv,.txt,.jsonl,.ndjson,.json"
              value={file}
              onChange={setFile}
              clearable
              data-testid="import-file"
            />
            {file && format === undefined ? (
              <Alert color="orange">
                Kindred reads .csv and .jsonl files; this one is {file.name}.
              </Alert>
            ) : null}
            <Group justify="flex-end">
              <Button disabled={!ready} onClick={() => setStep(1)} data-testid="import-next">
                Check the mapping
              </Button>
            </Group>
          </Stack>
        </Stepper.Step>
        <Stepper.Step label="Mapping" description="What each column becomes">
          <Stack mt="md">
            {preview.isError ? (
              <Alert color="red" role="alert">
                {errorMessage(preview.error)}
              </Alert>
            ) : null}
            {preview.data && columns ? (
              <MappingForm
                preview={preview.data}
                kind={kind}
                columns={columns}
                onChange={(column, to) => setColumns({ ...columns, [column]: to })}
              />
            ) : (
              <Text c="dimmed">Reading the first rows…</Text>
            )}
            {start.isError ? (
              <Alert color="red" role="alert">
                {errorMessage(start.error)}
              </Alert>
            ) : null}
            <Group justify="space-between">
              <Button variant="default" onClick={() => setStep(0)}>
                Back
              </Button>
              <Button
                onClick={() => start.mutate()}
                loading={start.isPending}
                disabled={!preview.data || preview.data.summary.accepted === 0}
                data-testid="import-start"
              >
                Import {file ? file.name : ''}
              </Button>
            </Group>
          </Stack>
        </Stepper.Step>
      </Stepper>
    </Card>
  )
}

function MappingForm({
  preview,
  kind,
  columns,
  onChange,
}: {
  preview: ImportPreview
  kind: Kind
  columns: Record<string, string>
  onChange: (column: string, to: string) => void
}) {
  const first = preview.rows.find((r) => r.values && typeof r.values === 'object')
  const firstValues = (first?.values ?? {}) as Record<string, unknown>
  const identifiers = useMemo(
    () =>
      preview.mappingDescription.columns.filter((c) => c.identifier !== null).map((c) => c.column),
    [preview],
  )
  const { rows, accepted, rejected } = preview.summary
  return (
    <Stack>
      <Alert
        color={accepted === 0 ? 'red' : rejected > 0 ? 'orange' : 'green'}
        data-testid="import-preview-summary"
      >
        Of the first {formatNumber(rows)} rows, {formatNumber(accepted)} would be imported and{' '}
        {formatNumber(rejected)} rejected.{' '}
        {identifiers.length > 0
          ? `A row is identified by ${identifiers.join(', ')}.`
          : 'No column identifies a person yet: map one to an e-mail, a phone, userId or an external id.'}
      </Alert>
      <Table withTableBorder data-testid="import-mapping">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Column</Table.Th>
            <Table.Th>First value</Table.Th>
            <Table.Th>Becomes</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {preview.columns.map((column) => (
            <Table.Tr key={column}>
              <Table.Td>
                <Code>{column}</Code>
              </Table.Td>
              <Table.Td>
                <Text size="sm" lineClamp={1}>
                  {String(firstValues[column] ?? '')}
                </Text>
              </Table.Td>
              <Table.Td>
                <MappingTarget
                  column={column}
                  kind={kind}
                  value={columns[column] ?? 'ignore'}
                  onChange={(to) => onChange(column, to)}
                />
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <Title order={5}>Preview</Title>
      <Table withTableBorder data-testid="import-preview-rows">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Row</Table.Th>
            <Table.Th>Result</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {preview.rows.map((r) => (
            <Table.Tr key={r.row} data-testid="preview-row">
              <Table.Td>{r.row}</Table.Td>
              <Table.Td>
                {r.ok ? (
                  <Group gap="xs">
                    <Badge color="green" variant="light">
                      ok
                    </Badge>
                    {r.stored.identifiers.map((id) => (
                      <Badge key={`${id.type}:${id.value}`} variant="outline" tt="none">
                        {id.type}: {id.value}
                      </Badge>
                    ))}
                    <Text size="xs" ff="monospace" lineClamp={1}>
                      {JSON.stringify(
                        r.event.type === 'identify' ? r.stored.traits : (r.event.properties ?? {}),
                      )}
                    </Text>
                  </Group>
                ) : (
                  <Group gap="xs">
                    <Badge color="red" variant="light">
                      rejected
                    </Badge>
                    <Text size="xs">{r.issues.map((i) => i.message).join('; ')}</Text>
                  </Group>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  )
}

/** One column's target: typed freely, applied (and previewed again) when chosen or left. */
function MappingTarget({
  column,
  kind,
  value,
  onChange,
}: {
  column: string
  kind: Kind
  value: string
  onChange: (to: string) => void
}) {
  const [draft, setDraft] = useState(value)
  useEffect(() => setDraft(value), [value])
  const commit = (to: string) => {
    const t = to.trim()
    if (t !== '' && t !== value) onChange(t)
  }
  return (
    <Autocomplete
      aria-label={`Target of ${column}`}
      data={targetOptions(column, kind)}
      value={draft}
      onChange={setDraft}
      onOptionSubmit={commit}
      onBlur={() => commit(draft)}
      size="xs"
      data-testid={`map-${column}`}
    />
  )
}

function ImportReport({ id }: { id: string }) {
  const job = useQuery({
    queryKey: ['imports', id],
    queryFn: () => api<ImportJob>(`/imports/${encodeURIComponent(id)}`),
    refetchInterval: (q) =>
      q.state.data?.status === 'running' || q.state.data?.status === 'awaiting_upload'
        ? 500
        : false,
  })
  const queryClient = useQueryClient()
  const cancel = useMutation({
    mutationFn: () =>
      api<ImportJob>(`/imports/${encodeURIComponent(id)}/cancel`, { method: 'POST' }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['imports'] }),
  })
  return (
    <QueryView query={job} what="Import">
      {(i) => (
        <Card withBorder padding="lg" data-testid="import-report">
          <Stack gap="sm">
            <Group justify="space-between">
              <Title order={4}>{i.fileName ?? i.id}</Title>
              <Badge color={statusColor[i.status] ?? 'gray'} data-testid="import-status">
                {i.status.replace('_', ' ')}
              </Badge>
            </Group>
            <Progress
              value={Math.round(i.progress.fraction * 100)}
              animated={i.status === 'running'}
              aria-label="Import progress"
            />
            <Text data-testid="import-counts">
              {formatNumber(i.counts.read)} rows read: {formatNumber(i.counts.accepted)} imported,{' '}
              {formatNumber(i.counts.rejected)} rejected.
            </Text>
            {i.error ? <Alert color="red">{i.error}</Alert> : null}
            {i.errors.length > 0 ? (
              <Table data-testid="import-errors">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Row</Table.Th>
                    <Table.Th>Why it was rejected</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {i.errors.slice(0, 10).map((e) => (
                    <Table.Tr key={e.row}>
                      <Table.Td>{e.row}</Table.Td>
                      <Table.Td>{e.errors.map((x) => x.message).join('; ')}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            ) : null}
            <Group>
              {i.counts.rejected > 0 ? (
                <Button
                  variant="light"
                  size="xs"
                  data-testid="download-rejects"
                  onClick={() =>
                    void downloadFile(
                      i.rejectsUrl.replace(/^\/api\/v1/, ''),
                      `${i.id}.rejects.jsonl`,
                    ).catch((err: unknown) =>
                      notifications.show({ color: 'red', message: errorMessage(err) }),
                    )
                  }
                >
                  Download rejected rows
                </Button>
              ) : null}
              {i.cancelUrl ? (
                <Button
                  variant="default"
                  size="xs"
                  onClick={() => cancel.mutate()}
                  loading={cancel.isPending}
                >
                  Cancel import
                </Button>
              ) : null}
            </Group>
          </Stack>
        </Card>
      )}
    </QueryView>
  )
}
