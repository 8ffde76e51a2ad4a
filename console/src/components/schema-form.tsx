/**
 * A settings form generated from a JSON Schema (destination manifests' `settingsSchema`).
 * Secret fields (listed by the catalog, or `writeOnly`) use password inputs.
 */
import {
  Fieldset,
  JsonInput,
  NumberInput,
  PasswordInput,
  Select,
  Stack,
  Switch,
  TagsInput,
  TextInput,
} from '@mantine/core'
import type { JsonSchema } from '../api/types.js'
import { labelFor, resolve, schemaType } from '../lib/json-schema.js'

export function SchemaForm({
  schema,
  value,
  onChange,
  secretFields = [],
  root = schema,
  prefix = '',
}: {
  schema: JsonSchema
  value: Record<string, unknown>
  onChange: (next: Record<string, unknown>) => void
  secretFields?: string[]
  root?: JsonSchema
  prefix?: string
}) {
  const s = resolve(schema, root)
  const entries = Object.entries(s.properties ?? {})
  return (
    <Stack gap="sm">
      {entries.map(([key, raw]) => {
        const child = resolve(raw, root)
        const path = prefix ? `${prefix}.${key}` : key
        const label = labelFor(key, child)
        const required = s.required?.includes(key) ?? false
        const description = child.description
        const current = value[key]
        const set = (v: unknown) => {
          const next = { ...value }
          if (v === undefined || v === '') delete next[key]
          else next[key] = v
          onChange(next)
        }
        const common = { label, description, required, key: path, 'data-field': path }
        const type = schemaType(child)
        if (type === 'enum')
          return (
            <Select
              {...common}
              data={(child.enum ?? []).map((v) => ({ value: String(v), label: String(v) }))}
              value={current === undefined ? null : String(current)}
              onChange={(v) => set(child.enum?.find((e) => String(e) === v) ?? v ?? undefined)}
              clearable={!required}
            />
          )
        if (type === 'boolean')
          return (
            <Switch
              key={path}
              label={label}
              description={description}
              checked={Boolean(current)}
              onChange={(e) => set(e.currentTarget.checked)}
            />
          )
        if (type === 'number' || type === 'integer')
          return (
            <NumberInput
              {...common}
              min={child.minimum}
              max={child.maximum}
              allowDecimal={type === 'number'}
              value={typeof current === 'number' ? current : ''}
              onChange={(n) => set(typeof n === 'number' ? n : undefined)}
            />
          )
        if (
          type === 'array' &&
          ['string', 'enum'].includes(schemaType(resolve(child.items ?? {}, root)))
        )
          return (
            <TagsInput
              {...common}
              placeholder="type and press Enter"
              value={Array.isArray(current) ? current.map(String) : []}
              onChange={(list) => set(list)}
            />
          )
        if (type === 'object' && child.properties)
          return (
            <Fieldset key={path} legend={label}>
              <SchemaForm
                schema={child}
                root={root}
                prefix={path}
                secretFields={secretFields}
                value={
                  (typeof current === 'object' && current !== null ? current : {}) as Record<
                    string,
                    unknown
                  >
                }
                onChange={(v) => set(v)}
              />
            </Fieldset>
          )
        if (type === 'string') {
          const secret =
            secretFields.includes(key) || secretFields.includes(path) || child.writeOnly === true
          const Input = secret ? PasswordInput : TextInput
          return (
            <Input
              {...common}
              placeholder={child.format === 'uri' ? 'https://' : undefined}
              value={typeof current === 'string' ? current : ''}
              onChange={(e) => set(e.currentTarget.value)}
              autoComplete="off"
            />
          )
        }
        return (
          <JsonInput
            {...common}
            autosize
            minRows={2}
            formatOnBlur
            placeholder="{}"
            defaultValue={current === undefined ? '' : JSON.stringify(current, null, 2)}
            onBlur={(e) => {
              try {
                set(e.currentTarget.value.trim() ? JSON.parse(e.currentTarget.value) : undefined)
              } catch {
                // Leave the last valid value; JsonInput shows the parse error.
              }
            }}
            validationError="Not valid JSON"
          />
        )
      })}
    </Stack>
  )
}
