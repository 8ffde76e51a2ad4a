/**
 * The one confirmation before something cannot be undone (deleting a source, destination,
 * segment or workspace, revoking a key, erasing a person): it names what goes, says what follows,
 * and for the gravest (`typed`) asks for the name to be typed, so a slip of the mouse on the
 * wrong row cannot do it.
 */
import { Alert, Button, Code, Group, Modal, Stack, Text, TextInput } from '@mantine/core'
import { useEffect, useState, type ReactNode } from 'react'
import { errorMessage } from '../api/client.js'

export function ConfirmModal({
  opened,
  onClose,
  title,
  subject,
  children,
  confirmLabel,
  onConfirm,
  pending = false,
  error,
  typed,
  color = 'red',
  testId = 'confirm',
}: {
  opened: boolean
  onClose: () => void
  title: string
  /** What is deleted, by name, shown on its own line so it cannot be overlooked. */
  subject: ReactNode
  /** What follows: what stops, what is kept. */
  children?: ReactNode
  confirmLabel: string
  onConfirm: () => void
  pending?: boolean
  error?: unknown
  /** The text to type before the button works (a workspace id, the identifier to erase). */
  typed?: string
  color?: string
  testId?: string
}) {
  const [text, setText] = useState('')
  // A new confirmation starts empty: what was typed for one thing never confirms another.
  useEffect(() => {
    if (!opened) setText('')
  }, [opened])
  const ready = typed === undefined || text.trim() === typed
  return (
    <Modal opened={opened} onClose={onClose} title={title}>
      <form
        onSubmit={(e) => {
          e.preventDefault()
          if (ready && !pending) onConfirm()
        }}
      >
        <Stack>
          <Text size="sm" fw={600} data-testid={`${testId}-subject`}>
            {subject}
          </Text>
          {children ? (
            <Text size="sm" component="div">
              {children}
            </Text>
          ) : null}
          <Text size="sm" c="dimmed">
            This cannot be undone.
          </Text>
          {typed !== undefined ? (
            <TextInput
              label={
                <>
                  Type <Code>{typed}</Code> to confirm
                </>
              }
              value={text}
              onChange={(e) => setText(e.currentTarget.value)}
              autoComplete="off"
              data-autofocus
              data-testid={`${testId}-typed`}
            />
          ) : null}
          {error ? (
            <Alert color="red" role="alert">
              {errorMessage(error)}
            </Alert>
          ) : null}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button
              type="submit"
              color={color}
              loading={pending}
              disabled={!ready}
              data-testid={`${testId}-button`}
            >
              {confirmLabel}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  )
}
