/** A point in time: an absolute date, or a duration ago / from now. */
import { Group, SegmentedControl, Select, TextInput } from '@mantine/core'
import type { DatePoint } from '../../../lib/segment-tree.js'
import { DurationInput } from './duration.js'

export function DateInput({
  date,
  onChange,
}: {
  date: DatePoint
  onChange: (d: DatePoint) => void
}) {
  return (
    <Group gap={4} wrap="nowrap">
      <SegmentedControl
        size="xs"
        value={date.kind}
        onChange={(kind) =>
          onChange(
            kind === 'absolute'
              ? { kind: 'absolute', at: '' }
              : { kind: 'relative', amount: 30, unit: 'days', direction: 'ago' },
          )
        }
        data={[
          { value: 'relative', label: 'relative' },
          { value: 'absolute', label: 'date' },
        ]}
      />
      {date.kind === 'absolute' ? (
        <TextInput
          size="xs"
          w={130}
          placeholder="2026-01-31"
          aria-label="Date"
          value={date.at}
          onChange={(e) => onChange({ kind: 'absolute', at: e.currentTarget.value })}
        />
      ) : (
        <>
          <DurationInput value={date} onChange={(d) => onChange({ ...date, ...d })} />
          <Select
            size="xs"
            w={100}
            aria-label="Direction"
            data={[
              { value: 'ago', label: 'ago' },
              { value: 'from_now', label: 'from now' },
            ]}
            value={date.direction ?? 'ago'}
            allowDeselect={false}
            onChange={(v) => onChange({ ...date, direction: (v ?? 'ago') as 'ago' | 'from_now' })}
          />
        </>
      )}
    </Group>
  )
}
