/**
 * The Settings tabs for how data is treated, each a form over its existing API: identity rules
 * (phone region, identifier order, trait identifiers, blocked values, caps, enum-like traits and
 * which sources win per trait), matching (thresholds, auto-merge, runs after imports), consent
 * defaults (purposes, what an unanswered purpose means) and personal data (PII and hashed fields,
 * IP anonymisation, retention). A form starts from what the server has, sends the whole setting
 * back, and shows the server's own validation message when it refuses.
 */
import {
  Alert,
  Button,
  Card,
  Group,
  NumberInput,
  Select,
  Stack,
  Switch,
  TagsInput,
  Text,
  TextInput,
  Title,
} from '@mantine/core'
import { notifications } from '@mantine/notifications'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useEffect, useState, type FormEvent, type ReactNode } from 'react'
import { api, errorMessage } from '../api/client.js'
import { QueryView } from '../components/states.js'

type Json = Record<string, unknown>

/** One setting: fetched, edited as a draft, saved whole, refreshed from the answer. */
function useSetting<T>(key: string, path: string, read: (body: unknown) => T) {
  const queryClient = useQueryClient()
  const query = useQuery({ queryKey: ['setting', key], queryFn: async () => read(await api(path)) })
  const save = useMutation({
    mutationFn: (body: unknown) => api(path, { method: 'PUT', body }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ['setting', key] })
      notifications.show({ color: 'green', message: 'Saved.' })
    },
  })
  return { query, save }
}

function SettingCard({
  title,
  description,
  children,
  onSubmit,
  saving,
  error,
  testId,
}: {
  title: string
  description: string
  children: ReactNode
  onSubmit: () => void
  saving: boolean
  error: unknown
  testId: string
}) {
  function submit(e: FormEvent) {
    e.preventDefault()
    onSubmit()
  }
  return (
    <Card withBorder padding="lg" maw={760} data-testid={testId}>
      <form onSubmit={submit}>
        <Stack>
          <div>
            <Title order={4}>{title}</Title>
            <Text size="sm" c="dimmed">
              {description}
            </Text>
          </div>
          {children}
          {error ? (
            <Alert color="red" role="alert">
              {errorMessage(error)}
            </Alert>
          ) : null}
          <Group justify="flex-end">
            <Button type="submit" loading={saving} data-testid={`${testId}-save`}>
              Save
            </Button>
          </Group>
        </Stack>
      </form>
    </Card>
  )
}

const asStrings = (v: unknown): string[] =>
  Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))) : []

// ---------------------------------------------------------------- identity

interface IdentitySetting {
  rules: Json
  survivorship: Json
}

export function IdentitySettings() {
  const { query, save } = useSetting<IdentitySetting>('identity', '/identity/rules', (b) => {
    const body = b as { rules: Json; survivorship: Json }
    return { rules: body.rules, survivorship: body.survivorship }
  })
  return (
    <QueryView query={query} what="Identity rules">
      {(s) => <IdentityForm setting={s} save={save} />}
    </QueryView>
  )
}

function IdentityForm({
  setting,
  save,
}: {
  setting: IdentitySetting
  save: ReturnType<typeof useSetting<IdentitySetting>>['save']
}) {
  const rules = setting.rules
  const normalization = (rules.normalization ?? {}) as Json
  const traitRules = (normalization.traits ?? {}) as Record<string, Json | null>
  const caps = (rules.caps ?? {}) as {
    maxMergesPerProfile?: number
    maxIdentifiersPerProfile?: number
  }
  const survivorshipTraits = (setting.survivorship.traits ?? {}) as Record<string, Json>
  const [region, setRegion] = useState(String(rules.phoneDefaultRegion ?? ''))
  const [priority, setPriority] = useState(asStrings(rules.priority))
  const [traitIds, setTraitIds] = useState(
    (Array.isArray(rules.traitIdentifiers) ? rules.traitIdentifiers : []).map((t) =>
      typeof t === 'string' ? t : `${String((t as Json).trait)}:${String((t as Json).type)}`,
    ),
  )
  const [blocked, setBlocked] = useState(asStrings(rules.blockedValues))
  const [maxMerges, setMaxMerges] = useState<number | string>(caps.maxMergesPerProfile ?? '')
  const [maxIds, setMaxIds] = useState<number | string>(caps.maxIdentifiersPerProfile ?? '')
  const [lowerTraits, setLowerTraits] = useState(
    Object.entries(traitRules)
      .filter(([, r]) => r !== null && r.case === 'lower' && r.kind === undefined)
      .map(([k]) => k),
  )
  const [firstPartyTraits, setFirstPartyTraits] = useState(
    Object.entries(survivorshipTraits)
      .filter(([, t]) => t.strategy === 'source_priority')
      .map(([k]) => k),
  )
  function submit() {
    const traits: Record<string, Json | null> = {}
    for (const [k, r] of Object.entries(traitRules)) {
      // Lower-case rules are this form's; every other trait rule is kept as it is.
      if (r === null || r.case !== 'lower' || r.kind !== undefined) traits[k] = r
    }
    for (const k of lowerTraits) traits[k] = { ...(traitRules[k] ?? {}), case: 'lower' }
    const survivorTraits: Record<string, Json> = {}
    for (const [k, t] of Object.entries(survivorshipTraits))
      if (t.strategy !== 'source_priority') survivorTraits[k] = t
    for (const k of firstPartyTraits)
      survivorTraits[k] = {
        strategy: 'source_priority',
        sourcePriority: [{ kind: 'first_party' }, { kind: 'import' }],
      }
    const next: Json = {
      ...rules,
      priority,
      traitIdentifiers: traitIds.map((t) => {
        const [trait, type] = t.split(':')
        return type ? { trait, type } : t
      }),
      blockedValues: blocked,
      caps: {
        ...caps,
        ...(maxMerges === '' ? {} : { maxMergesPerProfile: Number(maxMerges) }),
        ...(maxIds === '' ? {} : { maxIdentifiersPerProfile: Number(maxIds) }),
      },
      normalization: { ...normalization, traits },
    }
    if (region.trim() === '') delete next.phoneDefaultRegion
    else next.phoneDefaultRegion = region.trim().toUpperCase()
    save.mutate({
      rules: next,
      survivorship: { ...setting.survivorship, traits: survivorTraits },
    })
  }
  return (
    <SettingCard
      title="Identity rules"
      description="How events and rows find their person: which identifiers count, in which order, and how values are made canonical before they are compared or stored."
      onSubmit={submit}
      saving={save.isPending}
      error={save.error}
      testId="identity-settings"
    >
      <TextInput
        label="Phone region"
        description="ISO country code for phone numbers written without +country (a row's or profile's country comes first)."
        placeholder="e.g. DE"
        value={region}
        onChange={(e) => setRegion(e.currentTarget.value)}
        maxLength={2}
        w={220}
        data-testid="phone-region"
      />
      <TagsInput
        label="Identifier order"
        description="Highest first: when two profiles conflict, the higher identifier decides. * places custom types."
        value={priority}
        onChange={setPriority}
      />
      <TagsInput
        label="Trait identifiers"
        description="Traits that identify a person, e.g. loyalty_id, or trait:type such as member_no:member_id."
        value={traitIds}
        onChange={setTraitIds}
        data-testid="trait-identifiers"
      />
      <TagsInput
        label="Blocked values"
        description="Values that never identify anyone (placeholders such as test@example.com or 0)."
        value={blocked}
        onChange={setBlocked}
      />
      <Group grow>
        <NumberInput
          label="Most merges per profile"
          min={0}
          value={maxMerges}
          onChange={setMaxMerges}
        />
        <NumberInput
          label="Most identifiers per profile"
          min={1}
          value={maxIds}
          onChange={setMaxIds}
        />
      </Group>
      <TagsInput
        label="Traits stored in lower case"
        description="Enum-like traits written in mixed case by different systems, e.g. loyalty_tier (GOLD, gold, Gold are one value)."
        value={lowerTraits}
        onChange={setLowerTraits}
        data-testid="lower-traits"
      />
      <TagsInput
        label="Traits first-party data owns"
        description="For these traits a value from your own sites and apps beats one from an import, whatever came last."
        value={firstPartyTraits}
        onChange={setFirstPartyTraits}
        data-testid="first-party-traits"
      />
    </SettingCard>
  )
}

// ---------------------------------------------------------------- matching

export function MatchingSettings() {
  const { query, save } = useSetting<Json>(
    'matching',
    '/identity/matching/settings',
    (b) => (b as { data: Json }).data,
  )
  return (
    <QueryView query={query} what="Matching settings">
      {(s) => <MatchingForm settings={s} save={save} />}
    </QueryView>
  )
}

function MatchingForm({
  settings,
  save,
}: {
  settings: Json
  save: ReturnType<typeof useSetting<Json>>['save']
}) {
  const [autoMerge, setAutoMerge] = useState(settings.autoMerge === true)
  const [autoThreshold, setAutoThreshold] = useState<number | string>(
    Number(settings.autoMergeThreshold ?? 0.99),
  )
  const [reviewThreshold, setReviewThreshold] = useState<number | string>(
    Number(settings.reviewThreshold ?? 0.8),
  )
  const [runAfterImport, setRunAfterImport] = useState(settings.runAfterImport === true)
  const [afterImport, setAfterImport] = useState(settings.autoMergeAfterImport === true)
  const [schedule, setSchedule] = useState<number | string>(
    typeof settings.scheduleMinutes === 'number' ? settings.scheduleMinutes : '',
  )
  const [minFields, setMinFields] = useState<number | string>(Number(settings.minFields ?? 2))
  return (
    <SettingCard
      title="Probabilistic matching"
      description="Finds profiles that are probably the same person without a shared identifier. Two different e-mails, phones or user ids always keep people apart; pairs between the two thresholds wait in Identity review."
      onSubmit={() =>
        save.mutate({
          ...settings,
          autoMerge,
          autoMergeThreshold: Number(autoThreshold),
          reviewThreshold: Number(reviewThreshold),
          runAfterImport,
          autoMergeAfterImport: afterImport,
          scheduleMinutes: schedule === '' ? null : Number(schedule),
          minFields: Number(minFields),
        })
      }
      saving={save.isPending}
      error={save.error}
      testId="matching-settings"
    >
      <Switch
        label="Merge on its own at or above the auto-merge threshold"
        checked={autoMerge}
        onChange={(e) => setAutoMerge(e.currentTarget.checked)}
      />
      <Group grow>
        <NumberInput
          label="Auto-merge threshold"
          description="Match probability, 0 to 1"
          min={0.01}
          max={1}
          step={0.01}
          decimalScale={4}
          value={autoThreshold}
          onChange={setAutoThreshold}
          data-testid="auto-threshold"
        />
        <NumberInput
          label="Review threshold"
          description="Pairs at or above wait for review"
          min={0.01}
          max={1}
          step={0.01}
          decimalScale={4}
          value={reviewThreshold}
          onChange={setReviewThreshold}
          data-testid="review-threshold"
        />
      </Group>
      <Switch
        label="Run after each profile import"
        checked={runAfterImport}
        onChange={(e) => setRunAfterImport(e.currentTarget.checked)}
      />
      <Switch
        label="Let runs after imports merge on their own (off: they only fill the review queue)"
        checked={afterImport}
        onChange={(e) => setAfterImport(e.currentTarget.checked)}
        data-testid="auto-merge-after-import"
      />
      <Group grow>
        <NumberInput
          label="Run every (minutes)"
          description="Empty: only on demand and after imports"
          min={1}
          value={schedule}
          onChange={setSchedule}
        />
        <NumberInput
          label="Fewest fields compared"
          description="Profiles with less are not matched"
          min={1}
          value={minFields}
          onChange={setMinFields}
        />
      </Group>
    </SettingCard>
  )
}

// ---------------------------------------------------------------- consent

export function ConsentSettings() {
  const { query, save } = useSetting<Json>('consent', '/consent/settings', (b) => b as Json)
  return (
    <QueryView query={query} what="Consent settings">
      {(s) => <ConsentForm settings={s} save={save} />}
    </QueryView>
  )
}

const UNKNOWN_CHOICES = [
  { value: 'allow', label: 'Allowed until the person says otherwise' },
  { value: 'deny', label: 'Denied until the person agrees' },
]

function ConsentForm({
  settings,
  save,
}: {
  settings: Json
  save: ReturnType<typeof useSetting<Json>>['save']
}) {
  const [purposes, setPurposes] = useState(asStrings(settings.purposes))
  const [unknown, setUnknown] = useState(String(settings.unknown ?? 'allow'))
  const [byPurpose, setByPurpose] = useState<Record<string, string>>(
    (settings.unknownByPurpose ?? {}) as Record<string, string>,
  )
  useEffect(() => {
    // A purpose removed from the list takes its override with it.
    setByPurpose((b) => Object.fromEntries(Object.entries(b).filter(([p]) => purposes.includes(p))))
  }, [purposes])
  return (
    <SettingCard
      title="Consent defaults"
      description="The purposes people consent to, and what Kindred assumes for a purpose a person has not answered. Changing a default re-evaluates every profile's audiences."
      onSubmit={() => save.mutate({ ...settings, purposes, unknown, unknownByPurpose: byPurpose })}
      saving={save.isPending}
      error={save.error}
      testId="consent-settings"
    >
      <TagsInput label="Purposes" value={purposes} onChange={setPurposes} />
      <Select
        label="A purpose nobody answered"
        data={UNKNOWN_CHOICES}
        value={unknown}
        onChange={(v) => v && setUnknown(v)}
        allowDeselect={false}
        data-testid="consent-unknown"
      />
      {purposes.map((p) => (
        <Select
          key={p}
          label={`“${p}” when unanswered`}
          data={[{ value: '', label: 'As above' }, ...UNKNOWN_CHOICES]}
          value={byPurpose[p] ?? ''}
          onChange={(v) =>
            setByPurpose((b) => {
              const next = { ...b }
              if (v) next[p] = v
              else delete next[p]
              return next
            })
          }
          data-testid={`consent-unknown-${p}`}
        />
      ))}
    </SettingCard>
  )
}

// ---------------------------------------------------------------- personal data

export function PersonalDataSettings() {
  const { query, save } = useSetting<Json>('pii', '/privacy/pii', (b) => b as Json)
  return (
    <QueryView query={query} what="Personal data settings">
      {(s) => <PersonalDataForm settings={s} save={save} />}
    </QueryView>
  )
}

function PersonalDataForm({
  settings,
  save,
}: {
  settings: Json
  save: ReturnType<typeof useSetting<Json>>['save']
}) {
  const [pii, setPii] = useState(asStrings(settings.piiFields))
  const [hashed, setHashed] = useState(asStrings(settings.hashFields))
  const [anonymizeIp, setAnonymizeIp] = useState(settings.anonymizeIp === true)
  const [retention, setRetention] = useState<number | string>(
    typeof settings.retentionDays === 'number' ? settings.retentionDays : '',
  )
  return (
    <SettingCard
      title="Personal data and retention"
      description="Which fields are personal data, which are hashed before they are stored, and how long events are kept. Sources can override these."
      onSubmit={() =>
        save.mutate({
          piiFields: pii,
          hashFields: hashed,
          anonymizeIp,
          retentionDays: retention === '' ? null : Number(retention),
        })
      }
      saving={save.isPending}
      error={save.error}
      testId="pii-settings"
    >
      <TagsInput label="Personal data fields" value={pii} onChange={setPii} />
      <TagsInput
        label="Hashed fields"
        description="Stored as SHA-256 of the normalised value: they still link identities, but cannot be read back."
        value={hashed}
        onChange={setHashed}
      />
      <Switch
        label="Anonymise IP addresses (last IPv4 octet, last 80 IPv6 bits)"
        checked={anonymizeIp}
        onChange={(e) => setAnonymizeIp(e.currentTarget.checked)}
      />
      <NumberInput
        label="Keep events for (days)"
        description="Older events are deleted. Empty keeps them."
        min={1}
        max={36_500}
        value={retention}
        onChange={setRetention}
        w={260}
        data-testid="retention-days"
      />
      {settings.hasHashSalt === true ? (
        <Text size="sm" c="dimmed">
          A hash salt is set (it is never shown).
        </Text>
      ) : null}
    </SettingCard>
  )
}

// ---------------------------------------------------------------- alerts

/** Where delivery alerts go: one of the workspace's destinations (a Slack channel, a webhook). */
export function AlertSettings() {
  const { query, save } = useSetting<Json>('workspace', '/workspace/settings', (b) => b as Json)
  const destinations = useQuery({
    queryKey: ['destinations'],
    queryFn: () =>
      api<{ data: Array<{ id: string; name: string; type: string }> }>('/destinations'),
  })
  return (
    <QueryView query={query} what="Workspace settings">
      {(s) => (
        <AlertForm
          current={typeof s.alertDestinationId === 'string' ? s.alertDestinationId : ''}
          options={(destinations.data?.data ?? []).map((d) => ({
            value: d.id,
            label: `${d.name} (${d.type.replace('builtin.', '')})`,
          }))}
          save={save}
        />
      )}
    </QueryView>
  )
}

function AlertForm({
  current,
  options,
  save,
}: {
  current: string
  options: Array<{ value: string; label: string }>
  save: ReturnType<typeof useSetting<Json>>['save']
}) {
  const [to, setTo] = useState(current)
  return (
    <SettingCard
      title="Delivery alerts"
      description="When a destination gives up on deliveries (dead letters) or turns degraded, a “Destination Alert” event is sent here, at most once an hour per destination and kind."
      onSubmit={() => save.mutate({ alertDestinationId: to === '' ? null : to })}
      saving={save.isPending}
      error={save.error}
      testId="alert-settings"
    >
      <Select
        label="Send alerts to"
        data={[{ value: '', label: 'Nowhere' }, ...options]}
        value={to}
        onChange={(v) => setTo(v ?? '')}
        allowDeselect={false}
        data-testid="alert-destination"
      />
    </SettingCard>
  )
}
