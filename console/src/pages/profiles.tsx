import { Anchor, Badge, Button, Group, Text, TextInput } from '@mantine/core'
import { useDebouncedValue } from '@mantine/hooks'
import { useInfiniteQuery } from '@tanstack/react-query'
import { useState } from 'react'
import { api } from '../api/client.js'
import type { Page, ProfileSummary } from '../api/types.js'
import { Icon } from '../components/icons.js'
import { PageHeader } from '../components/page-header.js'
import { ResourceTable } from '../components/resource-table.js'
import { Empty, QueryView } from '../components/states.js'
import { formatTime, profileName } from '../lib/format.js'
import { Link, setSearch, useSearch } from '../lib/router.js'

export function ProfilesPage() {
  const search = useSearch()
  const [q, setQ] = useState(search.get('q') ?? '')
  const [debounced] = useDebouncedValue(q.trim(), 300)
  const profiles = useInfiniteQuery({
    queryKey: ['profiles', debounced],
    queryFn: ({ pageParam }) =>
      api<Page<ProfileSummary>>('/profiles', { query: { q: debounced, cursor: pageParam } }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  })
  return (
    <>
      <PageHeader
        title="Profiles"
        description="Unified customers: every identifier and trait merged into one golden record."
      />
      <TextInput
        mb="md"
        size="md"
        placeholder="Search by email, phone, user id, anonymous id or name…"
        aria-label="Search profiles"
        value={q}
        data-testid="profile-search"
        onChange={(e) => {
          setQ(e.currentTarget.value)
          setSearch({ q: e.currentTarget.value || undefined })
        }}
        leftSection={<Icon name="search" />}
      />
      <QueryView query={profiles} what="Profiles">
        {(data) => (
          <ResourceTable
            rows={data.pages.flatMap((p) => p.data)}
            rowKey={(p) => p.id}
            testId="profiles-table"
            rowTestId="profile-row"
            highlightOnHover
            more={profiles}
            empty={
              debounced ? (
                <Empty
                  icon="search"
                  title={`No profile matches “${debounced}”`}
                  description="Try the full email address, a phone number in international form, or a user id."
                />
              ) : (
                <Empty
                  icon="profiles"
                  title="No profiles yet"
                  description="Profiles appear as soon as a source receives identify or track calls. Create a source and send an event."
                  action={
                    <Button component={Link} to="/sources">
                      Go to sources
                    </Button>
                  }
                />
              )
            }
            columns={[
              {
                title: 'Profile',
                render: (p) => (
                  <>
                    <Anchor component={Link} to={`/profiles/${encodeURIComponent(p.id)}`} fw={600}>
                      {profileName(p)}
                    </Anchor>
                    <Text size="xs" c="dimmed">
                      {p.id}
                    </Text>
                  </>
                ),
              },
              {
                title: 'Identifiers',
                render: (p) => (
                  <Group gap={4}>
                    {p.identities.slice(0, 4).map((i) => (
                      <Badge key={`${i.type}:${i.value}`} variant="light" color="gray" tt="none">
                        {i.type}: {i.value}
                      </Badge>
                    ))}
                    {p.identities.length > 4 ? (
                      <Text size="xs" c="dimmed">
                        +{p.identities.length - 4} more
                      </Text>
                    ) : null}
                  </Group>
                ),
              },
              { title: 'Updated', render: (p) => formatTime(p.updatedAt) },
            ]}
          />
        )}
      </QueryView>
    </>
  )
}
