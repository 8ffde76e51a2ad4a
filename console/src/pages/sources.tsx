import { Alert, Anchor, Button, Code, Group, Modal, Stack, Text, TextInput } from '@mantine/core'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useState, type FormEvent } from 'react'
import { api, errorMessage } from '../api/client.js'
import type { CreatedSource, Page, Source } from '../api/types.js'
import { CopyField } from '../components/copy-field.js'
import { InstallSnippets } from '../components/install-snippets.js'
import { PageHeader } from '../components/page-header.js'
import { Empty, QueryView } from '../components/states.js'
import { ResourceTable } from '../components/resource-table.js'
import { formatTime } from '../lib/format.js'
import { Link, navigate } from '../lib/router.js'

export function SourcesPage() {
  const [creating, setCreating] = useState(false)
  const [created, setCreated] = useState<CreatedSource | null>(null)
  const sources = useQuery({
    queryKey: ['sources'],
    queryFn: () => api<Page<Source>>('/sources'),
  })
  return (
    <>
      <PageHeader
        title="Sources"
        description="Where events come from: each source has a write key for the Segment-compatible tracking API."
        actions={
          <Button onClick={() => setCreating(true)} data-testid="new-source">
            New source
          </Button>
        }
      />
      <QueryView query={sources} what="Sources">
        {(page) => (
          <ResourceTable
            rows={page.data}
            rowKey={(source) => source.id}
            testId="sources-table"
            highlightOnHover
            empty={
              <Empty
                icon="sources"
                title="No sources yet"
                description="Create a source to get a write key, then send events with curl, analytics-node or analytics.js."
                action={<Button onClick={() => setCreating(true)}>Create your first source</Button>}
              />
            }
            columns={[
              {
                title: 'Name',
                render: (source) => (
                  <Anchor component={Link} to={`/sources/${source.id}`} fw={600}>
                    {source.name}
                  </Anchor>
                ),
              },
              { title: 'Write key', render: (source) => <Code>{source.writeKeyPrefix}…</Code> },
              { title: 'Created', render: (source) => formatTime(source.createdAt) },
              {
                align: 'right',
                render: (source) => (
                  <Button size="xs" variant="light" component={Link} to={`/sources/${source.id}`}>
                    Live events
                  </Button>
                ),
              },
            ]}
          />
        )}
      </QueryView>
      <CreateSourceModal
        opened={creating}
        onClose={() => setCreating(false)}
        onCreated={(source) => {
          setCreating(false)
          setCreated(source)
        }}
      />
      <WriteKeyModal source={created} onClose={() => setCreated(null)} />
    </>
  )
}

function CreateSourceModal({
  opened,
  onClose,
  onCreated,
}: {
  opened: boolean
  onClose: () => void
  onCreated: (source: CreatedSource) => void
}) {
  const queryClient = useQueryClient()
  const [name, setName] = useState('')
  const create = useMutation({
    mutationFn: (sourceName: string) =>
      api<CreatedSource>('/sources', { method: 'POST', body: { name: sourceName } }),
    onSuccess: (source) => {
      void queryClient.invalidateQueries({ queryKey: ['sources'] })
      setName('')
      onCreated(source)
    },
  })
  function submit(event: FormEvent) {
    event.preventDefault()
    if (name.trim()) create.mutate(name.trim())
  }
  return (
    <Modal opened={opened} onClose={onClose} title="New source">
      <form onSubmit={submit}>
        <Stack>
          <TextInput
            label="Name"
            description="For you and your team, e.g. “Website” or “Billing backend”."
            placeholder="Website"
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            data-autofocus
            data-testid="source-name"
            required
          />
          {create.isError ? (
            <Alert color="red" role="alert">
              {errorMessage(create.error)}
            </Alert>
          ) : null}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={create.isPending} data-testid="create-source">
              Create source
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  )
}

function WriteKeyModal({ source, onClose }: { source: CreatedSource | null; onClose: () => void }) {
  return (
    <Modal
      opened={source !== null}
      onClose={onClose}
      title={source ? `Source “${source.name}” is ready` : ''}
      size="xl"
      closeOnClickOutside={false}
    >
      {source ? (
        <Stack>
          <Text size="sm" c="dimmed">
            The write key and these snippets are on the source’s page whenever you need them again,
            for members who manage sources.
          </Text>
          <CopyField label="Write key" value={source.writeKey} testId="write-key" />
          <InstallSnippets writeKey={source.writeKey} />
          <Text size="sm" c="dimmed">
            Open the live debugger to watch events arrive as you send them.
          </Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Done
            </Button>
            <Button
              data-testid="open-debugger"
              onClick={() => {
                onClose()
                navigate(`/sources/${source.id}`)
              }}
            >
              Open live debugger
            </Button>
          </Group>
        </Stack>
      ) : null}
    </Modal>
  )
}
