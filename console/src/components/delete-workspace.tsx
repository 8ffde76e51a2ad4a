/**
 * Deleting the current workspace (Settings → Workspace): owners only, never `default`, and only
 * after its id is typed, because everything in it goes (sources, profiles, events, segments,
 * destinations, members; the audit log stays).
 */
import { Button, Code, Paper, Stack, Text, Title } from '@mantine/core'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { api } from '../api/client.js'
import { setWorkspace } from '../api/session.js'
import type { Me } from '../api/types.js'
import { navigate } from '../lib/router.js'
import { ConfirmModal } from './confirm-modal.js'
import { QueryView } from './states.js'

export function DeleteWorkspace() {
  const me = useQuery({ queryKey: ['me'], queryFn: () => api<Me>('/me') })
  return (
    <QueryView query={me} what="Workspace">
      {(m) => <DangerZone me={m} />}
    </QueryView>
  )
}

function DangerZone({ me }: { me: Me }) {
  const queryClient = useQueryClient()
  const [open, setOpen] = useState(false)
  const { id, name } = me.workspace
  const remove = useMutation({
    mutationFn: () =>
      api(`/workspaces/${encodeURIComponent(id)}`, { method: 'DELETE', body: { confirm: id } }),
    onSuccess: () => {
      setOpen(false)
      setWorkspace('default')
      queryClient.clear()
      navigate('/')
    },
  })
  const mayDelete = me.scopes.includes('admin') || me.scopes.includes('write:workspace')
  return (
    <Paper withBorder p="md" data-testid="workspace-danger-zone">
      <Stack gap="sm" align="flex-start">
        <Title order={4}>Delete this workspace</Title>
        {id === 'default' ? (
          <Text size="sm" c="dimmed">
            The default workspace cannot be deleted: Kindred recreates it on every start.
          </Text>
        ) : !mayDelete ? (
          <Text size="sm" c="dimmed">
            Only the workspace’s owners can delete it.
          </Text>
        ) : (
          <>
            <Text size="sm">
              Deletes <Code>{id}</Code> and everything in it for everyone. The audit log stays.
            </Text>
            <Button color="red" variant="light" onClick={() => setOpen(true)}>
              Delete workspace
            </Button>
          </>
        )}
      </Stack>
      <ConfirmModal
        opened={open}
        onClose={() => setOpen(false)}
        title="Delete this workspace?"
        subject={
          <>
            The workspace “{name}” (<Code>{id}</Code>) and all its data
          </>
        }
        confirmLabel="Delete workspace"
        typed={id}
        onConfirm={() => remove.mutate()}
        pending={remove.isPending}
        error={remove.error}
        testId="delete-workspace"
      >
        Its sources and write keys, profiles, events, segments, computed traits, destinations,
        imports, privacy requests, API keys and members, for everyone who uses it.
      </ConfirmModal>
    </Paper>
  )
}
