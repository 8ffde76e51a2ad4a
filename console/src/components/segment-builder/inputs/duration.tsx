/** An amount of minutes, hours, days or weeks (windows, funnels, relative dates). */
import { Group, NumberInput, Select } from '@mantine/core'
import type { Duration, TimeUnit } from '../../../lib/segment-tree.js'

const unitData: Array<{ value: TimeUnit; label: string }> = [
  { value: 'minutes', label: 'minutes' },
  { value: 'hours', label: 'hours' },
  { value: 'days', label: 'days' },
  { value: 'weeks', label: 'weeks' },
]

export function DurationInput({
  value,
  onChange,
}: {
  value: Duration | undefined
  onChange: (d: Duration) => void
}) {
  const w = value ?? { amount: 7, unit: 'days' as TimeUnit }
  return (
    <Group gap={4} wrap="nowrap">
      <NumberInput
        size="xs"
        w={70}
        min={1}
        aria-label="Amount"
        value={w.amount}
        onChange={(n) =>
          onChange({ amount: Math.max(1, Math.round(Number(n) || 1)), unit: w.unit })
        }
      />
      <Select
        size="xs"
        w={100}
        aria-label="Unit"
        data={unitData}
        value={w.unit}
        allowDeselect={false}
        onChange={(u) => onChange({ amount: w.amount, unit: (u ?? 'days') as TimeUnit })}
      />
    </Group>
  )
}
