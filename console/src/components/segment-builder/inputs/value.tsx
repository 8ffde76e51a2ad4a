/** A condition on one JSON value: the operator, then the operand its arity asks for. */
import { Button, Group, NumberInput, Select, TagsInput, TextInput, Tooltip } from '@mantine/core'
import {
  changeOp,
  coerceValue,
  opArity,
  valueOps,
  type DatePoint,
  type TimeUnit,
  type ValueCondition,
  type ValueOp,
} from '../../../lib/segment-tree.js'
import { DateInput } from './date.js'
import { DurationInput } from './duration.js'

const opData = valueOps.map((o) => ({ value: o.value, label: o.label }))

export function ConditionInput({
  condition,
  onChange,
}: {
  condition: ValueCondition
  onChange: (next: ValueCondition) => void
}) {
  const arity = opArity(condition.op)
  const c = condition as Record<string, unknown>
  return (
    <Group gap="xs" align="flex-start">
      <Select
        size="xs"
        w={170}
        aria-label="Operator"
        data-testid="condition-op"
        data={opData}
        value={condition.op}
        allowDeselect={false}
        onChange={(next) => onChange(changeOp(condition, (next ?? 'eq') as ValueOp))}
      />
      {arity === 'scalar' || arity === 'text' || arity === 'number' ? (
        <TextInput
          size="xs"
          w={170}
          placeholder={arity === 'number' ? 'number' : 'value'}
          aria-label="Value"
          data-testid="condition-value"
          value={c.value === undefined ? '' : String(c.value)}
          onChange={(e) => {
            const text = e.currentTarget.value
            const value =
              arity === 'text'
                ? text
                : arity === 'number'
                  ? text.trim() === ''
                    ? ''
                    : Number(text)
                  : coerceValue(text)
            onChange({ ...condition, value } as ValueCondition)
          }}
        />
      ) : null}
      {arity === 'range' ? (
        <Group gap={4}>
          {(['min', 'max'] as const).map((k) => (
            <NumberInput
              key={k}
              size="xs"
              w={90}
              aria-label={k === 'min' ? 'From' : 'To'}
              placeholder={k === 'min' ? 'from' : 'to'}
              value={typeof c[k] === 'number' ? (c[k] as number) : ''}
              onChange={(n) => onChange({ ...condition, [k]: Number(n) || 0 } as ValueCondition)}
            />
          ))}
        </Group>
      ) : null}
      {arity === 'list' ? (
        <TagsInput
          size="xs"
          w={240}
          aria-label="Values"
          placeholder="type and press Enter"
          value={Array.isArray(c.values) ? c.values.map(String) : []}
          onChange={(list) =>
            onChange({ ...condition, values: list.map(coerceValue) } as ValueCondition)
          }
        />
      ) : null}
      {arity === 'window' ? (
        <DurationInput
          value={{ amount: (c.amount as number) ?? 7, unit: (c.unit as TimeUnit) ?? 'days' }}
          onChange={(d) => onChange({ op: 'date_within_last', ...d })}
        />
      ) : null}
      {arity === 'date' ? (
        <DateInput
          date={c.date as DatePoint}
          onChange={(date) => onChange({ ...condition, date } as ValueCondition)}
        />
      ) : null}
      {condition.op === 'eq' ||
      condition.op === 'neq' ||
      condition.op === 'contains' ||
      condition.op === 'starts_with' ? (
        <Tooltip label="Ignore upper/lower case">
          <Button
            size="compact-xs"
            variant={(condition as { ignoreCase?: boolean }).ignoreCase ? 'filled' : 'subtle'}
            mt={4}
            aria-label="Ignore case"
            onClick={() =>
              onChange({
                ...condition,
                ignoreCase: !(condition as { ignoreCase?: boolean }).ignoreCase || undefined,
              } as ValueCondition)
            }
          >
            Aa
          </Button>
        </Tooltip>
      ) : null}
    </Group>
  )
}
