import {
  Alert,
  Anchor,
  Badge,
  Button,
  Grid,
  Group,
  JsonInput,
  Loader,
  Paper,
  Stack,
  Table,
  Tabs,
  Text,
  TextInput,
  Textarea,
  Title,
} from '@mantine/core'
import { useDebouncedValue } from '@mantine/hooks'
import { notifications } from '@mantine/notifications'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useEffect, useState } from 'react'
import { api, errorMessage, isNotFound } from '../api/client.js'
import type { Segment, SegmentPreview } from '../api/types.js'
import { SegmentBuilder } from '../components/segment-builder/index.js'
import { Loading, NotAvailable, QueryView } from '../components/states.js'
import { formatNumber, profileName } from '../lib/format.js'
import { Link, navigate } from '../lib/router.js'
import { emptyGroup, parseDefinition, problems, type SegmentNode } from '../lib/segment-tree.js'

export function SegmentEditorPage({ id }: { id?: string }) {
  const existing = useQuery({
    queryKey: ['segments', id],
    queryFn: () => api<Segment>(`/segments/${encodeURIComponent(id!)}`),
    enabled: Boolean(id),
  })
  // Creating: check that the segments API exists before showing the builder.
  const list = useQuery({
    queryKey: ['segments'],
    queryFn: () => api<{ data: Segment[] }>('/segments'),
    enabled: !id,
  })
  if (id)
    return (
      <QueryView query={existing} what="Segments">
        {(segment) => <Editor segment={segment} />}
      </QueryView>
    )
  if (list.isError && isNotFound(list.error)) return <NotAvailable what="Segments" />
  return <Editor />
}

function Editor({ segment }: { segment?: Segment }) {
  const queryClient = useQueryClient()
  const [name, setName] = useState(segment?.name ?? '')
  const [description, setDescription] = useState(segment?.description ?? '')
  const [tree, setTree] = useState<SegmentNode>(() =>
    segment ? parseDefinition(segment.definition) : emptyGroup('and'),
  )
  const [jsonText, setJsonText] = useState('')
  const [jsonError, setJsonError] = useState<string | null>(null)
  const [tab, setTab] = useState<string | null>('builder')
  const missing = problems(tree)

  const save = useMutation({
    mutationFn: () => {
      const body = {
        name: name.trim(),
        description: description.trim() || undefined,
        definition: tree,
      }
      return segment
        ? api<Segment>(`/segments/${encodeURIComponent(segment.id)}`, { method: 'PUT', body })
        : api<Segment>('/segments', { method: 'POST', body })
    },
    onSuccess: (saved) => {
      void queryClient.invalidateQueries({ queryKey: ['segments'] })
      notifications.show({ color: 'teal', message: `Segment “${saved.name}” saved.` })
      navigate(`/segments/${encodeURIComponent(saved.id)}`)
    },
  })

  return (
    <Stack gap="lg">
      <Group justify="space-between" align="flex-start">
        <Stack gap={4}>
          <Anchor component={Link} to={segment ? `/segments/${segment.id}` : '/segments'} size="sm">
            ← {segment ? segment.name : 'Segments'}
          </Anchor>
          <Title order={2}>{segment ? 'Edit segment' : 'New segment'}</Title>
        </Stack>
        <Group gap="xs">
          <Button
            variant="default"
            component={Link}
            to={segment ? `/segments/${segment.id}` : '/segments'}
          >
            Cancel
          </Button>
          <Button
            data-testid="save-segment"
            loading={save.isPending}
            disabled={!name.trim() || missing.length > 0}
            onClick={() => save.mutate()}
          >
            Save segment
          </Button>
        </Group>
      </Group>
      {save.isError ? (
        <Alert color="red" role="alert" title="Could not save">
          {errorMessage(save.error)}
        </Alert>
      ) : null}
      <Grid gap="lg">
        <Grid.Col span={{ base: 12, md: 8 }}>
          <Stack>
            <Group grow align="flex-start">
              <TextInput
                label="Name"
                placeholder="e.g. Active buyers in France"
                value={name}
                onChange={(e) => setName(e.currentTarget.value)}
                data-testid="segment-name"
                required
              />
              <Textarea
                label="Description"
                placeholder="Who is in it and what it is for"
                autosize
                minRows={1}
                value={description}
                onChange={(e) => setDescription(e.currentTarget.value)}
              />
            </Group>
            <Tabs
              value={tab}
              onChange={(next) => {
                if (next === 'json') {
                  setJsonText(JSON.stringify(tree, null, 2))
                  setJsonError(null)
                }
                setTab(next)
              }}
            >
              <Tabs.List mb="sm">
                <Tabs.Tab value="builder">Builder</Tabs.Tab>
                <Tabs.Tab value="json">JSON</Tabs.Tab>
              </Tabs.List>
              <Tabs.Panel value="builder">
                <SegmentBuilder value={tree} onChange={setTree} excludeSegmentId={segment?.id} />
              </Tabs.Panel>
              <Tabs.Panel value="json">
                <Stack gap="xs">
                  <JsonInput
                    aria-label="Definition as JSON"
                    autosize
                    minRows={12}
                    formatOnBlur
                    value={jsonText}
                    onChange={(text) => {
                      setJsonText(text)
                      try {
                        setTree(parseDefinition(JSON.parse(text)))
                        setJsonError(null)
                      } catch {
                        setJsonError(
                          'Not valid JSON yet: the builder keeps the last valid definition.',
                        )
                      }
                    }}
                  />
                  {jsonError ? (
                    <Text size="xs" c="orange">
                      {jsonError}
                    </Text>
                  ) : (
                    <Text size="xs" c="dimmed">
                      The same definition the API takes (POST /api/v1/segments). Edits here show up
                      in the builder.
                    </Text>
                  )}
                </Stack>
              </Tabs.Panel>
            </Tabs>
          </Stack>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 4 }}>
          <PreviewPanel tree={tree} missing={missing} />
        </Grid.Col>
      </Grid>
    </Stack>
  )
}

/** Debounced live preview: count and a sample of matching profiles as the definition changes. */
function PreviewPanel({ tree, missing }: { tree: SegmentNode; missing: string[] }) {
  const [debounced] = useDebouncedValue(tree, 500)
  const ready = problems(debounced).length === 0
  const preview = useQuery({
    queryKey: ['segment-preview', debounced],
    queryFn: ({ signal }) =>
      api<SegmentPreview>('/segments/preview', {
        method: 'POST',
        body: { definition: debounced },
        signal,
      }),
    enabled: ready,
    placeholderData: (prev) => prev,
    staleTime: 10_000,
  })
  const [stale, setStale] = useState(false)
  useEffect(() => setStale(tree !== debounced), [tree, debounced])
  return (
    <Paper withBorder p="md" pos="sticky" top={72} data-testid="segment-preview">
      <Group justify="space-between" mb="xs">
        <Title order={4}>Live preview</Title>
        {preview.isFetching || stale ? <Loader size="xs" /> : null}
      </Group>
      {missing.length ? (
        <Stack gap={4}>
          <Text size="sm" c="dimmed">
            Finish the definition to see who matches:
          </Text>
          {missing.slice(0, 4).map((m) => (
            <Text key={m} size="sm">
              • {m}
            </Text>
          ))}
        </Stack>
      ) : !preview.data && preview.isPending ? (
        <Loading label="Counting…" />
      ) : preview.isError ? (
        isNotFound(preview.error) ? (
          <Text size="sm" c="dimmed">
            Preview is not available in this version yet. You can still save the segment.
          </Text>
        ) : (
          <Alert color="red" role="alert">
            {errorMessage(preview.error)}
          </Alert>
        )
      ) : preview.data ? (
        <Stack gap="sm">
          <div>
            <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
              Matching profiles
            </Text>
            <Text fz={36} fw={700} lh={1.1} data-testid="preview-count">
              {formatNumber(preview.data.count)}
            </Text>
            {preview.data.tookMs !== undefined ? (
              <Text size="xs" c="dimmed">
                counted in {Math.round(preview.data.tookMs)} ms
              </Text>
            ) : null}
          </div>
          {preview.data.sample.length ? (
            <Table verticalSpacing={4} data-testid="preview-sample">
              <Table.Tbody>
                {preview.data.sample.slice(0, 10).map((p) => (
                  <Table.Tr key={p.id}>
                    <Table.Td>
                      <Anchor
                        component={Link}
                        to={`/profiles/${encodeURIComponent(p.id)}`}
                        size="sm"
                      >
                        {profileName(p)}
                      </Anchor>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          ) : (
            <Text size="sm" c="dimmed">
              Nobody matches yet. Loosen a condition, or check trait names and values.
            </Text>
          )}
          {preview.data.count > preview.data.sample.length && preview.data.sample.length ? (
            <Badge variant="light" color="gray">
              showing a sample of {preview.data.sample.length}
            </Badge>
          ) : null}
        </Stack>
      ) : null}
    </Paper>
  )
}
