/**
 * The console shell: sign-in gate, header with the workspace switcher, navigation, and the
 * route table. Each page lives in `pages/` and owns its data fetching.
 */
import {
  AppShell,
  Badge,
  Box,
  Burger,
  Button,
  Group,
  NavLink,
  Select,
  Text,
  Tooltip,
} from '@mantine/core'
import { useDisclosure } from '@mantine/hooks'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { lazy, Suspense, type ReactNode } from 'react'
import { api } from './api/client.js'
import { isSignedIn, setWorkspace, signOut, useSession } from './api/session.js'
import type { Me, Page, Workspace } from './api/types.js'
import { Icon, type IconName } from './components/icons.js'
import { Loading } from './components/states.js'
import { Link, navigate, usePath } from './lib/router.js'
import { matchPath, type Params } from './lib/routes.js'
import { SignInPage } from './pages/sign-in.js'

// Pages load on demand: charts (ECharts) and the graph (React Flow) stay out of the first load.
const AccountPage = lazy(() =>
  import('./pages/account.js').then((m) => ({ default: m.AccountPage })),
)
const ComputedTraitsPage = lazy(() =>
  import('./pages/computed-traits.js').then((m) => ({ default: m.ComputedTraitsPage })),
)
const ImportsPage = lazy(() =>
  import('./pages/imports.js').then((m) => ({ default: m.ImportsPage })),
)
const DashboardPage = lazy(() =>
  import('./pages/dashboard.js').then((m) => ({ default: m.DashboardPage })),
)
const DestinationDetailPage = lazy(() =>
  import('./pages/destination-detail.js').then((m) => ({ default: m.DestinationDetailPage })),
)
const DestinationsPage = lazy(() =>
  import('./pages/destinations.js').then((m) => ({ default: m.DestinationsPage })),
)
const PrivacyPage = lazy(() =>
  import('./pages/privacy.js').then((m) => ({ default: m.PrivacyPage })),
)
const IdentityReviewPage = lazy(() =>
  import('./pages/identity-review.js').then((m) => ({ default: m.IdentityReviewPage })),
)
const ProfileDetailPage = lazy(() =>
  import('./pages/profile/index.js').then((m) => ({ default: m.ProfileDetailPage })),
)
const ProfilesPage = lazy(() =>
  import('./pages/profiles.js').then((m) => ({ default: m.ProfilesPage })),
)
const SegmentDetailPage = lazy(() =>
  import('./pages/segment-detail.js').then((m) => ({ default: m.SegmentDetailPage })),
)
const SegmentEditorPage = lazy(() =>
  import('./pages/segment-editor.js').then((m) => ({ default: m.SegmentEditorPage })),
)
const SegmentsPage = lazy(() =>
  import('./pages/segments.js').then((m) => ({ default: m.SegmentsPage })),
)
const SourceDetailPage = lazy(() =>
  import('./pages/source-detail.js').then((m) => ({ default: m.SourceDetailPage })),
)
const SettingsPage = lazy(() =>
  import('./pages/settings.js').then((m) => ({ default: m.SettingsPage })),
)
const SourcesPage = lazy(() =>
  import('./pages/sources.js').then((m) => ({ default: m.SourcesPage })),
)

interface Route {
  pattern: string
  render: (params: Params) => ReactNode
}

const routes: Route[] = [
  { pattern: '/', render: () => <DashboardPage /> },
  { pattern: '/sources', render: () => <SourcesPage /> },
  { pattern: '/sources/:id', render: (p) => <SourceDetailPage id={p.id!} /> },
  { pattern: '/imports', render: () => <ImportsPage /> },
  { pattern: '/profiles', render: () => <ProfilesPage /> },
  { pattern: '/profiles/:id', render: (p) => <ProfileDetailPage key={p.id} id={p.id!} /> },
  { pattern: '/identity-review', render: () => <IdentityReviewPage /> },
  { pattern: '/segments', render: () => <SegmentsPage /> },
  { pattern: '/segments/new', render: () => <SegmentEditorPage /> },
  { pattern: '/segments/:id/edit', render: (p) => <SegmentEditorPage id={p.id!} /> },
  { pattern: '/segments/:id', render: (p) => <SegmentDetailPage id={p.id!} /> },
  { pattern: '/computed-traits', render: () => <ComputedTraitsPage /> },
  { pattern: '/destinations', render: () => <DestinationsPage /> },
  { pattern: '/destinations/:id', render: (p) => <DestinationDetailPage id={p.id!} /> },
  { pattern: '/settings', render: () => <SettingsPage /> },
  { pattern: '/privacy', render: () => <PrivacyPage /> },
  { pattern: '/account', render: () => <AccountPage /> },
]

const nav: Array<{ to: string; label: string; icon: IconName }> = [
  { to: '/', label: 'Dashboard', icon: 'dashboard' },
  { to: '/sources', label: 'Sources', icon: 'sources' },
  { to: '/imports', label: 'Imports', icon: 'inbox' },
  { to: '/profiles', label: 'Profiles', icon: 'profiles' },
  { to: '/identity-review', label: 'Identity review', icon: 'link' },
  { to: '/segments', label: 'Segments', icon: 'segments' },
  { to: '/computed-traits', label: 'Computed traits', icon: 'computed' },
  { to: '/destinations', label: 'Destinations', icon: 'destinations' },
  { to: '/privacy', label: 'Privacy', icon: 'shield' },
  { to: '/settings', label: 'Settings', icon: 'settings' },
]

export function App() {
  const session = useSession()
  const path = usePath()
  // Below `sm` the navbar folds behind the burger and closes again once a page is picked.
  const [menuOpen, menu] = useDisclosure(false)
  if (!isSignedIn(session)) return <SignInPage />
  let page: ReactNode = null
  for (const route of routes) {
    const params = matchPath(route.pattern, path)
    if (params) {
      page = route.render(params)
      break
    }
  }
  return (
    <AppShell
      header={{ height: 56 }}
      navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !menuOpen } }}
      padding={{ base: 'sm', sm: 'lg' }}
    >
      <AppShell.Header>
        <Header menuOpen={menuOpen} onMenu={menu.toggle} />
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Main navigation">
        {nav.map((item) => {
          const active = item.to === '/' ? path === '/' : path.startsWith(item.to)
          return (
            <NavLink
              key={item.to}
              component={Link}
              to={item.to}
              active={active}
              label={item.label}
              leftSection={<Icon name={item.icon} />}
              aria-current={active ? 'page' : undefined}
              onClick={menu.close}
              style={{ borderRadius: 6 }}
            />
          )
        })}
      </AppShell.Navbar>
      <AppShell.Main>
        <Box maw={1280} mx="auto">
          <Suspense fallback={<Loading />}>{page ?? <NotFoundPage />}</Suspense>
        </Box>
      </AppShell.Main>
    </AppShell>
  )
}

function Header({ menuOpen, onMenu }: { menuOpen: boolean; onMenu: () => void }) {
  const session = useSession()
  const queryClient = useQueryClient()
  const me = useQuery({ queryKey: ['me'], queryFn: () => api<Me>('/me') })
  const workspaces = useQuery({
    queryKey: ['workspaces'],
    queryFn: () => api<Page<Workspace>>('/workspaces'),
  })
  const list: Workspace[] = workspaces.data?.data ?? (me.data ? [me.data.workspace] : [])
  const currentId = session.workspaceId ?? me.data?.workspace.id ?? null
  return (
    <Group h="100%" px={{ base: 'xs', sm: 'md' }} justify="space-between" wrap="nowrap">
      <Group gap="xs" wrap="nowrap">
        <Burger
          opened={menuOpen}
          onClick={onMenu}
          hiddenFrom="sm"
          size="sm"
          aria-label={menuOpen ? 'Close the menu' : 'Open the menu'}
          data-testid="menu-burger"
        />
        <Link to="/" style={{ textDecoration: 'none', color: 'inherit' }}>
          <Group gap={8} wrap="nowrap">
            <Box
              aria-hidden
              w={28}
              h={28}
              style={{
                borderRadius: 8,
                background:
                  'linear-gradient(135deg, var(--mantine-color-indigo-6), var(--mantine-color-grape-5))',
              }}
            />
            <Text fw={700} size="lg">
              Kindred
            </Text>
          </Group>
        </Link>
        <Badge variant="light" color="gray" size="sm" visibleFrom="sm">
          console
        </Badge>
      </Group>
      <Group gap={6} wrap="nowrap" miw={0}>
        <Select
          aria-label="Workspace"
          size="xs"
          w={{ base: 110, sm: 220 }}
          data-testid="workspace-switcher"
          placeholder="Workspace"
          data={list.map((w) => ({ value: w.id, label: w.name || w.id }))}
          value={currentId}
          allowDeselect={false}
          onChange={(value) => {
            if (!value || value === currentId) return
            setWorkspace(value)
            queryClient.clear()
          }}
        />
        <Tooltip label="Your account and password">
          <Button
            component={Link}
            to="/account"
            size="xs"
            variant="subtle"
            data-testid="account-link"
            maw={240}
            visibleFrom="sm"
          >
            <Text span size="xs" truncate="end">
              {me.data?.user?.email ?? 'Account'}
            </Text>
          </Button>
        </Tooltip>
        <Tooltip
          label={session.cookie ? 'End this session' : 'Forget the admin token on this browser'}
        >
          <Button
            size="xs"
            variant="default"
            data-testid="sign-out"
            onClick={async () => {
              if (session.cookie) await api('/auth/logout', { method: 'POST' }).catch(() => null)
              signOut()
              queryClient.clear()
              navigate('/')
            }}
          >
            Sign out
          </Button>
        </Tooltip>
      </Group>
    </Group>
  )
}

function NotFoundPage() {
  return (
    <Box py="xl">
      <Text fw={600}>This page does not exist.</Text>
      <Text c="dimmed" size="sm">
        Check the address, or pick a page on the left. <Link to="/">Go to the dashboard</Link>.
      </Text>
    </Box>
  )
}
