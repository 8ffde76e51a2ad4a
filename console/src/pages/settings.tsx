/**
 * Settings: the workspace's members and their roles (and a new password for one who lost theirs),
 * API keys (the secret is shown once), the audit log, and deleting the workspace. Each tab answers
 * "not available" by itself when the caller's role may not see it.
 */
import {
  Alert,
  Badge,
  Button,
  Code,
  Group,
  Modal,
  MultiSelect,
  PasswordInput,
  Select,
  Stack,
  Tabs,
  Text,
  TextInput,
} from '@mantine/core'
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useState, type FormEvent } from 'react'
import { api, errorMessage } from '../api/client.js'
import type {
  ApiKeyInfo,
  AuditEntry,
  CreatedApiKey,
  Member,
  Page,
  Role,
  ScopeInfo,
} from '../api/types.js'
import { ConfirmModal } from '../components/confirm-modal.js'
import {
  AlertSettings,
  ConsentSettings,
  IdentitySettings,
  MatchingSettings,
  PersonalDataSettings,
} from './settings-data.js'
import { CopyField } from '../components/copy-field.js'
import { DeleteWorkspace } from '../components/delete-workspace.js'
import { PageHeader } from '../components/page-header.js'
import { Empty, QueryView } from '../components/states.js'
import { ResourceTable } from '../components/resource-table.js'
import { formatTime } from '../lib/format.js'

const ROLES: Array<{ value: Role; label: string }> = [
  { value: 'viewer', label: 'Viewer: reads everything but keys, privacy and audit' },
  { value: 'editor', label: 'Editor: + segments, traits, destinations, tracking plans' },
  { value: 'admin', label: 'Admin: + sources, imports, keys, members, privacy, audit' },
  { value: 'owner', label: 'Owner: everything, including the workspace itself' },
]

export function SettingsPage() {
  return (
    <>
      <PageHeader
        title="Settings"
        description="Who may do what in this workspace, the keys scripts use, the record of every change, and how identities, consent and personal data are treated."
      />
      <Tabs defaultValue="users" keepMounted={false}>
        <Tabs.List mb="md">
          <Tabs.Tab value="users" data-testid="tab-users">
            Users
          </Tabs.Tab>
          <Tabs.Tab value="keys" data-testid="tab-keys">
            API keys
          </Tabs.Tab>
          <Tabs.Tab value="audit" data-testid="tab-audit">
            Audit log
          </Tabs.Tab>
          <Tabs.Tab value="identity" data-testid="tab-identity">
            Identity
          </Tabs.Tab>
          <Tabs.Tab value="matching" data-testid="tab-matching">
            Matching
          </Tabs.Tab>
          <Tabs.Tab value="consent" data-testid="tab-consent">
            Consent
          </Tabs.Tab>
          <Tabs.Tab value="personal-data" data-testid="tab-personal-data">
            Personal data
          </Tabs.Tab>
          <Tabs.Tab value="workspace" data-testid="tab-workspace">
            Workspace
          </Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="users">
          <UsersTab />
        </Tabs.Panel>
        <Tabs.Panel value="keys">
          <KeysTab />
        </Tabs.Panel>
        <Tabs.Panel value="audit">
          <AuditTab />
        </Tabs.Panel>
        <Tabs.Panel value="identity">
          <IdentitySettings />
        </Tabs.Panel>
        <Tabs.Panel value="matching">
          <MatchingSettings />
        </Tabs.Panel>
        <Tabs.Panel value="consent">
          <ConsentSettings />
        </Tabs.Panel>
        <Tabs.Panel value="personal-data">
          <PersonalDataSettings />
        </Tabs.Panel>
        <Tabs.Panel value="workspace">
          <Stack gap="lg">
            <AlertSettings />
            <DeleteWorkspace />
          </Stack>
        </Tabs.Panel>
      </Tabs>
    </>
  )
}

function UsersTab() {
  const queryClient = useQueryClient()
  const members = useQuery({ queryKey: ['users'], queryFn: () => api<Page<Member>>('/users') })
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  // Unpicked, the role follows the server's default: owner while the workspace has none.
  const [picked, setRole] = useState<Role | null>(null)
  const hasOwner = members.data?.data.some((m) => m.role === 'owner') ?? true
  const role: Role = picked ?? (hasOwner ? 'viewer' : 'owner')
  const [resetFor, setResetFor] = useState<Member | null>(null)
  const [removing, setRemoving] = useState<Member | null>(null)
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ['users'] })
  const add = useMutation({
    mutationFn: () =>
      api<Member>('/users', {
        method: 'POST',
        body: { email: email.trim(), role, ...(password ? { password } : {}) },
      }),
    onSuccess: () => {
      setEmail('')
      setPassword('')
      setRole(null)
      refresh()
    },
  })
  const change = useMutation({
    mutationFn: (v: { id: string; role: Role | null }) =>
      v.role
        ? api(`/users/${encodeURIComponent(v.id)}`, { method: 'PATCH', body: { role: v.role } })
        : api(`/users/${encodeURIComponent(v.id)}`, { method: 'DELETE' }),
    onSuccess: (_data, v) => {
      if (v.role === null) setRemoving(null)
    },
    onSettled: refresh,
  })
  function submit(event: FormEvent) {
    event.preventDefault()
    if (email.trim()) add.mutate()
  }
  return (
    <Stack>
      <QueryView query={members} what="Users">
        {(page) => (
          <ResourceTable
            rows={page.data}
            rowKey={(m) => m.id}
            testId="users-table"
            empty={
              <Empty
                icon="profiles"
                title="No users yet"
                description="Add a member below: they sign in with their e-mail and password."
              />
            }
            columns={[
              { title: 'E-mail', render: (m) => m.email },
              {
                title: 'Role',
                render: (m) => (
                  <Select
                    size="xs"
                    w={160}
                    aria-label={`Role of ${m.email}`}
                    data={ROLES.map((r) => r.value)}
                    value={m.role}
                    allowDeselect={false}
                    onChange={(v) =>
                      v && v !== m.role && change.mutate({ id: m.id, role: v as Role })
                    }
                  />
                ),
              },
              { title: 'Added', render: (m) => formatTime(m.createdAt) },
              {
                align: 'right',
                render: (m) => (
                  <>
                    <Button
                      size="xs"
                      variant="subtle"
                      onClick={() => setResetFor(m)}
                      data-testid={`set-password-${m.email}`}
                    >
                      Set password
                    </Button>
                    <Button
                      size="xs"
                      variant="subtle"
                      color="red"
                      onClick={() => {
                        change.reset()
                        setRemoving(m)
                      }}
                      data-testid={`remove-${m.email}`}
                    >
                      Remove
                    </Button>
                  </>
                ),
              },
            ]}
          />
        )}
      </QueryView>
      {change.isError && removing === null ? (
        <Alert color="red">{errorMessage(change.error)}</Alert>
      ) : null}
      <ConfirmModal
        opened={removing !== null}
        onClose={() => setRemoving(null)}
        title="Remove this member?"
        subject={
          <>
            {removing?.email} ({removing?.role}) from this workspace
          </>
        }
        confirmLabel="Remove member"
        onConfirm={() => removing && change.mutate({ id: removing.id, role: null })}
        pending={change.isPending}
        error={removing ? change.error : null}
        testId="remove-member"
      >
        Their sessions here end; their account and other workspaces stay.
      </ConfirmModal>
      <form onSubmit={submit}>
        <Group align="flex-end">
          <TextInput
            label="E-mail"
            type="email"
            value={email}
            onChange={(e) => setEmail(e.currentTarget.value)}
            w={240}
          />
          <PasswordInput
            label="Password"
            description="For a new account (10+ characters)"
            value={password}
            onChange={(e) => setPassword(e.currentTarget.value)}
            w={220}
          />
          <Select
            label="Role"
            data={ROLES}
            value={role}
            allowDeselect={false}
            onChange={(v) => v && setRole(v as Role)}
            w={340}
          />
          <Button type="submit" loading={add.isPending}>
            Add user
          </Button>
        </Group>
      </form>
      {add.isError ? <Alert color="red">{errorMessage(add.error)}</Alert> : null}
      <Modal
        opened={resetFor !== null}
        onClose={() => setResetFor(null)}
        title={resetFor ? `New password for ${resetFor.email}` : ''}
      >
        {resetFor ? <SetPasswordForm member={resetFor} onDone={() => setResetFor(null)} /> : null}
      </Modal>
    </Stack>
  )
}

/** An owner or admin sets a member's password (they forgot theirs); the member is signed out. */
function SetPasswordForm({ member, onDone }: { member: Member; onDone: () => void }) {
  const [password, setPassword] = useState('')
  const reset = useMutation({
    mutationFn: () =>
      api<{ revokedSessions: number }>(`/users/${encodeURIComponent(member.id)}/password`, {
        method: 'POST',
        body: { newPassword: password },
      }),
  })
  function submit(event: FormEvent) {
    event.preventDefault()
    if (password) reset.mutate()
  }
  return reset.isSuccess ? (
    <Stack>
      <Alert color="teal">
        Password set. {member.email} was signed out everywhere: tell them the new password in person
        or over a channel you trust.
      </Alert>
      <Button onClick={onDone}>Done</Button>
    </Stack>
  ) : (
    <form onSubmit={submit}>
      <Stack>
        <PasswordInput
          label="New password"
          description="10+ characters. Their sessions end."
          autoComplete="new-password"
          value={password}
          onChange={(e) => setPassword(e.currentTarget.value)}
          data-autofocus
        />
        {reset.isError ? (
          <Alert color="red" role="alert">
            {errorMessage(reset.error)}
          </Alert>
        ) : null}
        <Button type="submit" loading={reset.isPending}>
          Set password
        </Button>
      </Stack>
    </form>
  )
}

function KeysTab() {
  const queryClient = useQueryClient()
  const keys = useQuery({
    queryKey: ['api-keys'],
    queryFn: () => api<Page<ApiKeyInfo>>('/api-keys'),
  })
  const scopes = useQuery({
    queryKey: ['scopes'],
    queryFn: () => api<Page<ScopeInfo>>('/scopes'),
  })
  const sources = useQuery({
    queryKey: ['sources'],
    queryFn: () => api<Page<{ id: string; name: string }>>('/sources'),
  })
  const [name, setName] = useState('')
  const [chosen, setChosen] = useState<string[]>([])
  const [created, setCreated] = useState<CreatedApiKey | null>(null)
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ['api-keys'] })
  const create = useMutation({
    mutationFn: () =>
      api<CreatedApiKey>('/api-keys', {
        method: 'POST',
        body: { name: name.trim(), scopes: chosen },
      }),
    onSuccess: (key) => {
      setName('')
      setChosen([])
      setCreated(key)
      refresh()
    },
  })
  const [revoking, setRevoking] = useState<ApiKeyInfo | null>(null)
  const revoke = useMutation({
    mutationFn: (id: string) => api(`/api-keys/${encodeURIComponent(id)}`, { method: 'DELETE' }),
    onSuccess: () => setRevoking(null),
    onSettled: refresh,
  })
  const options = [
    ...(scopes.data?.data ?? []).map((s) => ({
      value: s.scope,
      label: `${s.scope}: ${s.description}`,
    })),
    ...(sources.data?.data ?? []).map((s) => ({
      value: `write:source:${s.id}`,
      label: `write:source:${s.id}: send events to ${s.name}`,
    })),
  ]
  function submit(event: FormEvent) {
    event.preventDefault()
    if (name.trim() && chosen.length > 0) create.mutate()
  }
  return (
    <Stack>
      <QueryView query={keys} what="API keys">
        {(page) => (
          <ResourceTable
            rows={page.data}
            rowKey={(k) => k.id}
            testId="keys-table"
            empty={
              <Empty
                icon="link"
                title="No API keys yet"
                description="Create a key for a script or a server: it gets only the scopes you pick."
              />
            }
            columns={[
              { title: 'Name', render: (k) => k.name },
              { title: 'Key', render: (k) => <Code>{k.keyPrefix}…</Code> },
              {
                title: 'Scopes',
                render: (k) => (
                  <Group gap={4}>
                    {k.scopes.map((s) => (
                      <Badge key={s} variant="light" size="sm">
                        {s}
                      </Badge>
                    ))}
                  </Group>
                ),
              },
              { title: 'Created', render: (k) => formatTime(k.createdAt) },
              {
                align: 'right',
                render: (k) => (
                  <Button
                    size="xs"
                    variant="subtle"
                    color="red"
                    onClick={() => {
                      revoke.reset()
                      setRevoking(k)
                    }}
                    data-testid={`revoke-${k.name}`}
                  >
                    Revoke
                  </Button>
                ),
              },
            ]}
          />
        )}
      </QueryView>
      <form onSubmit={submit}>
        <Group align="flex-end">
          <TextInput
            label="Name"
            placeholder="Nightly export"
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            w={220}
            data-testid="key-name"
          />
          <MultiSelect
            label="Scopes"
            placeholder="Pick what the key may do"
            data={options}
            value={chosen}
            onChange={setChosen}
            searchable
            w={460}
            data-testid="key-scopes"
          />
          <Button type="submit" loading={create.isPending} data-testid="create-key">
            Create key
          </Button>
        </Group>
      </form>
      {create.isError ? <Alert color="red">{errorMessage(create.error)}</Alert> : null}
      <ConfirmModal
        opened={revoking !== null}
        onClose={() => setRevoking(null)}
        title="Revoke this API key?"
        subject={
          <>
            The API key “{revoking?.name}” (<Code>{revoking?.keyPrefix}…</Code>)
          </>
        }
        confirmLabel="Revoke key"
        onConfirm={() => revoking && revoke.mutate(revoking.id)}
        pending={revoke.isPending}
        error={revoke.error}
        testId="revoke-key"
      >
        Scripts and servers using it get 401 answers from now on.
      </ConfirmModal>
      <Modal opened={created !== null} onClose={() => setCreated(null)} title="Your new API key">
        {created ? (
          <Stack>
            <Alert color="yellow">
              Copy the key now: it is shown once and only its hash is stored.
            </Alert>
            <CopyField label="API key" value={created.secret} testId="new-key-secret" />
            <Text size="sm">
              Send it as <Code>Authorization: Bearer …</Code>. Scopes: {created.scopes.join(', ')}.
            </Text>
            <Button onClick={() => setCreated(null)}>Done</Button>
          </Stack>
        ) : null}
      </Modal>
    </Stack>
  )
}

function AuditTab() {
  const [action, setAction] = useState('')
  const audit = useInfiniteQuery({
    queryKey: ['audit', action],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) =>
      api<{ data: AuditEntry[]; nextCursor: string | null }>('/audit', {
        query: { limit: 50, cursor: pageParam, action: action || undefined },
      }),
    getNextPageParam: (last) => last.nextCursor,
  })
  return (
    <Stack>
      <TextInput
        label="Action"
        description='Exact ("source.create") or a prefix ending in a dot ("source.")'
        value={action}
        onChange={(e) => setAction(e.currentTarget.value.trim())}
        w={320}
      />
      <QueryView query={audit} what="The audit log">
        {(data) => (
          <ResourceTable
            rows={data.pages.flatMap((p) => p.data)}
            rowKey={(r) => r.id}
            testId="audit-table"
            rowTestId="audit-row"
            more={audit}
            empty={
              <Empty
                icon="clock"
                title="Nothing recorded yet"
                description="Every change made through the API appears here."
              />
            }
            columns={[
              { title: 'When', render: (r) => formatTime(r.at) },
              {
                title: 'Who',
                render: (r) => (
                  <>
                    {r.actorLabel ?? r.actorId ?? '—'}{' '}
                    <Text span c="dimmed" size="xs">
                      ({r.actorKind})
                    </Text>
                  </>
                ),
              },
              { title: 'Action', render: (r) => <Code>{r.action}</Code> },
              {
                title: 'Target',
                render: (r) => (r.targetId ? `${r.targetType ?? ''} ${r.targetId}` : '—'),
              },
              {
                title: 'Outcome',
                render: (r) => (
                  <>
                    <Badge
                      variant="light"
                      color={
                        r.outcome === 'success' ? 'teal' : r.outcome === 'denied' ? 'orange' : 'red'
                      }
                    >
                      {r.outcome}
                    </Badge>{' '}
                    {r.status ? (
                      <Text span c="dimmed" size="xs">
                        {r.status}
                      </Text>
                    ) : null}
                  </>
                ),
              },
            ]}
          />
        )}
      </QueryView>
    </Stack>
  )
}
