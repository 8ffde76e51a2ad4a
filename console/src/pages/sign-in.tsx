import {
  Alert,
  Box,
  Button,
  Center,
  Code,
  Paper,
  PasswordInput,
  SegmentedControl,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core'
import { useState, type FormEvent } from 'react'
import { api, errorMessage, ApiError } from '../api/client.js'
import { signIn, signInWithCookie } from '../api/session.js'
import type { LoginResult, Me } from '../api/types.js'

/**
 * Signs in with e-mail and password (the server sets an HttpOnly session cookie), or with the
 * admin token, which is checked with `GET /api/v1/me` and then kept in localStorage.
 */
export function SignInPage() {
  const [mode, setMode] = useState<'password' | 'token'>('password')
  return (
    <Center mih="100vh" bg="var(--mantine-color-gray-0)" p="md">
      <Paper withBorder shadow="sm" p="xl" w={440}>
        <Stack>
          <Box>
            <Title order={2}>Sign in to Kindred</Title>
          </Box>
          <SegmentedControl
            fullWidth
            value={mode}
            onChange={(v) => setMode(v as 'password' | 'token')}
            data={[
              { value: 'password', label: 'E-mail and password' },
              { value: 'token', label: 'Admin token' },
            ]}
            data-testid="sign-in-mode"
          />
          {mode === 'password' ? <PasswordForm /> : <TokenForm />}
        </Stack>
      </Paper>
    </Center>
  )
}

function PasswordForm() {
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  async function submit(event: FormEvent) {
    event.preventDefault()
    if (!email.trim() || !password) {
      setError('Enter your e-mail and password.')
      return
    }
    setBusy(true)
    setError(null)
    try {
      const result = await api<LoginResult>('/auth/login', {
        method: 'POST',
        body: { email: email.trim(), password },
      })
      const first =
        result.workspaces.find((w) => w.workspaceId === 'default') ?? result.workspaces[0]
      signInWithCookie(first?.workspaceId ?? null)
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? 'That e-mail and password do not match an account.'
          : errorMessage(err),
      )
    } finally {
      setBusy(false)
    }
  }

  return (
    <form onSubmit={submit}>
      <Stack>
        <TextInput
          label="E-mail"
          type="email"
          autoComplete="username"
          autoFocus
          value={email}
          onChange={(e) => setEmail(e.currentTarget.value)}
          data-testid="email-input"
        />
        <PasswordInput
          label="Password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.currentTarget.value)}
          data-testid="password-input"
        />
        {error ? (
          <Alert color="red" role="alert" data-testid="sign-in-error">
            {error}
          </Alert>
        ) : null}
        <Button type="submit" loading={busy} data-testid="sign-in-password">
          Sign in
        </Button>
        <Text size="xs" c="dimmed">
          No account yet? An owner or admin adds you under Settings → Users, or run{' '}
          <Code>kindred user create</Code> on the server.
        </Text>
      </Stack>
    </form>
  )
}

function TokenForm() {
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
    <form onSubmit={submit}>
      <Stack>
        <Text c="dimmed" size="sm">
          Paste the admin token of this server. It is the value of <Code>KINDRED_ADMIN_TOKEN</Code>,
          or the token printed when the server first started.
        </Text>
        <PasswordInput
          label="Admin token"
          placeholder="kdr_admin_…"
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
    </form>
  )
}
