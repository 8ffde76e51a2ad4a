/** Display helpers shared by the pages. */

export function formatTime(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === '') return '—'
  const date = new Date(value)
  if (Number.isNaN(date.getTime())) return String(value)
  return date.toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  })
}

/** Compact date and time for narrow columns: "Nov 25, 10:04" (the year when not this year). */
export function formatShort(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === '') return '—'
  const date = new Date(value)
  if (Number.isNaN(date.getTime())) return String(value)
  const sameYear = date.getFullYear() === new Date().getFullYear()
  return date.toLocaleString(undefined, {
    ...(sameYear ? {} : { year: 'numeric' }),
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  })
}

export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return '—'
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return JSON.stringify(value)
}

export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—'
  return value.toLocaleString()
}

export function percent(part: number, total: number): string {
  if (!total) return '0%'
  return `${Math.round((part / total) * 1000) / 10}%`
}

/** A profile's display name from its traits or identities. */
export function profileName(profile: {
  id: string
  traits?: Record<string, unknown>
  identities?: Array<{ type: string; value: string }>
}): string {
  const t = profile.traits ?? {}
  const name =
    str(t.name) ??
    ([str(t.firstName) ?? str(t.first_name), str(t.lastName) ?? str(t.last_name)]
      .filter(Boolean)
      .join(' ') ||
      undefined)
  if (name) return name
  const email = str(t.email) ?? profile.identities?.find((i) => i.type === 'email')?.value
  if (email) return email
  const user = profile.identities?.find((i) => i.type === 'user_id' || i.type === 'userId')
  return user?.value ?? profile.id
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined
}
