/**
 * Consent on the profile page: the decision per purpose (status, whether activation may use it
 * under the workspace's default, where it came from and when), the history of decisions, and a
 * small editor that records decisions through `PUT /profiles/:id/consent`.
 */
import {
  Accordion,
  Badge,
  Button,
  Group,
  SegmentedControl,
  Stack,
  Table,
  Text,
  TextInput,
  Tooltip,
} from '@mantine/core'
import { notifications } from '@mantine/notifications'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { api, errorMessage } from '../api/client.js'
import type { ConsentStatus, ProfileConsent } from '../api/types.js'
import { formatShort, formatTime } from '../lib/format.js'
import { ErrorNotice, Loading } from './states.js'

const shorten = (s: string) => (s.length > 18 ? `${s.slice(0, 17)}…` : s)

const statusColor = (s: string) => (s === 'granted' ? 'teal' : s === 'denied' ? 'red' : 'gray')

export function ConsentPanel({ profileId }: { profileId: string }) {
  const path = `/profiles/${encodeURIComponent(profileId)}/consent`
  const consent = useQuery({
    queryKey: ['profile', profileId, 'consent'],
    queryFn: () => api<ProfileConsent>(path),
  })
  const [editing, setEditing] = useState(false)
  if (consent.isPending) return <Loading />
  if (consent.isError) return <ErrorNotice error={consent.error} />
  const c = consent.data
  return (
    <Stack gap="sm" data-testid="consent">
      <Stack gap={6}>
        {c.purposes.map((p) => (
          <Group
            key={p.purpose}
            justify="space-between"
            wrap="nowrap"
            data-testid={`consent-${p.purpose}`}
          >
            <Group gap="xs" wrap="nowrap">
              <Text size="sm" fw={500}>
                {p.purpose}
              </Text>
              <Badge
                color={statusColor(p.status)}
                variant="light"
                tt="none"
                style={{ flexShrink: 0 }}
                data-testid="consent-status"
              >
                {p.status}
              </Badge>
              {p.allowed ? null : (
                <Tooltip label="Destinations with this purpose receive nothing for this person">
                  <Badge color="orange" variant="outline" tt="none" style={{ flexShrink: 0 }}>
                    blocked
                  </Badge>
                </Tooltip>
              )}
            </Group>
            <Text size="xs" c="dimmed" ta="right" data-testid="consent-source">
              {p.source ?? (p.status === 'unknown' ? 'workspace default' : '')}
              {p.updatedAt ? ` · ${formatShort(p.updatedAt)}` : ''}
            </Text>
          </Group>
        ))}
      </Stack>
      {editing ? (
        <ConsentEditor
          consent={c}
          path={path}
          profileId={profileId}
          onDone={() => setEditing(false)}
        />
      ) : (
        <Group justify="flex-end">
          <Button size="xs" variant="default" onClick={() => setEditing(true)}>
            Edit consent…
          </Button>
        </Group>
      )}
      <Accordion variant="contained" chevronPosition="left">
        <Accordion.Item value="history">
          <Accordion.Control>
            <Text size="sm">History ({c.history.length})</Text>
          </Accordion.Control>
          <Accordion.Panel>
            {c.history.length === 0 ? (
              <Text size="sm" c="dimmed">
                No decision recorded yet. Send <code>context.consent.categoryPreferences</code>,
                identify traits <code>consent</code>, or edit above.
              </Text>
            ) : (
              <Table.ScrollContainer minWidth={520}>
                <Table fz="xs" verticalSpacing={2} data-testid="consent-history">
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>when</Table.Th>
                      <Table.Th>purpose</Table.Th>
                      <Table.Th>status</Table.Th>
                      <Table.Th>source</Table.Th>
                      <Table.Th>proof</Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {c.history.map((h) => (
                      <Table.Tr key={h.id}>
                        <Table.Td
                          title={`recorded ${formatTime(h.recordedAt)}`}
                          style={{ whiteSpace: 'nowrap' }}
                        >
                          {formatShort(h.occurredAt)}
                        </Table.Td>
                        <Table.Td>{h.purpose}</Table.Td>
                        <Table.Td>
                          <Badge
                            size="xs"
                            color={statusColor(h.status)}
                            variant="light"
                            tt="none"
                            style={{ flexShrink: 0, overflow: 'visible' }}
                          >
                            {h.status}
                          </Badge>
                        </Table.Td>
                        <Table.Td>{h.source}</Table.Td>
                        <Table.Td title={h.proof}>
                          {typeof h.details.proof === 'string' ? h.details.proof : shorten(h.proof)}
                        </Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </Table.ScrollContainer>
            )}
          </Accordion.Panel>
        </Accordion.Item>
      </Accordion>
    </Stack>
  )
}

function ConsentEditor({
  consent,
  path,
  profileId,
  onDone,
}: {
  consent: ProfileConsent
  path: string
  profileId: string
  onDone: () => void
}) {
  const queryClient = useQueryClient()
  const [choices, setChoices] = useState<Record<string, ConsentStatus | 'unchanged'>>({})
  const [proof, setProof] = useState('')
  const changes = Object.fromEntries(
    Object.entries(choices).filter((e): e is [string, ConsentStatus] => e[1] !== 'unchanged'),
  )
  const save = useMutation({
    mutationFn: () =>
      api<ProfileConsent>(path, {
        method: 'PUT',
        body: { purposes: changes, ...(proof.trim() ? { proof: proof.trim() } : {}) },
      }),
    onSuccess: async () => {
      notifications.show({ color: 'teal', message: 'Consent recorded' })
      await queryClient.invalidateQueries({ queryKey: ['profile', profileId] })
      onDone()
    },
    onError: (error) => notifications.show({ color: 'red', message: errorMessage(error) }),
  })
  return (
    <Stack gap="xs" data-testid="consent-editor">
      {consent.purposes.map((p) => (
        <Group key={p.purpose} justify="space-between" wrap="nowrap">
          <Text size="sm">{p.purpose}</Text>
          <SegmentedControl
            size="xs"
            aria-label={`consent for ${p.purpose}`}
            value={choices[p.purpose] ?? 'unchanged'}
            onChange={(v) =>
              setChoices({ ...choices, [p.purpose]: v as ConsentStatus | 'unchanged' })
            }
            data={[
              { value: 'unchanged', label: 'unchanged' },
              { value: 'granted', label: 'granted' },
              { value: 'denied', label: 'denied' },
            ]}
          />
        </Group>
      ))}
      <TextInput
        size="xs"
        label="Proof (optional)"
        description="What you hold: a ticket, a signed form…"
        maxLength={1000}
        value={proof}
        onChange={(e) => setProof(e.currentTarget.value)}
      />
      <Group justify="flex-end" gap="xs">
        <Button size="xs" variant="subtle" onClick={onDone}>
          Cancel
        </Button>
        <Button
          size="xs"
          loading={save.isPending}
          disabled={Object.keys(changes).length === 0}
          onClick={() => save.mutate()}
        >
          Save consent
        </Button>
      </Group>
    </Stack>
  )
}
