/** Split (unmerge): move some identifiers and their events to a new profile. */
import { Alert, Button, Checkbox, Group, Modal, Stack, Text } from '@mantine/core'
import { notifications } from '@mantine/notifications'
import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { api, errorMessage } from '../../api/client.js'
import type { Identity } from '../../api/types.js'
import { navigate } from '../../lib/router.js'
import { profilePath } from './profile-path.js'

export function SplitModal({
  opened,
  onClose,
  profileId,
  identities,
}: {
  opened: boolean
  onClose: () => void
  profileId: string
  identities: Identity[]
}) {
  const queryClient = useQueryClient()
  const [chosen, setChosen] = useState<string[]>([])
  const split = useMutation({
    mutationFn: () =>
      api<{ profileId: string; newProfileId: string }>(profilePath(profileId, '/split'), {
        method: 'POST',
        body: {
          identifiers: identities.filter((i) => chosen.includes(`${i.type}\u0000${i.value}`)),
        },
      }),
    onSuccess: (result) => {
      void queryClient.invalidateQueries({ queryKey: ['profile'] })
      void queryClient.invalidateQueries({ queryKey: ['profiles'] })
      setChosen([])
      onClose()
      notifications.show({
        color: 'teal',
        title: 'Profile split',
        message: `The chosen identifiers now belong to a new profile, ${result.newProfileId}.`,
      })
      navigate(profilePath(result.newProfileId))
    },
  })
  return (
    <Modal opened={opened} onClose={onClose} title="Split this profile" size="lg">
      <Stack>
        <Text size="sm">
          Pick the identifiers that belong to someone else. They move, with their events, to a new
          profile; the rest stays here. Use this when two people were merged by mistake.
        </Text>
        <Checkbox.Group value={chosen} onChange={setChosen}>
          <Stack gap="xs">
            {identities.map((i) => (
              <Checkbox
                key={`${i.type}:${i.value}`}
                value={`${i.type}\u0000${i.value}`}
                label={`${i.type}: ${i.value}`}
              />
            ))}
          </Stack>
        </Checkbox.Group>
        {split.isError ? (
          <Alert color="red" role="alert">
            {errorMessage(split.error)}
          </Alert>
        ) : null}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Cancel
          </Button>
          <Button
            color="orange"
            disabled={chosen.length === 0 || chosen.length === identities.length}
            loading={split.isPending}
            onClick={() => split.mutate()}
          >
            Split {chosen.length || ''} identifier{chosen.length === 1 ? '' : 's'} off
          </Button>
        </Group>
      </Stack>
    </Modal>
  )
}
