/**
 * Account: who is signed in (e-mail, role here, workspaces) and a form to change the password.
 * Signed in with the admin token or an API key, there is no password: the page says so.
 */
import { Alert, Badge, Button, Card, Group, PasswordInput, Stack, Table, Text } from '@mantine/core'
import { useMutation, useQuery } from '@tanstack/react-query'
import { useState, type FormEvent } from 'react'
import { api, ApiError, errorMessage } from '../api/client.js'
import type { Me } from '../api/types.js'
import { PageHeader } from '../components/page-header.js'
import { QueryView } from '../components/states.js'

/** Mirrors the server's policy (src/govern/engine/passwords.ts): checked here for a quicker answer. */
const MIN_LENGTH = 10
const MAX_LENGTH = 256

export function AccountPage() {
  const me = useQuery({ queryKey: ['me'], queryFn: () => api<Me>('/me') })
  return (
    <>
      <PageHeader title="Account" description="Who you are signed in as, and your password." />
      <QueryView query={me} what="Account">
        {(data) =>
          data.kind === 'user' && data.user ? (
            <Stack maw={560}>
              <Card withBorder data-testid="account-card">
                <Stack gap="xs">
                  <Group gap="xs">
                    <Text fw={600}>{data.user.email}</Text>
                    {data.role ? <Badge variant="light">{data.role}</Badge> : null}
                  </Group>
                  <Workspaces me={data} />
                </Stack>
              </Card>
              <ChangePassword />
            </Stack>
          ) : (
            <Alert color="gray" data-testid="no-password">
              You are signed in with an API key (such as the admin token). Keys have no password: to
              replace one, create a new key under Settings → API keys and revoke the old one.
            </Alert>
          )
        }
      </QueryView>
    </>
  )
}

function Workspaces({ me }: { me: Me }) {
  const list = me.workspaces ?? []
  if (list.length === 0) return null
  return (
    <Table withRowBorders={false} verticalSpacing={2} data-testid="account-workspaces">
      <Table.Thead>
        <Table.Tr>
          <Table.Th pl={0}>Workspace</Table.Th>
          <Table.Th>Your role</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {list.map((w) => (
          <Table.Tr key={w.workspaceId}>
            <Table.Td pl={0}>{w.workspaceName || w.workspaceId}</Table.Td>
            <Table.Td>
              <Text size="sm" c="dimmed">
                {w.role}
              </Text>
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  )
}

function ChangePassword() {
  const [current, setCurrent] = useState('')
  const [next, setNext] = useState('')
  const [repeat, setRepeat] = useState('')
  const [problem, setProblem] = useState<string | null>(null)
  const [done, setDone] = useState<number | null>(null)
  const change = useMutation({
    mutationFn: () =>
      api<{ success: true; revokedSessions: number }>('/me/password', {
        method: 'POST',
        body: { currentPassword: current, newPassword: next },
      }),
    onSuccess: (r) => {
      setCurrent('')
      setNext('')
      setRepeat('')
      setDone(r.revokedSessions)
    },
    onError: (err) => setProblem(explain(err)),
  })

  function submit(event: FormEvent) {
    event.preventDefault()
    setDone(null)
    const local =
      !current || !next
        ? 'Enter your current password and a new one.'
        : next.length < MIN_LENGTH
          ? `The new password needs at least ${MIN_LENGTH} characters.`
          : next.length > MAX_LENGTH
            ? `The new password may have at most ${MAX_LENGTH} characters.`
            : next !== repeat
              ? 'The two new passwords differ.'
              : next === current
                ? 'The new password must differ from the current one.'
                : null
    setProblem(local)
    if (!local) change.mutate()
  }

  return (
    <Card withBorder component="form" onSubmit={submit} data-testid="change-password-form">
      <Stack>
        <Text fw={600}>Change password</Text>
        <PasswordInput
          label="Current password"
          autoComplete="current-password"
          value={current}
          onChange={(e) => setCurrent(e.currentTarget.value)}
          data-testid="current-password"
        />
        <PasswordInput
          label="New password"
          description={`At least ${MIN_LENGTH} characters`}
          autoComplete="new-password"
          value={next}
          onChange={(e) => setNext(e.currentTarget.value)}
          data-testid="new-password"
        />
        <PasswordInput
          label="Repeat the new password"
          autoComplete="new-password"
          value={repeat}
          onChange={(e) => setRepeat(e.currentTarget.value)}
          data-testid="repeat-password"
        />
        {problem ? (
          <Alert color="red" role="alert" data-testid="change-password-error">
            {problem}
          </Alert>
        ) : null}
        {done !== null ? (
          <Alert color="teal" data-testid="change-password-done">
            Password changed.{' '}
            {done > 0
              ? `Your ${done} other session${done === 1 ? ' was' : 's were'} signed out.`
              : 'You stay signed in here.'}
          </Alert>
        ) : null}
        <Group>
          <Button type="submit" loading={change.isPending} data-testid="change-password">
            Change password
          </Button>
        </Group>
      </Stack>
    </Card>
  )
}

function explain(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.code === 'WRONG_PASSWORD') return 'The current password is wrong.'
    if (err.code === 'RATE_LIMITED') {
      return 'Too many wrong passwords: wait a minute and try again.'
    }
  }
  return errorMessage(err)
}
