import {
  Alert,
  Box,
  Button,
  Center,
  Code,
  Paper,
  PasswordInput,
  Stack,
  Text,
  Title,
} from '@mantine/core'
import { useState, type FormEvent } from 'react'
import { api, errorMessage, ApiError } from '../api/client.js'
import { signIn } from '../api/session.js'
import type { Me } from '../api/types.js'

/** Asks for the admin token, checks it with `GET /api/v1/me`, then keeps it in localStorage. */
export function SignInPage() {
  const [token, setToken] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  async function submit(event: FormEvent) {
    event.preventDefault()
    const value = token.trim()
    if (!value) {
      setError('Paste the admin token first.')
      return
    }
    setBusy(true)
    setError(null)
    try {
      const me = await api<Me>('/me', { token: value })
      signIn(value, me.workspace.id)
    } catch (err) {
      setError(
        err instanceof ApiError && (err.status === 401 || err.status === 403)
          ? 'That token was not accepted. Check KINDRED_ADMIN_TOKEN on the server (or the token printed on its first start) and try again.'
          : errorMessage(err),
      )
    } finally {
      setBusy(false)
    }
  }

  return (
    <Center mih="100vh" bg="var(--mantine-color-gray-0)" p="md">
      <Paper withBorder shadow="sm" p="xl" w={440} component="form" onSubmit={submit}>
        <Stack>
          <Box>
            <Title order={2}>Sign in to Kindred</Title>
            <Text c="dimmed" size="sm" mt={4}>
              Paste the admin token of this server. It is the value of{' '}
              <Code>KINDRED_ADMIN_TOKEN</Code>, or the token printed when the server first started.
            </Text>
          </Box>
          <PasswordInput
            label="Admin token"
            placeholder="kdr_admin_…"
            autoFocus
            value={token}
            onChange={(e) => setToken(e.currentTarget.value)}
            data-testid="token-input"
          />
          {error ? (
            <Alert color="red" role="alert" data-testid="sign-in-error">
              {error}
            </Alert>
          ) : null}
          <Button type="submit" loading={busy} data-testid="sign-in">
            Sign in
          </Button>
          <Text size="xs" c="dimmed">
            The token stays in this browser only (localStorage). Sign out to forget it.
          </Text>
        </Stack>
      </Paper>
    </Center>
  )
}
