/**
 * Profile 360: the header and split action, the summary tiles, the cards (traits, computed traits, segments,
 * consent) and the tabs (timeline, identity graph, identities, merges), one file each.
 */
import {
  Alert,
  Anchor,
  Badge,
  Button,
  Code,
  Grid,
  Group,
  Paper,
  Stack,
  Tabs,
  Text,
  Title,
  Tooltip,
} from '@mantine/core'
import { useQuery } from '@tanstack/react-query'
import { useState, type ReactNode } from 'react'
import { api, isNotFound } from '../../api/client.js'
import type { Identity, IdentityDetail, Merge, Page, ProfileDetail } from '../../api/types.js'
import { ConsentPanel } from '../../components/consent-panel.js'
import { IdentityGraph } from '../../components/identity-graph.js'
import { Empty, Loading, QueryView } from '../../components/states.js'
import { formatTime, profileName } from '../../lib/format.js'
import { Link } from '../../lib/router.js'
import { profilePath } from './profile-path.js'
import { TraitsCard } from './traits.js'
import { ComputedTraits } from './computed-traits.js'
import { Segments } from './segments.js'
import { Timeline } from './timeline.js'
import { Identities } from './identities.js'
import { Merges } from './merges.js'
import { SplitModal } from './split-modal.js'
import { SummaryTiles } from './summary-tiles.js'

export function ProfileDetailPage({ id }: { id: string }) {
  const profile = useQuery({
    queryKey: ['profile', id],
    queryFn: () => api<ProfileDetail>(profilePath(id)),
  })
  if (profile.isError && isNotFound(profile.error))
    return (
      <Empty
        icon="profiles"
        title="Profile not found"
        description="It may have been deleted, or the link is wrong. Search for the person on the Profiles page."
        action={
          <Button component={Link} to="/profiles">
            Search profiles
          </Button>
        }
      />
    )
  return (
    <QueryView query={profile} what="Profiles">
      {(p) => <Profile360 profile={p} requestedId={id} />}
    </QueryView>
  )
}

/**
 * `requestedId` is the profile the URL names: the API answers a merged-away profile with a
 * redirect to the one it was merged into, which fetch follows, so the two differ then.
 */
function Profile360({ profile, requestedId }: { profile: ProfileDetail; requestedId: string }) {
  const id = profile.id
  const identities = useQuery({
    queryKey: ['profile', id, 'identities'],
    queryFn: () => api<Page<IdentityDetail>>(profilePath(id, '/identities')),
  })
  const merges = useQuery({
    queryKey: ['profile', id, 'merges'],
    queryFn: () => api<Page<Merge>>(profilePath(id, '/merges')),
  })
  const [splitting, setSplitting] = useState(false)
  const identityList: Identity[] = identities.data?.data ?? profile.identities
  return (
    <Stack gap="lg" data-testid="profile-360">
      {/* Wraps, so the split button drops below the name on a narrow screen instead of being
          pushed off its edge by long identifiers. */}
      <Group justify="space-between" align="flex-start" wrap="wrap" gap="sm">
        <Stack gap={4} style={{ minWidth: 0, flex: '1 1 18rem' }}>
          <Anchor component={Link} to="/profiles" size="sm">
            ← Profiles
          </Anchor>
          <Title order={2} data-testid="profile-name">
            {profileName(profile)}
          </Title>
          {/* First seen is the person's earliest activity, not when the record was written:
              imports and late events create profiles long after the person was first seen. */}
          <Text size="sm" c="dimmed" style={{ wordBreak: 'break-word' }}>
            <Code>{profile.id}</Code> · first seen{' '}
            <span data-testid="profile-first-seen">{formatTime(profile.firstSeenAt)}</span> ·
            updated {formatTime(profile.updatedAt)}
          </Text>
          <Group gap={4} mt={4}>
            {profile.identities.map((i) => (
              <Badge
                key={`${i.type}:${i.value}`}
                variant="light"
                tt="none"
                maw="100%"
                style={{ overflow: 'hidden', textOverflow: 'ellipsis' }}
              >
                {i.type}: {i.value}
              </Badge>
            ))}
          </Group>
        </Stack>
        <Tooltip label="Move some identifiers (and their events) to a new, separate profile">
          <Button
            variant="default"
            style={{ flexShrink: 0 }}
            data-testid="split-profile"
            onClick={() => setSplitting(true)}
            disabled={identityList.length < 2}
          >
            Split profile…
          </Button>
        </Tooltip>
      </Group>
      {requestedId !== id ? (
        <Alert color="grape" title="That profile was merged">
          <Code>{requestedId}</Code> was merged into this one,{' '}
          <Anchor component={Link} to={profilePath(id)}>
            {id}
          </Anchor>
          . Its events and new events land here.
        </Alert>
      ) : null}
      <SummaryTiles profileId={id} />
      <Grid gap="lg">
        <Grid.Col span={{ base: 12, lg: 5 }}>
          <Stack gap="lg">
            <Section title="Traits" hint="Golden record, with where each value came from">
              <TraitsCard profile={profile} />
            </Section>
            <Section title="Computed traits">
              <ComputedTraits profile={profile} />
            </Section>
            <Section title="Segments">
              <Segments profile={profile} />
            </Section>
            <Section title="Consent">
              <ConsentPanel profileId={profile.id} />
            </Section>
          </Stack>
        </Grid.Col>
        <Grid.Col span={{ base: 12, lg: 7 }}>
          <Paper withBorder p="md">
            <Tabs defaultValue="timeline" keepMounted={false}>
              <Tabs.List mb="md">
                <Tabs.Tab value="timeline">Event timeline</Tabs.Tab>
                <Tabs.Tab value="graph" data-testid="tab-graph">
                  Identity graph
                </Tabs.Tab>
                <Tabs.Tab value="identities">Identities</Tabs.Tab>
                <Tabs.Tab value="merges">Merge history</Tabs.Tab>
              </Tabs.List>
              <Tabs.Panel value="timeline">
                <Timeline profileId={id} />
              </Tabs.Panel>
              <Tabs.Panel value="graph">
                {merges.isPending || identities.isPending ? (
                  <Loading />
                ) : (
                  <Stack gap="xs">
                    <IdentityGraph
                      profileId={id}
                      identities={identityList}
                      merges={merges.data?.data ?? []}
                    />
                    <Text size="xs" c="dimmed">
                      Grey lines link identifiers to this profile; purple arrows are merges between
                      profiles (click a merged profile to open it). Drag to move, scroll to zoom.
                    </Text>
                  </Stack>
                )}
              </Tabs.Panel>
              <Tabs.Panel value="identities">
                <Identities query={identities} fallback={profile.identities} />
              </Tabs.Panel>
              <Tabs.Panel value="merges">
                <Merges query={merges} profileId={id} />
              </Tabs.Panel>
            </Tabs>
          </Paper>
        </Grid.Col>
      </Grid>
      <SplitModal
        opened={splitting}
        onClose={() => setSplitting(false)}
        profileId={id}
        identities={identityList}
      />
    </Stack>
  )
}

function Section({ title, hint, children }: { title: string; hint?: string; children: ReactNode }) {
  return (
    <Paper withBorder p="md">
      <Group justify="space-between" mb="xs">
        <Title order={4}>{title}</Title>
        {hint ? (
          <Text size="xs" c="dimmed">
            {hint}
          </Text>
        ) : null}
      </Group>
      {children}
    </Paper>
  )
}
