import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decryptSettings, getDestination } from '../core/index.js'
import { startReceiver, until } from '../../testing/test-receiver.js'
import { startTestKindred, type TestKindred } from '../../testing/test-server.js'

const SECRET_KEY_HEX = 'a'.repeat(64)
const SIGNING = 'whsec-plain-secret-value-42'
const HEADER_TOKEN = 'Bearer vendor-token-xyz-987'

let k: TestKindred

beforeAll(async () => {
  k = await startTestKindred({ secretKey: SECRET_KEY_HEX })
})
afterAll(async () => {
  await k.close()
})

async function create(body: Record<string, unknown>) {
  return k.admin('/api/v1/destinations', { body })
}

const webhook = {
  type: 'builtin.webhook',
  name: 'My hook',
  settings: {
    url: 'http://127.0.0.1:9/hook',
    signingSecret: SIGNING,
    headers: { authorization: HEADER_TOKEN },
  },
  actions: { forwardEvents: { events: ['Signed Up'] } },
}

describe('destinations API', () => {
  it('lists the catalog with settings schemas and secret fields', async () => {
    const res = await k.admin('/api/v1/destinations/catalog')
    expect(res.status).toBe(200)
    const { data } = (await res.json()) as {
      data: {
        id: string
        settingsSchema: { properties: Record<string, { writeOnly?: boolean }> }
        secretFields: string[]
        actions: string[]
      }[]
    }
    expect(data).toHaveLength(14)
    const hook = data.find((d) => d.id === 'builtin.webhook')
    expect(hook?.secretFields).toEqual(['signingSecret', 'headers'])
    expect(hook?.settingsSchema.properties.signingSecret?.writeOnly).toBe(true)
    expect(hook?.actions).toContain('forwardEvents')
  })

  it('never returns secrets and stores only ciphertext', async () => {
    const res = await create(webhook)
    expect(res.status).toBe(201)
    const created = (await res.json()) as {
      id: string
      settings: Record<string, unknown>
      status: string
    }
    expect(created.status).toBe('healthy')
    expect(created.settings).toMatchObject({
      url: 'http://127.0.0.1:9/hook',
      signingSecret: '********',
      headers: '********',
    })
    for (const path of ['/api/v1/destinations', `/api/v1/destinations/${created.id}`]) {
      const text = await (await k.admin(path)).text()
      expect(text).not.toContain(SIGNING)
      expect(text).not.toContain('vendor-token-xyz')
    }
    const rows = await k.kindred.store.db.query<{ row: string }>(
      'SELECT row_to_json(d)::text AS row FROM destinations d WHERE id = $1',
      [created.id],
    )
    expect(rows.rows[0]?.row).not.toContain(SIGNING)
    expect(rows.rows[0]?.row).not.toContain('vendor-token-xyz')
    expect(rows.rows[0]?.row).toContain('enc:v1:')
  })

  it('keeps stored secrets when an update sends the mask back', async () => {
    const created = (await (await create(webhook)).json()) as {
      id: string
      settings: Record<string, unknown>
    }
    const res = await k.admin(`/api/v1/destinations/${created.id}`, {
      method: 'PUT',
      body: { name: 'Renamed', settings: { ...created.settings, batch: true } },
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({
      name: 'Renamed',
      settings: { url: 'http://127.0.0.1:9/hook', batch: true },
    })
    const row = await k.kindred.store.db.query<{ settings: Record<string, unknown> }>(
      'SELECT settings FROM destinations WHERE id = $1',
      [created.id],
    )
    const plain = decryptSettings(
      getDestination('builtin.webhook').manifest,
      row.rows[0]?.settings ?? {},
      Buffer.from(SECRET_KEY_HEX, 'hex'),
    )
    expect(plain.signingSecret).toBe(SIGNING)
    expect(plain.headers).toEqual({ authorization: HEADER_TOKEN })
  })

  it('rejects unknown types, invalid settings and unsupported actions with 400s', async () => {
    const unknown = await create({ ...webhook, type: 'builtin.nope' })
    expect(unknown.status).toBe(400)
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe(
      'VALIDATION_FAILED',
    )
    const invalid = await create({ ...webhook, settings: { url: 'not a url' } })
    expect(invalid.status).toBe(400)
    expect(((await invalid.json()) as { error: { message: string } }).error.message).toContain(
      'url',
    )
    const unsupported = await create({
      type: 'builtin.mailchimp',
      name: 'mc',
      settings: { apiKey: 'abc-us6', listId: 'l1' },
      actions: { forwardEvents: {} },
    })
    expect(unsupported.status).toBe(400)
    expect(((await unsupported.json()) as { error: { message: string } }).error.message).toContain(
      'does not support forwardEvents',
    )
    const typeChange = (await (await create(webhook)).json()) as { id: string }
    const put = await k.admin(`/api/v1/destinations/${typeChange.id}`, {
      method: 'PUT',
      body: { type: 'builtin.slack' },
    })
    expect(put.status).toBe(400)
  })

  it('isolates workspaces: another workspace gets 404s', async () => {
    const created = (await (await create(webhook)).json()) as { id: string }
    const other = { 'x-kindred-workspace': 'other-ws' }
    for (const [method, path] of [
      ['GET', `/api/v1/destinations/${created.id}`],
      ['GET', `/api/v1/destinations/${created.id}/deliveries`],
      ['GET', `/api/v1/destinations/${created.id}/dead-letters`],
      ['DELETE', `/api/v1/destinations/${created.id}`],
    ] as const) {
      const res = await k.admin(path, { method, headers: other })
      expect(res.status).toBe(404)
    }
    const replay = await k.admin(`/api/v1/destinations/${created.id}/replay`, {
      body: {},
      headers: other,
    })
    expect(replay.status).toBe(404)
    const list = (await (await k.admin('/api/v1/destinations', { headers: other })).json()) as {
      data: unknown[]
    }
    expect(list.data).toHaveLength(0)
    expect((await k.admin(`/api/v1/destinations/${created.id}`)).status).toBe(200)
  })

  it('deletes a destination', async () => {
    const created = (await (await create(webhook)).json()) as { id: string }
    expect((await k.admin(`/api/v1/destinations/${created.id}`, { method: 'DELETE' })).status).toBe(
      204,
    )
    expect((await k.admin(`/api/v1/destinations/${created.id}`)).status).toBe(404)
  })
})

interface ErrorBody {
  error: { code: string; message: string; details?: { path: string; code?: string }[] }
}

async function refused(body: Record<string, unknown>): Promise<ErrorBody['error']> {
  const res = await create(body)
  expect(res.status, JSON.stringify(body.settings)).toBe(400)
  return ((await res.json()) as ErrorBody).error
}

const hookTo = (url: string) => ({ ...webhook, enabled: false, settings: { url } })

describe('destinations API: where data may go', () => {
  it('refuses private, link-local, metadata and local targets at save (in any spelling)', async () => {
    // The test server allows loopback (127.0.0.0/8, ::1) only, as an operator's allow-list.
    for (const url of [
      'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
      'http://10.0.0.1/',
      'http://172.16.0.1/',
      'http://192.168.1.1/admin',
      'http://100.64.0.1/',
      'http://0.0.0.0:8080/',
      'http://[fd00::1]/',
      'http://[fe80::1]/',
      'http://localhost:18901/',
      'http://metadata.google.internal/computeMetadata/v1/',
      'http://0x0a000001/',
      'http://167772161/',
      'http://10.1/',
      'http://[::ffff:169.254.169.254]/',
      'http://[::ffff:10.0.0.1]/',
    ]) {
      const e = await refused(hookTo(url))
      expect(e.code).toBe('VALIDATION_FAILED')
      expect(e.details?.[0]).toMatchObject({
        path: 'settings.url',
        code: 'OUTBOUND_ADDRESS_REFUSED',
      })
    }
    expect((await create(hookTo('https://hooks.example.com/kindred'))).status).toBe(201)
  })

  it('refuses schemes other than http and https at save', async () => {
    for (const url of [
      'file:///etc/passwd',
      'gopher://127.0.0.1:6379/_INFO',
      'ftp://example.com/x',
      'javascript:alert(1)',
      'data:text/plain,hello',
    ]) {
      const e = await refused(hookTo(url))
      expect(e.details?.[0]).toMatchObject({ code: 'OUTBOUND_SCHEME_REFUSED' })
    }
  })

  it('checks every connector endpoint: Braze, Slack, Postgres and the export directory', async () => {
    const braze = await refused({
      type: 'builtin.braze',
      name: 'b',
      enabled: false,
      settings: { restEndpoint: 'http://169.254.169.254/', apiKey: 'braze-key-0123456789' },
    })
    expect(braze.details?.[0]).toMatchObject({ path: 'settings.restEndpoint' })
    const slack = await refused({
      type: 'builtin.slack',
      name: 's',
      enabled: false,
      settings: { webhookUrl: 'http://10.1.2.3/hook' },
    })
    expect(slack.details?.[0]).toMatchObject({ path: 'settings.webhookUrl' })
    for (const connectionString of [
      'postgres://probe:probe@169.254.169.254:80/x',
      'postgres://probe:probe@10.0.0.5:5432/x',
      'postgres://probe:probe@db.example.com/x?host=/var/run/postgresql',
    ]) {
      const pg = await refused({
        type: 'builtin.postgres-table',
        name: 'p',
        enabled: false,
        settings: { connectionString },
      })
      expect(pg.details?.[0]).toMatchObject({
        path: 'settings.connectionString',
        code: 'OUTBOUND_ADDRESS_REFUSED',
      })
      // The connection string is a secret: the refusal does not repeat it.
      expect(JSON.stringify(pg)).not.toContain('probe:probe')
    }
    for (const directory of ['../escape-rt', '/abs-export', 'a/../../b', 'C:\\x']) {
      const fx = await refused({
        type: 'builtin.file-export',
        name: 'f',
        enabled: false,
        settings: { directory },
      })
      expect(fx.message).toContain('directory')
    }
    const ok = await create({
      type: 'builtin.file-export',
      name: 'f',
      enabled: false,
      settings: { directory: 'crm/daily' },
    })
    expect(ok.status).toBe(201)
  })

  it('requires secrets to be re-entered when the webhook URL moves', async () => {
    const created = (await (await create(webhook)).json()) as {
      id: string
      settings: Record<string, unknown>
    }
    const moved = await k.admin(`/api/v1/destinations/${created.id}`, {
      method: 'PUT',
      body: { settings: { ...created.settings, url: 'http://127.0.0.1:18902/attacker' } },
    })
    expect(moved.status).toBe(400)
    const e = ((await moved.json()) as ErrorBody).error
    expect(e.code).toBe('VALIDATION_FAILED')
    expect(e.details?.map((d) => d.path).sort()).toEqual([
      'settings.headers',
      'settings.signingSecret',
    ])
    expect(e.message).toContain('url changed')
    // Entering them again (or leaving them out) is allowed.
    const again = await k.admin(`/api/v1/destinations/${created.id}`, {
      method: 'PUT',
      body: {
        settings: {
          url: 'http://127.0.0.1:18902/new',
          signingSecret: 'whsec-new-secret-0123456789',
          headers: { authorization: 'Bearer new' },
        },
      },
    })
    expect(again.status).toBe(200)
  })

  it('requires the Braze API key to be re-entered when the REST endpoint moves', async () => {
    const created = (await (
      await create({
        type: 'builtin.braze',
        name: 'braze',
        enabled: false,
        settings: {
          restEndpoint: 'https://rest.iad-01.braze.com',
          apiKey: 'braze-REST-secret-0123',
        },
      })
    ).json()) as { id: string; settings: Record<string, unknown> }
    expect(created.settings.apiKey).toBe('********')
    const moved = await k.admin(`/api/v1/destinations/${created.id}`, {
      method: 'PUT',
      body: { settings: { ...created.settings, restEndpoint: 'https://attacker.example.com' } },
    })
    expect(moved.status).toBe(400)
    expect(((await moved.json()) as ErrorBody).error.details).toEqual([
      expect.objectContaining({ path: 'settings.apiKey', code: 'SECRET_REENTRY_REQUIRED' }),
    ])
    const same = await k.admin(`/api/v1/destinations/${created.id}`, {
      method: 'PUT',
      body: { name: 'braze 2', settings: created.settings },
    })
    expect(same.status).toBe(200)
  })

  it('masks query values of a webhook URL in output, and keeps the real URL on a round trip', async () => {
    const url = 'http://127.0.0.1:9/hook?token=qs-secret-123&team=a'
    const res = await create({ ...webhook, settings: { ...webhook.settings, url } })
    const created = (await res.json()) as { id: string; settings: Record<string, unknown> }
    expect(created.settings.url).toBe('http://127.0.0.1:9/hook?token=********&team=********')
    const text = await (await k.admin(`/api/v1/destinations/${created.id}`)).text()
    expect(text).not.toContain('qs-secret-123')
    const auditRes = await k.admin('/api/v1/audit?action=destination.create')
    expect(auditRes.status).toBe(200)
    const audit = await auditRes.text()
    expect(audit).toContain('token=********')
    expect(audit).not.toContain('qs-secret-123')
    const put = await k.admin(`/api/v1/destinations/${created.id}`, {
      method: 'PUT',
      body: { name: 'masked', settings: created.settings },
    })
    expect(put.status).toBe(200)
    const row = await k.kindred.store.db.query<{ settings: Record<string, unknown> }>(
      'SELECT settings FROM destinations WHERE id = $1',
      [created.id],
    )
    expect(row.rows[0]?.settings.url).toBe(url)
  })

  it('shows response bodies to editors only; viewers get the status', async () => {
    const r = await startReceiver(SIGNING)
    r.handler = () => ({ status: 200, body: '{"internal":"service answer"}' })
    try {
      const { writeKey } = await k.createSource('viewer test')
      const created = (await (
        await create({
          ...webhook,
          settings: { url: `${r.url}?key=abc-query-secret`, signingSecret: SIGNING },
          actions: { forwardEvents: { events: ['Viewer Probe'] } },
        })
      ).json()) as { id: string }
      await k.track(writeKey, '/v1/track', { userId: 'v-1', event: 'Viewer Probe' })
      const path = `/api/v1/destinations/${created.id}/deliveries`
      const full = await until(async () => {
        const d = ((await (await k.admin(path)).json()) as { data: Record<string, unknown>[] }).data
        return d.length > 0 ? d : undefined
      }, 30_000)
      expect(full[0]).toMatchObject({
        status: 'success',
        responseExcerpt: '{"internal":"service answer"}',
      })
      expect(JSON.stringify(full)).not.toContain('abc-query-secret')
      const key = (
        (await (
          await k.admin('/api/v1/api-keys', { body: { name: 'v', scopes: ['read:destinations'] } })
        ).json()) as { secret: string }
      ).secret
      const viewer = await k.admin(path, { headers: { authorization: `Bearer ${key}` } })
      expect(viewer.status).toBe(200)
      const seen = ((await viewer.json()) as { data: Record<string, unknown>[] }).data
      expect(seen[0]).toMatchObject({
        status: 'success',
        responseStatus: 200,
        responseExcerpt: null,
      })
      expect(JSON.stringify(seen)).not.toContain('service answer')
    } finally {
      await r.close()
    }
  }, 60_000)
})
