/**
 * A name typed into the builder (event, trait, property) with the names the workspace's sources
 * have sent as suggestions, most seen first, and a warning when the name was never seen: a typo
 * would otherwise give a segment of 0 people without a word.
 */
import { Autocomplete, Text } from '@mantine/core'

export function NameInput({
  value,
  onChange,
  known,
  what,
  ...props
}: {
  value: string
  onChange: (v: string) => void
  /** Names to suggest; undefined while unknown (no warning then). */
  known: string[] | undefined
  what: string
  w?: number
  placeholder?: string
  'aria-label': string
  'data-testid'?: string
}) {
  const unseen = known !== undefined && known.length > 0 && value !== '' && !known.includes(value)
  return (
    <div>
      <Autocomplete
        size="xs"
        data={known ?? []}
        limit={20}
        value={value}
        onChange={onChange}
        error={unseen}
        {...props}
      />
      {unseen ? (
        <Text size="xs" c="orange.8" mt={2} data-testid="name-unseen">
          No {what} “{value}” has been received yet.
        </Text>
      ) : null}
    </div>
  )
}
