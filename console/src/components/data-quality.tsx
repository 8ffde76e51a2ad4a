/**
 * A source's data quality: its tracking plan (JSON editor and mode), violation counts per event
 * and property over the last 7 days, and the quarantine with a replay button.
 */
import {
  Alert,
  Badge,
  Button,
  Code,
  Grid,
  Group,
  Paper,
  SegmentedControl,
  Stack,
  Table,
  Text,
  Textarea,
  Title,
} from '@mantine/core'
import { notifications } from '@mantine/notifications'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useEffect, useState } from 'react'
import { ApiError, api, errorMessage } from '../api/client.js'
import { formatTime } from '../lib/format.js'
import { QueryView } from './states.js'

type PlanAction = 'allow' | 'flag' | 'quarantine'

interface TrackingPlan {
  mode: PlanAction
  unplannedEvents: PlanAction
  events: Record<string, unknown>
  identify?: unknown
}

interface StoredPlan {
  version: number
  plan: TrackingPlan
  updatedAt: string | null
}

interface Violation {
  path: string
  keyword: string
  message: string
}

interface Violations {
  total: number
  byEvent: Array<{ event: string | null; type: string; action: string; count: number }>
  byProperty: Array<{ event: string | null; path: string; keyword: string; count: number }>
}

interface Quarantine {
  total: number
  data: Array<{
    messageId: string
    reason: 'plan' | 'poison'
    type: string
    event: string | null
    violations: Violation[]
    error: string | null
    attempts: number
    quarantinedAt: string
    replayedAt: string | null
  }>
}

const modes: Array<{ value: PlanAction; label: string }> = [
  { value: 'allow', label: 'Allow' },
  { value: 'flag', label: 'Flag' },
  { value: 'quarantine', label: 'Quarantine' },
]

export function DataQuality({ sourceId }: { sourceId: string }) {
  const base = `/sources/${encodeURIComponent(sourceId)}`
  const plan = useQuery({
    queryKey: ['tracking-plan', sourceId],
    queryFn: () => api<StoredPlan>(`${base}/tracking-plan`),
  })
  return (
    <Paper withBorder p="md" data-testid="data-quality">
      <Stack>
        <Title order={3}>Data quality</Title>
        <QueryView query={plan} what="Tracking plans">
          {(p) => (
            <Grid>
              <Grid.Col span={{ base: 12, md: 6 }}>
                <PlanEditor base={base} sourceId={sourceId} stored={p} />
              </Grid.Col>
              <Grid.Col span={{ base: 12, md: 6 }}>
                <Stack>
                  <ViolationCounts base={base} sourceId={sourceId} />
                  <QuarantineList base={base} sourceId={sourceId} />
                </Stack>
              </Grid.Col>
            </Grid>
          )}
        </QueryView>
      </Stack>
    </Paper>
  )
}

function PlanEditor({
  base,
  sourceId,
  stored,
}: {
  base: string
  sourceId: string
  stored: StoredPlan
}) {
  const queryClient = useQueryClient()
  const [mode, setMode] = useState<PlanAction>(stored.plan.mode)
  const [text, setText] = useState('')
  useEffect(() => {
    const { mode: _mode, ...rest } = stored.plan
    setMode(stored.plan.mode)
    setText(JSON.stringify(rest, null, 2))
  }, [stored])
  const [parseError, setParseError] = useState<string | undefined>()
  const save = useMutation({
    mutationFn: (body: unknown) =>
      api<StoredPlan>(`${base}/tracking-plan`, { method: 'PUT', body }),
    onSuccess: (saved) => {
      notifications.show({ message: `Tracking plan saved (version ${saved.version}).` })
      void queryClient.invalidateQueries({ queryKey: ['tracking-plan', sourceId] })
    },
  })
  const submit = () => {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (err) {
      setParseError(`Not valid JSON: ${(err as Error).message}`)
      return
    }
    setParseError(undefined)
    save.mutate({ ...(parsed as object), mode })
  }
  const details =
    save.error instanceof ApiError && Array.isArray(save.error.details)
      ? (save.error.details as Array<{ path?: string; message?: string }>)
      : []
  return (
    <Stack gap="xs">
      <Group justify="space-between">
        <Text fw={600}>Tracking plan</Text>
        <Badge variant="light" data-testid="plan-version">
          version {stored.version}
        </Badge>
      </Group>
      <Text size="sm" c="dimmed">
        A JSON Schema per track event (<Code>events</Code>) and for identify traits (
        <Code>identify</Code>). Flag stores violating events with their violations; quarantine keeps
        them aside until you replay them.
      </Text>
      <SegmentedControl
        data-testid="plan-mode"
        value={mode}
        onChange={(v) => setMode(v as PlanAction)}
        data={modes}
      />
      <Textarea
        data-testid="plan-json"
        aria-label="Tracking plan JSON"
        autosize
        minRows={10}
        maxRows={24}
        styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)', fontSize: 12 } }}
        value={text}
        onChange={(e) => setText(e.currentTarget.value)}
      />
      {parseError || save.isError ? (
        <Alert color="red" data-testid="plan-error">
          {parseError ?? errorMessage(save.error)}
          {details.map((d, i) => (
            <Text key={i} size="sm">
              <Code>{d.path}</Code> {d.message}
            </Text>
          ))}
        </Alert>
      ) : null}
      <Group justify="flex-end">
        <Button data-testid="save-plan" loading={save.isPending} onClick={submit}>
          Save plan
        </Button>
      </Group>
    </Stack>
  )
}

function ViolationCounts({ base, sourceId }: { base: string; sourceId: string }) {
  const violations = useQuery({
    queryKey: ['violations', sourceId],
    queryFn: () => api<Violations>(`${base}/violations`),
    refetchInterval: 5_000,
  })
  return (
    <QueryView query={violations} what="Violations">
      {(v) => (
        <Stack gap="xs" data-testid="violations">
          <Text fw={600}>
            Violations, last 7 days: <span data-testid="violations-total">{v.total}</span>
          </Text>
          {v.byProperty.length === 0 ? (
            <Text size="sm" c="dimmed">
              No violations.
            </Text>
          ) : (
            <Table verticalSpacing={4} data-testid="violations-by-property">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Event</Table.Th>
                  <Table.Th>Property</Table.Th>
                  <Table.Th>Rule</Table.Th>
                  <Table.Th>Count</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {v.byProperty.slice(0, 20).map((r) => (
                  <Table.Tr key={`${r.event}|${r.path}|${r.keyword}`} data-testid="violation-row">
                    <Table.Td>{r.event ?? '—'}</Table.Td>
                    <Table.Td>
                      <Code>{r.path}</Code>
                    </Table.Td>
                    <Table.Td>{r.keyword}</Table.Td>
                    <Table.Td>{r.count}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )}
        </Stack>
      )}
    </QueryView>
  )
}

function QuarantineList({ base, sourceId }: { base: string; sourceId: string }) {
  const queryClient = useQueryClient()
  const quarantine = useQuery({
    queryKey: ['quarantine', sourceId],
    queryFn: () => api<Quarantine>(`${base}/quarantine`, { query: { limit: 50 } }),
    refetchInterval: 5_000,
  })
  const replay = useMutation({
    mutationFn: () =>
      api<{ replayed: number; stillFailing: number }>(`${base}/quarantine/replay`, { body: {} }),
    onSuccess: (r) => {
      notifications.show({
        message: `${r.replayed} event(s) replayed; ${r.stillFailing} still break the plan.`,
      })
      void queryClient.invalidateQueries({ queryKey: ['quarantine', sourceId] })
    },
  })
  return (
    <QueryView query={quarantine} what="Quarantine">
      {(q) => (
        <Stack gap="xs" data-testid="quarantine">
          <Group justify="space-between">
            <Text fw={600}>
              Quarantine: <span data-testid="quarantine-total">{q.total}</span>
            </Text>
            <Button
              size="xs"
              variant="light"
              data-testid="replay-quarantine"
              disabled={q.total === 0}
              loading={replay.isPending}
              onClick={() => replay.mutate()}
            >
              Replay against the current plan
            </Button>
          </Group>
          {replay.isError ? <Alert color="red">{errorMessage(replay.error)}</Alert> : null}
          {replay.data ? (
            <Text size="sm" data-testid="replay-result">
              {replay.data.replayed} replayed, {replay.data.stillFailing} still failing
            </Text>
          ) : null}
          {q.data.map((e) => (
            <Paper key={e.messageId} withBorder p="xs" data-testid="quarantined-event">
              <Group justify="space-between" gap="xs">
                <Text size="sm" fw={500}>
                  {e.event ?? e.type}
                </Text>
                <Group gap={4}>
                  <Badge size="xs" color={e.reason === 'poison' ? 'red' : 'orange'}>
                    {e.reason}
                  </Badge>
                  {e.replayedAt ? (
                    <Badge size="xs" color="blue">
                      replaying
                    </Badge>
                  ) : null}
                </Group>
              </Group>
              <Text size="xs" c="dimmed">
                <Code>{e.messageId}</Code> · {formatTime(e.quarantinedAt)} · {e.attempts} attempt(s)
              </Text>
              {e.error ? <Text size="xs">{e.error}</Text> : null}
              {e.violations.map((v, i) => (
                <Text size="xs" key={i}>
                  <Code>{v.path}</Code> {v.message}
                </Text>
              ))}
            </Paper>
          ))}
        </Stack>
      )}
    </QueryView>
  )
}
