/**
 * A source's write keys on its page: the current key and the install snippets with copy buttons,
 * keys still in their overlap after a rotation (with when they stop, and a way to stop one now),
 * and the rotation itself behind a confirmation. Only members who manage sources
 * (`write:sources`) may see keys; others are told so instead of shown an error.
 */
import { Alert, Badge, Button, Code, Group, Paper, Select, Stack, Text, Title } from '@mantine/core'
import { notifications } from '@mantine/notifications'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import type { WriteKeyView } from '../../../src/collect/engine/write-key-service.js'
import { ApiError, api } from '../api/client.js'
import type { Source } from '../api/types.js'
import { formatTime } from '../lib/format.js'
import { ConfirmModal } from './confirm-modal.js'
import { CopyField } from './copy-field.js'
import { InstallSnippets } from './install-snippets.js'
import { ErrorNotice, Loading } from './states.js'

const OVERLAPS = [
  { value: String(24 * 3600), label: 'keeps working for 24 hours' },
  { value: String(3600), label: 'keeps working for 1 hour' },
  { value: String(7 * 24 * 3600), label: 'keeps working for 7 days' },
  { value: '0', label: 'stops at once (it leaked)' },
]

const unavailableText: Record<NonNullable<WriteKeyView['unavailable']>, string> = {
  hash_only:
    'This key was made before Kindred kept keys to show again: only its hash is stored. Rotate to get a key you can copy here.',
  secret_key_changed:
    'This key cannot be shown: the server’s secret key changed since it was stored. It still works; rotate to get one you can copy.',
}

export function WriteKeyPanel({ source }: { source: Source }) {
  const queryClient = useQueryClient()
  const path = `/sources/${encodeURIComponent(source.id)}`
  const keys = useQuery({
    queryKey: ['sources', source.id, 'write-keys'],
    queryFn: () => api<{ data: WriteKeyView[] }>(`${path}/write-keys`),
  })
  const [rotating, setRotating] = useState(false)
  const [overlap, setOverlap] = useState(OVERLAPS[0]!.value)
  const [stopping, setStopping] = useState<WriteKeyView | null>(null)
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ['sources', source.id] })
    void queryClient.invalidateQueries({ queryKey: ['sources'], exact: true })
  }
  const rotate = useMutation({
    mutationFn: () =>
      api<{ writeKey: string; keys: WriteKeyView[] }>(`${path}/rotate-key`, {
        method: 'POST',
        body: { overlapSeconds: Number(overlap) },
      }),
    onSuccess: (r) => {
      setRotating(false)
      const old = r.keys.find((k) => k.status === 'retiring' && k.expiresAt)
      notifications.show({
        color: 'teal',
        message: old
          ? `New write key issued. The old one works until ${formatTime(old.expiresAt)}.`
          : 'New write key issued. The old one no longer works.',
      })
      refresh()
    },
  })
  const stop = useMutation({
    mutationFn: (id: string) =>
      api(`${path}/write-keys/${encodeURIComponent(id)}`, { method: 'DELETE' }),
    onSuccess: () => {
      setStopping(null)
      refresh()
    },
  })

  let body
  if (keys.isPending) body = <Loading />
  else if (keys.isError) {
    body =
      keys.error instanceof ApiError && keys.error.status === 403 ? (
        <Text size="sm" c="dimmed" data-testid="write-key-forbidden">
          Your role cannot see write keys: members who manage sources (admins and owners) can.
        </Text>
      ) : (
        <ErrorNotice error={keys.error} onRetry={() => void keys.refetch()} />
      )
  } else {
    const current = keys.data.data.find((k) => k.status === 'current')
    const retiring = keys.data.data.filter((k) => k.status === 'retiring')
    body = (
      <Stack>
        {current?.writeKey ? (
          <CopyField label="Write key" value={current.writeKey} testId="current-write-key" />
        ) : (
          <Alert color="gray" data-testid="write-key-unavailable">
            <Code>{current?.prefix}…</Code>{' '}
            {current?.unavailable ? unavailableText[current.unavailable] : null}
          </Alert>
        )}
        {current ? (
          <Text size="xs" c="dimmed">
            Issued {formatTime(current.issuedAt)}; it does not expire.
          </Text>
        ) : null}
        {retiring.length > 0 ? (
          <Stack gap="xs" data-testid="retiring-keys">
            <Text size="sm" fw={600}>
              Previous keys, still working
            </Text>
            {retiring.map((k) => (
              <Group
                key={k.id}
                justify="space-between"
                data-testid="retiring-key"
                data-key-prefix={k.prefix}
              >
                <Group gap="xs">
                  <Code>{k.writeKey ?? `${k.prefix}…`}</Code>
                  <Badge color="orange" variant="light">
                    works until {formatTime(k.expiresAt)}
                  </Badge>
                </Group>
                <Button
                  size="xs"
                  variant="subtle"
                  color="red"
                  onClick={() => {
                    stop.reset()
                    setStopping(k)
                  }}
                >
                  Stop now
                </Button>
              </Group>
            ))}
          </Stack>
        ) : null}
        {current?.writeKey ? <InstallSnippets writeKey={current.writeKey} /> : null}
      </Stack>
    )
  }

  return (
    <Paper withBorder p="md" data-testid="write-key-panel">
      <Group justify="space-between" mb="sm">
        <Title order={4}>Write key and install</Title>
        {keys.isSuccess ? (
          <Button
            size="xs"
            variant="light"
            color="orange"
            onClick={() => {
              rotate.reset()
              setRotating(true)
            }}
            data-testid="rotate-key"
          >
            Rotate key
          </Button>
        ) : null}
      </Group>
      {body}
      <ConfirmModal
        opened={rotating}
        onClose={() => setRotating(false)}
        title="Rotate this write key?"
        subject={
          <>
            The write key <Code>{source.writeKeyPrefix}…</Code> of “{source.name}”
          </>
        }
        confirmLabel="Rotate key"
        color="orange"
        onConfirm={() => rotate.mutate()}
        pending={rotate.isPending}
        error={rotate.error}
        testId="rotate"
      >
        <Stack gap="xs">
          <Text size="sm">
            A new key is issued at once. Apps and sites sending with the current key must be moved
            to the new one; until its time is up the current key
          </Text>
          <Select
            aria-label="The current key after rotation"
            data={OVERLAPS}
            value={overlap}
            onChange={(v) => v && setOverlap(v)}
            allowDeselect={false}
            data-testid="rotate-overlap"
          />
          <Text size="sm">After that, events sent with it are refused (401).</Text>
        </Stack>
      </ConfirmModal>
      <ConfirmModal
        opened={stopping !== null}
        onClose={() => setStopping(null)}
        title="Stop this previous key now?"
        subject={
          <>
            The previous write key <Code>{stopping?.prefix}…</Code> of “{source.name}”
          </>
        }
        confirmLabel="Stop key"
        onConfirm={() => stopping?.id && stop.mutate(stopping.id)}
        pending={stop.isPending}
        error={stop.error}
        testId="stop-key"
      >
        Anything still sending with it gets 401 answers from now on. The current key keeps working.
      </ConfirmModal>
    </Paper>
  )
}
