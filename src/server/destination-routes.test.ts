import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decryptSettings, getDestination } from '../destinations/index.js'
import { startTestKindred, type TestKindred } from './test-server.js'

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
    expect(data).toHaveLength(10)
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
      body: { name: 'Renamed', settings: { ...created.settings, url: 'http://127.0.0.1:9/other' } },
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({
      name: 'Renamed',
      settings: { url: 'http://127.0.0.1:9/other' },
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
