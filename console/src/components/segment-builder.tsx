/**
 * The no-code segment builder: edits a definition tree (groups of conditions, nested groups,
 * NOT), one row per condition, for every node kind of the segment engine.
 */
import {
  ActionIcon,
  Badge,
  Button,
  Group,
  Menu,
  NumberInput,
  Paper,
  SegmentedControl,
  Select,
  Stack,
  TagsInput,
  Text,
  TextInput,
  Tooltip,
} from '@mantine/core'
import { useQuery } from '@tanstack/react-query'
import { createContext, useContext, type ReactNode } from 'react'
import { api } from '../api/client.js'
import type { ComputedTrait, Page, Segment } from '../api/types.js'
import {
  addChild,
  changeOp,
  coerceValue,
  conditionKinds,
  emptyGroup,
  newCondition,
  opArity,
  pathText,
  removeAt,
  toggleNot,
  toPathRef,
  updateAt,
  valueOps,
  type CountOp,
  type DatePoint,
  type Duration,
  type Path,
  type PropertyFilter,
  type SegmentNode,
  type TimeUnit,
  type ValueCondition,
  type ValueOp,
} from '../lib/segment-tree.js'

interface BuilderContext {
  root: SegmentNode
  onChange: (root: SegmentNode) => void
  segments: Segment[]
  computedTraits: ComputedTrait[]
  excludeSegmentId?: string
}

const Ctx = createContext<BuilderContext | null>(null)

function useBuilder(): BuilderContext {
  const ctx = useContext(Ctx)
  if (!ctx) throw new Error('SegmentBuilder context missing')
  return ctx
}

export function SegmentBuilder({
  value,
  onChange,
  excludeSegmentId,
}: {
  value: SegmentNode
  onChange: (next: SegmentNode) => void
  excludeSegmentId?: string
}) {
  const segments = useQuery({
    queryKey: ['segments'],
    queryFn: () => api<Page<Segment>>('/segments'),
  })
  const computed = useQuery({
    queryKey: ['computed-traits'],
    queryFn: () => api<Page<ComputedTrait>>('/computed-traits'),
  })
  return (
    <Ctx.Provider
      value={{
        root: value,
        onChange,
        segments: segments.data?.data ?? [],
        computedTraits: computed.data?.data ?? [],
        excludeSegmentId,
      }}
    >
      <div data-testid="segment-builder">
        <NodeEditor node={value} path={[]} />
      </div>
    </Ctx.Provider>
  )
}

function NodeEditor({ node, path }: { node: SegmentNode; path: Path }) {
  if (node.kind === 'and' || node.kind === 'or') return <GroupEditor node={node} path={path} />
  if (node.kind === 'not') return <NotEditor node={node} path={path} />
  return <ConditionEditor node={node} path={path} />
}

function GroupEditor({
  node,
  path,
}: {
  node: Extract<SegmentNode, { kind: 'and' | 'or' }>
  path: Path
}) {
  const { root, onChange } = useBuilder()
  const nested = path.length > 0
  return (
    <Paper
      withBorder
      p="sm"
      bg={nested ? 'var(--mantine-color-gray-0)' : undefined}
      data-testid={nested ? 'segment-group' : 'segment-root'}
      style={{
        borderLeft: `3px solid var(--mantine-color-${node.kind === 'and' ? 'indigo' : 'orange'}-4)`,
      }}
    >
      <Group justify="space-between" mb="xs">
        <Group gap="xs">
          <Text size="sm">{nested ? 'Group: match' : 'Profiles that match'}</Text>
          <SegmentedControl
            size="xs"
            value={node.kind}
            aria-label="Match all or any"
            onChange={(kind) =>
              onChange(
                updateAt(root, path, (n) => ({
                  kind: kind as 'and' | 'or',
                  children: childrenOfGroup(n),
                })),
              )
            }
            data={[
              { value: 'and', label: 'all of' },
              { value: 'or', label: 'any of' },
            ]}
          />
          <Text size="sm">these conditions</Text>
        </Group>
        {nested ? <RowActions path={path} /> : null}
      </Group>
      <Stack gap="xs">
        {node.children.map((child, i) => (
          <div key={i}>
            {i > 0 ? (
              <Badge
                size="xs"
                variant="light"
                color={node.kind === 'and' ? 'indigo' : 'orange'}
                mb={4}
              >
                {node.kind === 'and' ? 'and' : 'or'}
              </Badge>
            ) : null}
            <NodeEditor node={child} path={[...path, i]} />
          </div>
        ))}
        {node.children.length === 0 ? (
          <Text size="sm" c="dimmed">
            {nested
              ? 'This group is empty: add a condition or remove the group.'
              : 'No conditions yet. Add one to say who belongs in this segment.'}
          </Text>
        ) : null}
        <Group gap="xs">
          <AddMenu path={path} />
          <Button
            size="xs"
            variant="subtle"
            onClick={() =>
              onChange(addChild(root, path, emptyGroup(node.kind === 'and' ? 'or' : 'and')))
            }
          >
            + Add group
          </Button>
        </Group>
      </Stack>
    </Paper>
  )
}

function childrenOfGroup(node: SegmentNode): SegmentNode[] {
  return node.kind === 'and' || node.kind === 'or' ? node.children : []
}

function AddMenu({ path }: { path: Path }) {
  const { root, onChange } = useBuilder()
  return (
    <Menu position="bottom-start" withinPortal>
      <Menu.Target>
        <Button size="xs" variant="light" data-testid="add-condition">
          + Add condition
        </Button>
      </Menu.Target>
      <Menu.Dropdown>
        {conditionKinds.map((k) => (
          <Menu.Item
            key={k.kind}
            data-testid={`add-${k.kind}`}
            onClick={() => onChange(addChild(root, path, newCondition(k.kind)))}
          >
            <Text size="sm" fw={500}>
              {k.label}
            </Text>
            <Text size="xs" c="dimmed">
              {k.hint}
            </Text>
          </Menu.Item>
        ))}
      </Menu.Dropdown>
    </Menu>
  )
}

function RowActions({ path }: { path: Path }) {
  const { root, onChange } = useBuilder()
  return (
    <Group gap={4} wrap="nowrap">
      <Tooltip label="Negate (NOT)">
        <ActionIcon
          variant="subtle"
          color="gray"
          aria-label="Negate"
          onClick={() => onChange(toggleNot(root, path))}
        >
          ¬
        </ActionIcon>
      </Tooltip>
      <Tooltip label="Remove">
        <ActionIcon
          variant="subtle"
          color="red"
          aria-label="Remove condition"
          onClick={() => onChange(removeAt(root, path))}
        >
          ✕
        </ActionIcon>
      </Tooltip>
    </Group>
  )
}

function NotEditor({ node, path }: { node: Extract<SegmentNode, { kind: 'not' }>; path: Path }) {
  const { root, onChange } = useBuilder()
  return (
    <Paper withBorder p="xs" style={{ borderColor: 'var(--mantine-color-red-3)' }}>
      <Group justify="space-between" mb={4}>
        <Badge color="red" variant="light">
          not
        </Badge>
        <Button size="compact-xs" variant="subtle" onClick={() => onChange(toggleNot(root, path))}>
          Remove NOT
        </Button>
      </Group>
      <NodeEditor node={node.child} path={[...path, 0]} />
    </Paper>
  )
}

function ConditionEditor({ node, path }: { node: SegmentNode; path: Path }) {
  const { root, onChange } = useBuilder()
  const set = (next: SegmentNode) => onChange(updateAt(root, path, () => next))
  const label = conditionKinds.find((k) => k.kind === node.kind)?.label ?? node.kind
  let body: ReactNode = null
  switch (node.kind) {
    case 'trait':
      body = (
        <Group gap="xs" align="flex-start">
          <TextInput
            size="xs"
            w={170}
            placeholder="trait, e.g. plan"
            aria-label="Trait name"
            data-testid="trait-name"
            value={
              pathText(node.trait) === ''
                ? ''
                : typeof node.trait === 'string'
                  ? node.trait
                  : node.trait.join('.')
            }
            onChange={(e) => set({ ...node, trait: toPathRef(e.currentTarget.value) })}
          />
          <ConditionInput
            condition={node.condition}
            onChange={(condition) => set({ ...node, condition })}
          />
        </Group>
      )
      break
    case 'computed_trait':
      body = <ComputedTraitFields node={node} set={set} />
      break
    case 'event':
      body = <EventFields node={node} set={set} />
      break
    case 'segment':
      body = <SegmentFields node={node} set={set} />
      break
    case 'funnel':
      body = <FunnelFields node={node} set={set} />
      break
    case 'consent':
      body = (
        <Group gap="xs">
          <TextInput
            size="xs"
            w={170}
            placeholder="purpose, e.g. marketing"
            aria-label="Consent purpose"
            value={node.purpose}
            onChange={(e) => set({ ...node, purpose: e.currentTarget.value })}
          />
          <Text size="sm">is</Text>
          <SegmentedControl
            size="xs"
            value={node.status}
            onChange={(status) => set({ ...node, status: status as 'granted' | 'denied' })}
            data={['granted', 'denied']}
          />
        </Group>
      )
      break
    default:
      body = null
  }
  return (
    <Paper withBorder p="xs" data-testid="segment-condition">
      <Group justify="space-between" align="flex-start" wrap="nowrap">
        <Group gap="xs" align="flex-start" wrap="nowrap" style={{ flex: 1, minWidth: 0 }}>
          <Badge variant="outline" mt={6} style={{ flexShrink: 0 }}>
            {label}
          </Badge>
          <div style={{ flex: 1, minWidth: 0 }}>{body}</div>
        </Group>
        <RowActions path={path} />
      </Group>
    </Paper>
  )
}

const opData = valueOps.map((o) => ({ value: o.value, label: o.label }))

function ConditionInput({
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

function DateInput({ date, onChange }: { date: DatePoint; onChange: (d: DatePoint) => void }) {
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

const unitData: Array<{ value: TimeUnit; label: string }> = [
  { value: 'minutes', label: 'minutes' },
  { value: 'hours', label: 'hours' },
  { value: 'days', label: 'days' },
  { value: 'weeks', label: 'weeks' },
]

function DurationInput({
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

function EventFields({
  node,
  set,
}: {
  node: Extract<SegmentNode, { kind: 'event' }>
  set: (n: SegmentNode) => void
}) {
  return (
    <Stack gap={6}>
      <Group gap="xs">
        <SegmentedControl
          size="xs"
          value={node.performed ? 'did' : 'didnt'}
          onChange={(v) => set({ ...node, performed: v === 'did' })}
          data={[
            { value: 'did', label: 'performed' },
            { value: 'didnt', label: 'did not perform' },
          ]}
        />
        <TextInput
          size="xs"
          w={200}
          placeholder="event, e.g. Order Completed"
          aria-label="Event name"
          data-testid="event-name"
          value={node.event ?? ''}
          onChange={(e) => set({ ...node, event: e.currentTarget.value || undefined })}
        />
      </Group>
      <Group gap="xs">
        {node.performed ? (
          <>
            <Select
              size="xs"
              w={110}
              aria-label="How many times"
              data={[
                { value: 'gte', label: 'at least' },
                { value: 'lte', label: 'at most' },
                { value: 'eq', label: 'exactly' },
              ]}
              value={node.count?.op ?? 'gte'}
              allowDeselect={false}
              onChange={(op) =>
                set({
                  ...node,
                  count: { op: (op ?? 'gte') as CountOp, value: node.count?.value ?? 1 },
                })
              }
            />
            <NumberInput
              size="xs"
              w={70}
              min={0}
              aria-label="Times"
              value={node.count?.value ?? 1}
              onChange={(n) =>
                set({
                  ...node,
                  count: {
                    op: node.count?.op ?? 'gte',
                    value: Math.max(0, Math.round(Number(n) || 0)),
                  },
                })
              }
            />
            <Text size="sm">times</Text>
          </>
        ) : null}
        <Text size="sm">in the last</Text>
        {node.window?.kind === 'last' ? (
          <>
            <DurationInput
              value={node.window}
              onChange={(d) => set({ ...node, window: { kind: 'last', ...d } })}
            />
            <Button
              size="compact-xs"
              variant="subtle"
              onClick={() => set({ ...node, window: undefined })}
            >
              any time
            </Button>
          </>
        ) : (
          <Button
            size="compact-xs"
            variant="light"
            onClick={() => set({ ...node, window: { kind: 'last', amount: 30, unit: 'days' } })}
          >
            (any time) add a window
          </Button>
        )}
      </Group>
      <PropertyFilters
        filters={node.where ?? []}
        onChange={(where) => set({ ...node, where: where.length ? where : undefined })}
      />
    </Stack>
  )
}

function PropertyFilters({
  filters,
  onChange,
}: {
  filters: PropertyFilter[]
  onChange: (filters: PropertyFilter[]) => void
}) {
  return (
    <Stack gap={4}>
      {filters.map((f, i) => (
        <Group key={i} gap="xs" wrap="nowrap">
          <Text size="xs" c="dimmed" w={40}>
            where
          </Text>
          <TextInput
            size="xs"
            w={150}
            placeholder="property"
            aria-label="Property"
            value={typeof f.property === 'string' ? f.property : f.property.join('.')}
            onChange={(e) =>
              onChange(
                filters.map((x, j) =>
                  j === i ? { ...x, property: toPathRef(e.currentTarget.value) } : x,
                ),
              )
            }
          />
          <ConditionInput
            condition={f.condition}
            onChange={(condition) =>
              onChange(filters.map((x, j) => (j === i ? { ...x, condition } : x)))
            }
          />
          <ActionIcon
            variant="subtle"
            color="gray"
            aria-label="Remove property filter"
            onClick={() => onChange(filters.filter((_, j) => j !== i))}
          >
            ✕
          </ActionIcon>
        </Group>
      ))}
      <div>
        <Button
          size="compact-xs"
          variant="subtle"
          onClick={() =>
            onChange([...filters, { property: '', condition: { op: 'eq', value: '' } }])
          }
        >
          + property filter
        </Button>
      </div>
    </Stack>
  )
}

function ComputedTraitFields({
  node,
  set,
}: {
  node: Extract<SegmentNode, { kind: 'computed_trait' }>
  set: (n: SegmentNode) => void
}) {
  const { computedTraits } = useBuilder()
  return (
    <Group gap="xs" align="flex-start">
      {computedTraits.length ? (
        <Select
          size="xs"
          w={190}
          searchable
          aria-label="Computed trait"
          placeholder="pick a computed trait"
          data={computedTraits.map((c) => ({ value: c.id, label: c.name }))}
          value={node.id || null}
          onChange={(id) => set({ ...node, id: id ?? '' })}
        />
      ) : (
        <TextInput
          size="xs"
          w={190}
          aria-label="Computed trait id"
          placeholder="computed trait id"
          value={node.id}
          onChange={(e) => set({ ...node, id: e.currentTarget.value })}
        />
      )}
      <ConditionInput
        condition={node.condition}
        onChange={(condition) => set({ ...node, condition })}
      />
    </Group>
  )
}

function SegmentFields({
  node,
  set,
}: {
  node: Extract<SegmentNode, { kind: 'segment' }>
  set: (n: SegmentNode) => void
}) {
  const { segments, excludeSegmentId } = useBuilder()
  const options = segments.filter((s) => s.id !== excludeSegmentId)
  return (
    <Group gap="xs">
      <SegmentedControl
        size="xs"
        value={node.member === false ? 'out' : 'in'}
        onChange={(v) => set({ ...node, member: v === 'in' })}
        data={[
          { value: 'in', label: 'is in' },
          { value: 'out', label: 'is not in' },
        ]}
      />
      {options.length ? (
        <Select
          size="xs"
          w={220}
          searchable
          aria-label="Segment"
          placeholder="pick a segment"
          data={options.map((s) => ({ value: s.id, label: s.name }))}
          value={node.id || null}
          onChange={(id) => set({ ...node, id: id ?? '' })}
        />
      ) : (
        <TextInput
          size="xs"
          w={220}
          aria-label="Segment id"
          placeholder="segment id (create one first)"
          value={node.id}
          onChange={(e) => set({ ...node, id: e.currentTarget.value })}
        />
      )}
    </Group>
  )
}

function FunnelFields({
  node,
  set,
}: {
  node: Extract<SegmentNode, { kind: 'funnel' }>
  set: (n: SegmentNode) => void
}) {
  return (
    <Stack gap={6}>
      {node.steps.map((step, i) => (
        <Group key={i} gap="xs" wrap="nowrap">
          <Text size="xs" c="dimmed" w={50}>
            {i === 0 ? 'did' : 'then'}
          </Text>
          <TextInput
            size="xs"
            w={220}
            aria-label={`Step ${i + 1} event`}
            placeholder={`step ${i + 1} event`}
            value={step.event ?? ''}
            onChange={(e) =>
              set({
                ...node,
                steps: node.steps.map((s, j) =>
                  j === i ? { ...s, event: e.currentTarget.value } : s,
                ),
              })
            }
          />
          {node.steps.length > 2 ? (
            <ActionIcon
              variant="subtle"
              color="gray"
              aria-label="Remove step"
              onClick={() => set({ ...node, steps: node.steps.filter((_, j) => j !== i) })}
            >
              ✕
            </ActionIcon>
          ) : null}
        </Group>
      ))}
      <Group gap="xs">
        <Button
          size="compact-xs"
          variant="subtle"
          onClick={() => set({ ...node, steps: [...node.steps, { event: '' }] })}
        >
          + step
        </Button>
        <Text size="sm">all within</Text>
        <DurationInput value={node.within} onChange={(within) => set({ ...node, within })} />
      </Group>
    </Stack>
  )
}
