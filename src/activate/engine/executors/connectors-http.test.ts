/**
 * Every HTTP connector's effects, sent by the real executor to a local server that checks the
 * request shape the vendor documents (method, path, headers, JSON body), with vendor-like replies
 * (so chains resolve captured ids).
 */
import { createHash, createHmac } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import type { AnyDestination, DestinationInput, HttpEffect } from '../../core/contract.js'
import { groupEffects } from '../../core/shared/chain.js'
import { getDestination, runTransform } from '../../core/registry.js'
import { SAMPLE_NOW, sampleInputs, sampleSettings } from '../../../testing/destinations/samples.js'
import { executeHttpChain } from './http-executor.js'
import {
  loopbackGuard,
  retarget,
  startMockVendor,
  type MockVendor,
  type RecordedRequest,
  type Reply,
} from '../../../testing/mock-vendor.js'

let vendor: MockVendor | undefined
afterEach(async () => {
  await vendor?.close()
  vendor = undefined
})

const sha = (s: string) => createHash('sha256').update(s).digest('hex')

async function send(
  id: string,
  inputs: DestinationInput[],
  handler: (r: RecordedRequest) => Reply = () => ({}),
  settings?: Record<string, unknown>,
) {
  vendor = await startMockVendor(handler)
  const d: AnyDestination = getDestination(id)
  const result = runTransform(d, inputs, {
    settings: settings ?? sampleSettings[id],
    destinationId: 'dest_http',
    now: SAMPLE_NOW,
  })
  const outcomes = []
  for (const group of groupEffects(result.effects)) {
    const steps = (group as HttpEffect[]).map((e) => retarget(e, vendor!.base))
    outcomes.push(
      await executeHttpChain(steps, {
        fetch: loopbackGuard.fetch,
        timeoutMs: 5_000,
        classify: d.classifyResponse,
        now: () => SAMPLE_NOW,
      }),
    )
  }
  return { requests: vendor.requests, outcomes, result }
}

describe('webhook', () => {
  it('POSTs the input as JSON with a verifiable HMAC-SHA256 signature and custom headers', async () => {
    const { requests, outcomes } = await send('builtin.webhook', [sampleInputs.event])
    expect(outcomes.map((o) => o.classification.outcome)).toEqual(['success'])
    const [r] = requests
    expect(r?.method).toBe('POST')
    expect(r?.path).toBe('/kindred')
    expect(r?.headers['content-type']).toBe('application/json')
    expect(r?.headers.authorization).toBe('Bearer receiver-token-123')
    const ts = r?.headers['x-kindred-timestamp'] as string
    expect(Number(ts)).toBe(SAMPLE_NOW / 1000)
    const expected = createHmac('sha256', 'whsec_0123456789abcdef')
      .update(`${ts}.${r?.body}`)
      .digest('hex')
    expect(r?.headers['x-kindred-signature']).toBe(`v1=${expected}`)
    expect(r?.json).toMatchObject({
      kind: 'event',
      id: 'job_1',
      event: { event: 'Order Completed' },
    })
  })
})

describe('slack', () => {
  it('POSTs {text} rendered from the template; a plain-text error is the failure message', async () => {
    const { requests, outcomes } = await send('builtin.slack', [sampleInputs.audienceAdd], () => ({
      status: 404,
      body: 'no_service',
    }))
    expect(requests[0]?.path).toBe('/services/T000/B000/XXXXSECRETXXXX')
    expect(requests[0]?.json).toEqual({ text: 'Ada.Lovelace@Example.com entered *VIP customers*' })
    expect(outcomes[0]?.classification).toEqual({
      outcome: 'fail',
      message: 'HTTP 404: no_service',
    })
  })
})

describe('mailchimp', () => {
  it('upserts the member at its subscriber hash, then tags it, with Basic auth', async () => {
    const { requests, outcomes } = await send('builtin.mailchimp', [sampleInputs.audienceAdd])
    const hash = createHash('md5').update('ada.lovelace@example.com').digest('hex')
    expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `PUT /3.0/lists/a1b2c3d4e5/members/${hash}`,
      `POST /3.0/lists/a1b2c3d4e5/members/${hash}/tags`,
    ])
    const auth = Buffer.from(
      String(requests[0]?.headers.authorization).replace('Basic ', ''),
      'base64',
    ).toString()
    expect(auth).toBe('kindred:0123456789abcdef0123456789abcdef-us21')
    expect(requests[0]?.json).toEqual({
      email_address: 'ada.lovelace@example.com',
      status_if_new: 'subscribed',
      merge_fields: { FNAME: 'Ada', LNAME: 'Lovelace' },
    })
    expect(requests[1]?.json).toEqual({ tags: [{ name: 'VIP customers', status: 'active' }] })
    expect(outcomes[0]?.classification.outcome).toBe('success')
  })

  it("stops the chain when the upsert fails, with Mailchimp's detail as the message", async () => {
    const { requests, outcomes } = await send(
      'builtin.mailchimp',
      [sampleInputs.audienceAdd],
      () => ({
        status: 400,
        body: { title: 'Member In Compliance State', detail: 'ada is in a compliance state' },
      }),
    )
    expect(requests).toHaveLength(1)
    expect(outcomes[0]?.classification).toEqual({
      outcome: 'fail',
      message: 'HTTP 400: ada is in a compliance state',
    })
  })
})

describe('klaviyo', () => {
  it('imports profiles into the list, and removes by resolving emails to profile ids first', async () => {
    const { requests, outcomes } = await send(
      'builtin.klaviyo',
      [sampleInputs.audienceAdd, sampleInputs.audienceRemove],
      (r) =>
        r.method === 'GET'
          ? {
              body: {
                data: [
                  {
                    type: 'profile',
                    id: '01KPROFILE',
                    attributes: { email: 'grace.hopper@gmail.com' },
                    links: {},
                  },
                ],
              },
            }
          : { status: 202, body: {} },
    )
    expect(outcomes.map((o) => o.classification.outcome)).toEqual(['success', 'success'])
    for (const r of requests) {
      expect(r.headers.revision).toBe('2026-10-15')
      expect(r.headers.authorization).toBe('Klaviyo-API-Key pk_test_0123456789abcdef')
    }
    const [imp, lookup, del] = requests
    expect(imp?.path).toBe('/api/profile-bulk-import-jobs')
    expect(imp?.json).toMatchObject({
      data: {
        type: 'profile-bulk-import-job',
        attributes: {
          profiles: {
            data: [{ type: 'profile', attributes: { email: 'ada.lovelace@example.com' } }],
          },
        },
        relationships: { lists: { data: [{ type: 'list', id: 'LsT123' }] } },
      },
    })
    expect(lookup?.path).toBe('/api/profiles')
    expect(lookup?.query.get('filter')).toBe('any(email,["grace.hopper@gmail.com"])')
    expect(`${del?.method} ${del?.path}`).toBe('DELETE /api/lists/LsT123/relationships/profiles')
    expect(del?.json).toEqual({ data: [{ type: 'profile', id: '01KPROFILE' }] })
  })

  it('skips the removal request when no Klaviyo profile has the email', async () => {
    const { requests, outcomes } = await send(
      'builtin.klaviyo',
      [sampleInputs.audienceRemove],
      () => ({ body: { data: [] } }),
    )
    expect(requests.map((r) => r.method)).toEqual(['GET'])
    expect(outcomes[0]?.classification.outcome).toBe('success')
    expect(outcomes[0]?.steps[1]?.skipped).toBe(true)
  })
})

describe('hubspot', () => {
  it('batch-upserts by email, then adds the returned record ids to the list', async () => {
    const { requests, outcomes } = await send('builtin.hubspot', [sampleInputs.audienceAdd], (r) =>
      r.path.endsWith('/batch/upsert')
        ? {
            body: {
              status: 'COMPLETE',
              results: [{ id: '501', properties: { email: 'ada.lovelace@example.com' } }],
            },
          }
        : { body: { recordsIdsAdded: ['501'], recordIdsRemoved: [], recordIdsMissing: [] } },
    )
    expect(outcomes[0]?.classification.outcome).toBe('success')
    expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /crm/v3/objects/contacts/batch/upsert',
      'PUT /crm/v3/lists/123/memberships/add-and-remove',
    ])
    expect(requests[0]?.headers.authorization).toBe(
      'Bearer pat-na1-00000000-1111-2222-3333-444444444444',
    )
    expect(requests[0]?.json).toEqual({
      inputs: [
        {
          id: 'ada.lovelace@example.com',
          idProperty: 'email',
          properties: {
            firstname: 'Ada',
            lastname: 'Lovelace',
            phone: '+44 20 7946 0958',
            company: 'Analytical Engines',
            email: 'ada.lovelace@example.com',
          },
        },
      ],
    })
    expect(requests[1]?.json).toEqual({ recordIdsToAdd: ['501'], recordIdsToRemove: [] })
  })

  it('reports a 207 multi-status error against the one contact it names', async () => {
    const { outcomes } = await send(
      'builtin.hubspot',
      [
        sampleInputs.profile,
        {
          ...sampleInputs.profile,
          id: 'job_9',
          profile: {
            ...sampleInputs.profile.profile!,
            id: 'p9',
            traits: { email: 'bad@example.com' },
          },
        } as DestinationInput,
      ],
      () => ({
        status: 207,
        body: {
          status: 'COMPLETE',
          results: [{ id: '1' }],
          numErrors: 1,
          errors: [
            {
              status: 'error',
              category: 'VALIDATION_ERROR',
              message: 'Property values were not valid',
              context: { ids: ['bad@example.com'] },
            },
          ],
        },
      }),
    )
    expect(outcomes[0]?.classification).toEqual({
      outcome: 'partial',
      failed: [{ itemId: 'job_9', message: 'Property values were not valid', retryable: false }],
    })
  })
})

describe('braze', () => {
  it('sends attributes and events to /users/track with the bearer key; non-fatal errors become partial', async () => {
    const { requests, outcomes } = await send(
      'builtin.braze',
      [sampleInputs.event, sampleInputs.profile],
      () => ({
        status: 201,
        body: {
          message: 'success',
          errors: [{ type: "'name' is required", input_array: 'events', index: 0 }],
        },
      }),
    )
    expect(`${requests[0]?.method} ${requests[0]?.path}`).toBe('POST /users/track')
    expect(requests[0]?.headers.authorization).toBe('Bearer braze-rest-key-0123456789')
    expect(requests[0]?.json).toMatchObject({
      attributes: [{ external_id: 'u_1', first_name: 'Ada', plan: 'pro' }],
      events: [
        {
          external_id: 'u_1',
          name: 'Order Completed',
          time: '2026-11-25T09:59:58.000Z',
          properties: { revenue: 42.5 },
        },
      ],
    })
    expect(outcomes[0]?.classification).toEqual({
      outcome: 'partial',
      failed: [{ itemId: 'job_1', message: "'name' is required", retryable: false }],
    })
  })
})

describe('google-ads', () => {
  it('creates a Customer Match job per action (entries, exits), adds hashed operations, then runs each', async () => {
    let n = 0
    const jobs: string[] = []
    const { requests, outcomes } = await send(
      'builtin.google-ads',
      [sampleInputs.audienceAdd, sampleInputs.audienceRemove],
      (r) => {
        if (!r.path.endsWith(':create')) return { body: {} }
        const job = `customers/1234567890/offlineUserDataJobs/${555 + n++}`
        jobs.push(job)
        return { body: { resourceName: job } }
      },
    )
    expect(outcomes.map((o) => o.classification.outcome)).toEqual(['success', 'success'])
    expect(requests.map((r) => r.path)).toEqual([
      '/v26/customers/1234567890/offlineUserDataJobs:create',
      `/v26/${jobs[0]}:addOperations`,
      `/v26/${jobs[0]}:run`,
      '/v26/customers/1234567890/offlineUserDataJobs:create',
      `/v26/${jobs[1]}:addOperations`,
      `/v26/${jobs[1]}:run`,
    ])
    for (const r of requests) {
      expect(r.headers['developer-token']).toBe('devtoken-0123456789')
      expect(r.headers['login-customer-id']).toBe('1112223334')
      expect(r.headers.authorization).toBe('Bearer ya29.test-access-token')
    }
    // Google refuses a job mixing creations and removals (CONFLICTING_OPERATION).
    expect(requests[1]?.json).toEqual({
      enablePartialFailure: true,
      operations: [
        {
          create: {
            userIdentifiers: [
              { hashedEmail: sha('ada.lovelace@example.com') },
              { hashedPhoneNumber: sha('+442079460958') },
            ],
          },
        },
      ],
    })
    expect(requests[4]?.json).toEqual({
      enablePartialFailure: true,
      operations: [
        // gmail.com: dots in the local part are dropped before hashing.
        {
          remove: {
            userIdentifiers: [
              { hashedEmail: sha('gracehopper@gmail.com') },
              { hashedPhoneNumber: sha('+14155550100') },
            ],
          },
        },
      ],
    })
  })

  it('a partialFailureError fails the refused operation only, and the job still runs for the rest', async () => {
    const job = 'customers/1234567890/offlineUserDataJobs/9'
    const second: DestinationInput = { ...sampleInputs.audienceAdd, id: 'job_4b' }
    const { requests, outcomes } = await send(
      'builtin.google-ads',
      [sampleInputs.audienceAdd, second],
      (r) => {
        if (r.path.endsWith(':create')) return { body: { resourceName: job } }
        if (!r.path.endsWith(':addOperations')) return { body: {} }
        return {
          body: {
            partialFailureError: {
              code: 3,
              message:
                'The SHA256 encoded value is malformed., at operations[1].create.user_identifiers[0].hashed_email',
              details: [
                {
                  '@type': 'type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure',
                  errors: [
                    {
                      errorCode: { offlineUserDataJobError: 'INVALID_SHA256_FORMAT' },
                      message: 'The SHA256 encoded value is malformed.',
                      location: {
                        fieldPathElements: [
                          { fieldName: 'operations', index: 1 },
                          { fieldName: 'create' },
                          { fieldName: 'user_identifiers', index: 0 },
                        ],
                      },
                    },
                  ],
                },
              ],
            },
          },
        }
      },
    )
    expect(requests.map((r) => r.path.split(':').pop())).toEqual(['create', 'addOperations', 'run'])
    expect(outcomes[0]?.classification).toEqual({
      outcome: 'partial',
      failed: [
        {
          itemId: 'job_4b',
          message: 'INVALID_SHA256_FORMAT: The SHA256 encoded value is malformed.',
          retryable: false,
        },
      ],
    })
  })

  it('fails the chain clearly when create answers without a resourceName', async () => {
    const { requests, outcomes } = await send(
      'builtin.google-ads',
      [sampleInputs.audienceAdd],
      () => ({ body: {} }),
    )
    expect(requests).toHaveLength(1)
    expect(outcomes[0]?.classification).toMatchObject({
      outcome: 'fail',
      message: expect.stringContaining('${job}'),
    })
  })
})

describe('meta', () => {
  it('POSTs additions and DELETEs removals with hashed EMAIL and PHONE columns', async () => {
    const { requests } = await send(
      'builtin.meta',
      [sampleInputs.audienceAdd, sampleInputs.audienceRemove],
      () => ({
        body: { audience_id: '23850000000000000', num_received: 1, num_invalid_entries: 0 },
      }),
    )
    expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /v25.0/23850000000000000/users',
      'DELETE /v25.0/23850000000000000/users',
    ])
    expect(requests[0]?.headers.authorization).toBe('Bearer EAAB-test-token-0123456789')
    expect(requests[0]?.json).toEqual({
      payload: {
        schema: ['EMAIL', 'PHONE'],
        data: [[sha('ada.lovelace@example.com'), sha('442079460958')]],
      },
    })
    expect(requests[1]?.json).toEqual({
      payload: {
        schema: ['EMAIL', 'PHONE'],
        data: [[sha('grace.hopper@gmail.com'), sha('14155550100')]],
      },
    })
  })

  it('retries Graph API throttling errors even though they come as 400', async () => {
    const { outcomes } = await send('builtin.meta', [sampleInputs.audienceAdd], () => ({
      status: 400,
      body: { error: { message: 'User request limit reached', code: 17 } },
    }))
    expect(outcomes[0]?.classification).toMatchObject({
      outcome: 'retry',
      message: 'HTTP 400: User request limit reached',
    })
  })
})

describe('executor behaviour', () => {
  it('passes Retry-After through classification and does not follow redirects', async () => {
    const { outcomes } = await send('builtin.webhook', [sampleInputs.event], () => ({
      status: 429,
      headers: { 'retry-after': '1' },
    }))
    expect(outcomes[0]?.classification).toEqual({
      outcome: 'retry',
      retryAfterMs: 1000,
      message: 'HTTP 429: (empty response body)',
      quota: true,
    })
    await vendor?.close()
    const r = await send('builtin.webhook', [sampleInputs.event], () => ({
      status: 302,
      headers: { location: 'http://127.0.0.1:1/elsewhere' },
    }))
    expect(r.requests).toHaveLength(1)
    expect(r.outcomes[0]?.classification.outcome).toBe('fail')
  })
})
