/**
 * Identity review: pairs of profiles the matching model thinks are probably the same person,
 * side by side with the per-field explanation; accept merges them, reject remembers a non-match.
 * A pair held back by evidence against (different identifiers, a household's first names) says
 * why; one the identity rules forbid cannot be accepted. "Run matching now" starts a run; the
 * last runs are listed with their counts, each run's merges can be listed and undone at once.
 */
import {
  Badge,
  Button,
  Card,
  Group,
  SegmentedControl,
  SimpleGrid,
  Stack,
  Table,
  Text,
} from '@mantine/core'
import { useState } from 'react'
import { notifications } from '@mantine/notifications'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { api, errorMessage } from '../api/client.js'
import { PageHeader } from '../components/page-header.js'
import { Empty, QueryView } from '../components/states.js'
import { formatTime } from '../lib/format.js'
import { Link } from '../lib/router.js'

interface Field {
  field: string
  level: string
  left: string | null
  right: string | null
  weight: number
  tfAdjustment: number
}
interface Side {
  id: string
  traits?: Record<string, unknown>
  identifiers?: Array<{ type: string; value: string }>
}
interface ReviewPair {
  id: string
  status: string
  probability: number
  reason: string | null
  /** identity_rules: accept is refused; different_identifiers / different_names: evidence against. */
  reasonCode: string | null
  explanation: { probability: number; weight: number; fields: Field[] }
  profileA: Side
  profileB: Side
  autoMerged: boolean
  runId: string | null
  undo: { restoredAs: string } | null
}
interface Run {
  id: string
  trigger: string
  status: string
  autoMerge: boolean | null
  profiles: number
  changedProfiles: number
  candidatePairs: number
  autoMerged: number
  queued: number
  toldApart: number
  error: string | null
  startedAt: string
  durationMs: number | null
  undo: { at: string; undone: number; failed: number } | null
}
interface UndoResult {
  undone: unknown[]
  alreadyUndone: number
  failed: Array<{ from: string; reason: string }>
}

/** What the pairs list shows: the queue, or the merges one run made on its own. */
type View = { kind: 'pending' } | { kind: 'run'; runId: string }

const pct = (p: number) => `${(p * 100).toFixed(p >= 0.999 ? 3 : 1)}%`

function SideCard({ side }: { side: Side }) {
  const name = [side.traits?.firstName, side.traits?.lastName].filter(Boolean).join(' ')
  return (
    <Stack gap={2}>
      <Link to={`/profiles/${side.id}`}>{name || side.id}</Link>
      <Text size="xs" c="dimmed">
        {side.id}
      </Text>
      {(side.identifiers ?? []).slice(0, 3).map((i) => (
        <Text key={`${i.type}:${i.value}`} size="xs">
          {i.type}: {i.value}
        </Text>
      ))}
    </Stack>
  )
}

function PairCard({ pair }: { pair: ReviewPair }) {
  const pending = pair.status === 'pending'
  const qc = useQueryClient()
  const decide = useMutation({
    mutationFn: (action: 'accept' | 'reject') =>
      api(`/identity/review/${pair.id}/${action}`, { method: 'POST', body: {} }),
    onSuccess: (_, action) => {
      notifications.show({
        message: action === 'accept' ? 'Profiles merged' : 'Marked as different people',
      })
      void qc.invalidateQueries({ queryKey: ['identity-review'] })
    },
    onError: (err) => notifications.show({ color: 'red', message: errorMessage(err) }),
  })
  return (
    <Card withBorder data-testid="review-pair">
      <Group justify="space-between" mb="sm">
        <Group gap="xs">
          <Badge size="lg" variant="light">
            {pct(pair.probability)} match
          </Badge>
          {pending ? null : (
            <Badge size="lg" variant="outline" color={pair.status === 'undone' ? 'gray' : 'teal'}>
              {pair.status === 'undone'
                ? 'merge undone'
                : pair.autoMerged
                  ? 'auto-merged'
                  : pair.status}
            </Badge>
          )}
        </Group>
        {pending ? (
          <Group gap="xs">
            <Button
              size="xs"
              loading={decide.isPending && decide.variables === 'accept'}
              disabled={pair.reasonCode === 'identity_rules'}
              onClick={() => decide.mutate('accept')}
            >
              Accept (merge)
            </Button>
            <Button
              size="xs"
              variant="default"
              loading={decide.isPending && decide.variables === 'reject'}
              onClick={() => decide.mutate('reject')}
            >
              Reject
            </Button>
          </Group>
        ) : null}
      </Group>
      {pair.undo ? (
        <Text size="sm" mb="xs">
          Split apart again: the merged-away profile now lives as{' '}
          <Link to={`/profiles/${pair.undo.restoredAs}`}>{pair.undo.restoredAs}</Link>
        </Text>
      ) : null}
      {pair.reason ? (
        <Text size="sm" c="orange" mb="xs">
          {pair.reason}
        </Text>
      ) : null}
      <SimpleGrid cols={2} mb="sm">
        <SideCard side={pair.profileA} />
        <SideCard side={pair.profileB} />
      </SimpleGrid>
      <Table striped fz="sm">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Field</Table.Th>
            <Table.Th>Left</Table.Th>
            <Table.Th>Right</Table.Th>
            <Table.Th>Comparison</Table.Th>
            <Table.Th>Weight (bits)</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {pair.explanation.fields.map((f) => (
            <Table.Tr key={f.field}>
              <Table.Td>{f.field}</Table.Td>
              <Table.Td>{f.left ?? '—'}</Table.Td>
              <Table.Td>{f.right ?? '—'}</Table.Td>
              <Table.Td>{f.level}</Table.Td>
              <Table.Td c={f.weight + f.tfAdjustment >= 0 ? 'teal' : 'red'}>
                {(f.weight + f.tfAdjustment).toFixed(2)}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Card>
  )
}

function RunActions({ run, onShow }: { run: Run; onShow: () => void }) {
  const qc = useQueryClient()
  const undo = useMutation({
    mutationFn: () =>
      api<{ data: UndoResult }>(`/identity/matching/runs/${run.id}/undo`, {
        method: 'POST',
        body: {},
      }),
    onSuccess: (res) => {
      const { undone, alreadyUndone, failed } = res.data
      notifications.show({
        color: failed.length > 0 ? 'orange' : undefined,
        message:
          `${undone.length} ${undone.length === 1 ? 'merge' : 'merges'} undone` +
          (alreadyUndone > 0 ? `, ${alreadyUndone} already undone` : '') +
          (failed.length > 0
            ? `; ${failed.length} could not be split: ${failed[0]?.reason ?? ''}`
            : ''),
      })
      void qc.invalidateQueries({ queryKey: ['identity-review'] })
    },
    onError: (err) => notifications.show({ color: 'red', message: errorMessage(err) }),
  })
  if (run.autoMerged === 0) return null
  const left = run.autoMerged - (run.undo?.undone ?? 0)
  return (
    <Group gap="xs" wrap="nowrap">
      <Button size="compact-xs" variant="subtle" onClick={onShow}>
        Show merges
      </Button>
      <Button
        size="compact-xs"
        variant="light"
        color="red"
        disabled={run.status === 'running' || left <= 0}
        loading={undo.isPending}
        onClick={() => {
          if (window.confirm(`Split apart the ${left} merges this run made?`)) undo.mutate()
        }}
      >
        {left <= 0 ? 'Undone' : 'Undo run'}
      </Button>
    </Group>
  )
}

export function IdentityReviewPage() {
  const qc = useQueryClient()
  const [view, setView] = useState<View>({ kind: 'pending' })
  const runs = useQuery({
    queryKey: ['identity-review', 'runs'],
    queryFn: () => api<{ data: Run[] }>('/identity/matching/runs', { query: { limit: 5 } }),
    refetchInterval: (q) => (q.state.data?.data.some((r) => r.status === 'running') ? 1000 : false),
  })
  // Keyed by the last finished run: when a run finishes, the queue it filled is loaded.
  const lastFinished = runs.data?.data.find((r) => r.status !== 'running')?.id ?? null
  const pairs = useQuery({
    queryKey: ['identity-review', 'pairs', lastFinished, view],
    queryFn: () =>
      view.kind === 'pending'
        ? api<{ data: ReviewPair[] }>('/identity/review', { query: { limit: 50 } })
        : api<{ data: ReviewPair[] }>(`/identity/matching/runs/${view.runId}/merges`, {
            query: { limit: 50 },
          }),
    enabled: runs.isFetched,
  })
  const start = useMutation({
    mutationFn: () => api('/identity/matching/runs', { method: 'POST', body: {} }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['identity-review'] }),
    onError: (err) => notifications.show({ color: 'red', message: errorMessage(err) }),
  })
  const running = runs.data?.data.some((r) => r.status === 'running') ?? false
  return (
    <>
      <PageHeader
        title="Identity review"
        description="Profiles that are probably the same person. Accept merges them (reversible by a split); reject remembers they are different people."
        actions={
          <Button loading={start.isPending || running} onClick={() => start.mutate()}>
            Run matching now
          </Button>
        }
      />
      <QueryView query={runs} what="Matching runs">
        {(d) =>
          d.data.length === 0 ? null : (
            <Table mb="lg" fz="sm" data-testid="matching-runs">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Started</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th>Profiles</Table.Th>
                  <Table.Th>Candidate pairs</Table.Th>
                  <Table.Th>Merged</Table.Th>
                  <Table.Th>Queued</Table.Th>
                  <Table.Th title="Look-alikes whose identifiers differ and share nothing: neither merged nor queued">
                    Told apart
                  </Table.Th>
                  <Table.Th>Duration</Table.Th>
                  <Table.Th />
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {d.data.map((r) => (
                  <Table.Tr key={r.id}>
                    <Table.Td>{formatTime(r.startedAt)}</Table.Td>
                    <Table.Td title={r.error ?? undefined}>
                      {r.status}
                      {r.trigger === 'import' ? ' (import)' : ''}
                    </Table.Td>
                    <Table.Td>{r.profiles}</Table.Td>
                    <Table.Td>{r.candidatePairs}</Table.Td>
                    <Table.Td
                      title={
                        r.autoMerge === false ? 'this run only queued (no auto-merge)' : undefined
                      }
                    >
                      {r.autoMerged}
                      {r.undo ? ` (${r.undo.undone} undone)` : ''}
                    </Table.Td>
                    <Table.Td>{r.queued}</Table.Td>
                    <Table.Td>{r.toldApart}</Table.Td>
                    <Table.Td>{r.durationMs === null ? '…' : `${r.durationMs} ms`}</Table.Td>
                    <Table.Td>
                      <RunActions run={r} onShow={() => setView({ kind: 'run', runId: r.id })} />
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )
        }
      </QueryView>
      <SegmentedControl
        mb="md"
        value={view.kind === 'pending' ? 'pending' : 'run'}
        onChange={(v) => {
          if (v === 'pending') setView({ kind: 'pending' })
          else {
            const last = runs.data?.data.find((r) => r.autoMerged > 0)
            if (last) setView({ kind: 'run', runId: last.id })
          }
        }}
        data={[
          { value: 'pending', label: 'To review' },
          {
            value: 'run',
            label: view.kind === 'run' ? `Merges of run ${view.runId}` : 'Merges of the last run',
            disabled: !(runs.data?.data.some((r) => r.autoMerged > 0) ?? false),
          },
        ]}
      />
      <QueryView query={pairs} what="Review queue">
        {(d) =>
          d.data.length === 0 ? (
            <Empty
              title={view.kind === 'pending' ? 'Nothing to review' : 'No merges'}
              description={
                view.kind === 'pending'
                  ? 'Pairs between the review and auto-merge thresholds, and pairs held back by evidence against, appear here after a matching run.'
                  : 'This run merged nothing on its own.'
              }
              icon="inbox"
            />
          ) : (
            <Stack>
              {d.data.map((p) => (
                <PairCard key={p.id} pair={p} />
              ))}
            </Stack>
          )
        }
      </QueryView>
    </>
  )
}
