import { Button, Code, CopyButton, Group, Paper, Stack, Text, Tooltip } from '@mantine/core'

/** A value (secret or snippet) with a copy button; `block` renders multi-line code. */
export function CopyField({
  label,
  value,
  block = false,
  testId,
}: {
  label: string
  value: string
  block?: boolean
  testId?: string
}) {
  return (
    <Stack gap={4}>
      <Group justify="space-between">
        <Text size="sm" fw={600}>
          {label}
        </Text>
        <CopyButton value={value}>
          {({ copied, copy }) => (
            <Tooltip label={copied ? 'Copied' : 'Copy to clipboard'} withArrow>
              <Button
                size="compact-xs"
                variant={copied ? 'filled' : 'light'}
                color={copied ? 'teal' : undefined}
                onClick={copy}
                aria-label={`Copy ${label}`}
              >
                {copied ? 'Copied' : 'Copy'}
              </Button>
            </Tooltip>
          )}
        </CopyButton>
      </Group>
      {block ? (
        <Paper withBorder p={0}>
          <Code block data-testid={testId} style={{ whiteSpace: 'pre', overflowX: 'auto' }}>
            {value}
          </Code>
        </Paper>
      ) : (
        <Code data-testid={testId} style={{ wordBreak: 'break-all', padding: '6px 8px' }}>
          {value}
        </Code>
      )}
    </Stack>
  )
}
