/** Loading, error, "not available yet" and empty states, so every page fails the same gentle way. */
import { Alert, Button, Center, EmptyState, Loader, Stack, Text } from '@mantine/core'
import type { UseQueryResult } from '@tanstack/react-query'
import type { ReactNode } from 'react'
import { errorMessage, isNotFound } from '../api/client.js'
import { Icon, type IconName } from './icons.js'

export function NotAvailable({ what, next }: { what: string; next?: ReactNode }) {
  return (
    <EmptyState
      data-testid="not-available"
      py="xl"
      withIndicatorBackground
      icon={<Icon name="puzzle" size={32} />}
      title={`${what}: not available in this version yet`}
      description={
        next ??
        'This server does not offer this feature yet. Upgrade Kindred, or come back once it ships.'
      }
    />
  )
}

export function Empty({
  title,
  description,
  action,
  icon = 'sparkles',
}: {
  title: string
  description: ReactNode
  action?: ReactNode
  icon?: IconName
}) {
  return (
    <EmptyState
      data-testid="empty-state"
      py="xl"
      withIndicatorBackground
      icon={<Icon name={icon} size={32} />}
      title={title}
      description={description}
    >
      {action ? <EmptyState.Actions>{action}</EmptyState.Actions> : null}
    </EmptyState>
  )
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <Center py="xl">
      <Stack align="center" gap="xs">
        <Loader size="sm" />
        <Text size="sm" c="dimmed">
          {label}
        </Text>
      </Stack>
    </Center>
  )
}

export function ErrorNotice({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  return (
    <Alert color="red" title="Something went wrong" role="alert">
      <Stack gap="xs" align="flex-start">
        <Text size="sm">{errorMessage(error)}</Text>
        {onRetry ? (
          <Button size="xs" variant="light" color="red" onClick={onRetry}>
            Try again
          </Button>
        ) : null}
      </Stack>
    </Alert>
  )
}

/**
 * Renders a query's data, or its loading state, or a friendly "not available" when the API
 * answers 404, or the error's message in plain words.
 */
export function QueryView<T>({
  query,
  what,
  children,
}: {
  query: UseQueryResult<T>
  what: string
  children: (data: T) => ReactNode
}) {
  if (query.isPending) return <Loading />
  if (query.isError) {
    if (isNotFound(query.error)) return <NotAvailable what={what} />
    return <ErrorNotice error={query.error} onRetry={() => void query.refetch()} />
  }
  return <>{children(query.data)}</>
}
