/**
 * Edits what a destination does (`actions`): forward events (names, types, field mapping),
 * upsert profiles, and sync segments as audiences. Only the actions the connector supports.
 */
import {
  ActionIcon,
  Button,
  Group,
  MultiSelect,
  Paper,
  Stack,
  Switch,
  TagsInput,
  Text,
  TextInput,
} from '@mantine/core'
import { useQuery } from '@tanstack/react-query'
import { api } from '../api/client.js'
import type { DestinationActions, EventType, Page, Segment } from '../api/types.js'

const eventTypes: EventType[] = ['track', 'identify', 'page', 'screen', 'group', 'alias']

/** The actions a connector supports; all of them while its catalog entry is not known. */
export function supportedActions(actions: readonly string[] | undefined): string[] {
  return actions ? [...actions] : ['forwardEvents', 'upsertProfiles', 'syncAudience']
}

/** Default for a new destination: forward every event when the connector can. */
export function defaultActions(supported: string[]): DestinationActions {
  return supported.includes('forwardEvents') ? { forwardEvents: {} } : {}
}

export function ActionsEditor({
  value,
  onChange,
  supported,
}: {
  value: DestinationActions
  onChange: (next: DestinationActions) => void
  supported: string[]
}) {
  const segments = useQuery({
    queryKey: ['segments'],
    queryFn: () => api<Page<Segment>>('/segments'),
  })
  const segmentOptions = (segments.data?.data ?? []).map((s) => ({ value: s.id, label: s.name }))
  const set = (patch: Partial<DestinationActions>) => {
    const next: DestinationActions = { ...value, ...patch }
    for (const key of Object.keys(next) as Array<keyof DestinationActions>)
      if (next[key] === undefined || next[key] === false) delete next[key]
    onChange(next)
  }
  const forward = value.forwardEvents
  const mapping = Object.entries(forward?.mapping ?? {})
  const setMapping = (rows: Array<[string, string]>) =>
    set({
      forwardEvents: { ...forward, mapping: rows.length ? Object.fromEntries(rows) : undefined },
    })
  return (
    <Stack gap="sm" data-testid="destination-actions">
      {supported.includes('forwardEvents') ? (
        <Paper withBorder p="sm">
          <Switch
            label="Forward events"
            description="Send events as they arrive, optionally only some of them"
            checked={forward !== undefined}
            onChange={(e) => set({ forwardEvents: e.currentTarget.checked ? {} : undefined })}
          />
          {forward ? (
            <Stack gap="xs" mt="sm" pl="xl">
              <Group grow align="flex-start">
                <TagsInput
                  size="xs"
                  label="Only these events"
                  placeholder="all events (type and press Enter)"
                  value={forward.events ?? []}
                  onChange={(events) =>
                    set({
                      forwardEvents: { ...forward, events: events.length ? events : undefined },
                    })
                  }
                />
                <MultiSelect
                  size="xs"
                  label="Only these types"
                  placeholder="all types"
                  data={eventTypes}
                  value={forward.types ?? []}
                  onChange={(types) =>
                    set({
                      forwardEvents: {
                        ...forward,
                        // The choices are eventTypes, so every value is one.
                        types: types.length ? (types as EventType[]) : undefined,
                      },
                    })
                  }
                />
              </Group>
              <Text size="xs" fw={600} mt={4}>
                Field mapping
              </Text>
              <Text size="xs" c="dimmed">
                Copy a value of the event to another place before sending, e.g. properties.amount ←
                properties.total.
              </Text>
              {mapping.map(([target, source], i) => (
                <Group key={i} gap="xs" wrap="nowrap">
                  <TextInput
                    size="xs"
                    w={220}
                    placeholder="properties.amount"
                    aria-label="Target path"
                    value={target}
                    onChange={(e) =>
                      setMapping(
                        mapping.map((row, j) => (j === i ? [e.currentTarget.value, row[1]] : row)),
                      )
                    }
                  />
                  <Text size="sm">←</Text>
                  <TextInput
                    size="xs"
                    w={220}
                    placeholder="properties.total"
                    aria-label="Source path"
                    value={source}
                    onChange={(e) =>
                      setMapping(
                        mapping.map((row, j) => (j === i ? [row[0], e.currentTarget.value] : row)),
                      )
                    }
                  />
                  <ActionIcon
                    variant="subtle"
                    color="gray"
                    aria-label="Remove mapping"
                    onClick={() => setMapping(mapping.filter((_, j) => j !== i))}
                  >
                    ✕
                  </ActionIcon>
                </Group>
              ))}
              <div>
                <Button
                  size="compact-xs"
                  variant="subtle"
                  onClick={() => setMapping([...mapping, ['', '']])}
                >
                  + mapping
                </Button>
              </div>
            </Stack>
          ) : null}
        </Paper>
      ) : null}
      {supported.includes('upsertProfiles') ? (
        <Paper withBorder p="sm">
          <Switch
            label="Update profiles"
            description="Send profile traits whenever a profile changes"
            checked={value.upsertProfiles === true}
            onChange={(e) => set({ upsertProfiles: e.currentTarget.checked || undefined })}
          />
        </Paper>
      ) : null}
      {supported.includes('syncAudience') ? (
        <Paper withBorder p="sm">
          <Switch
            label="Sync segments as audiences"
            description="Add profiles that enter these segments (and remove those that leave)"
            checked={value.syncAudience !== undefined}
            onChange={(e) =>
              set({
                syncAudience: e.currentTarget.checked
                  ? { segmentIds: [], mirror: true }
                  : undefined,
              })
            }
          />
          {value.syncAudience ? (
            <Stack gap="xs" mt="sm" pl="xl">
              {segmentOptions.length ? (
                <MultiSelect
                  size="xs"
                  label="Segments"
                  placeholder="pick segments"
                  searchable
                  data={segmentOptions}
                  value={value.syncAudience.segmentIds}
                  onChange={(segmentIds) =>
                    set({ syncAudience: { ...value.syncAudience, segmentIds } })
                  }
                />
              ) : (
                <TagsInput
                  size="xs"
                  label="Segment ids"
                  placeholder="no segments yet: type ids"
                  value={value.syncAudience.segmentIds}
                  onChange={(segmentIds) =>
                    set({ syncAudience: { ...value.syncAudience, segmentIds } })
                  }
                />
              )}
              <Switch
                size="xs"
                label="Also remove profiles that leave"
                checked={value.syncAudience.mirror !== false}
                onChange={(e) =>
                  set({
                    syncAudience: {
                      segmentIds: value.syncAudience?.segmentIds ?? [],
                      mirror: e.currentTarget.checked,
                    },
                  })
                }
              />
            </Stack>
          ) : null}
        </Paper>
      ) : null}
    </Stack>
  )
}
