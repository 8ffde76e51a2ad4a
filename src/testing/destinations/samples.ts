/**
 * Sample inputs shared by the golden fixtures, connector tests and the contract suite.
 * Exported for tests only (not used by production code).
 */
import type { DestinationInput, ProfileSnapshot } from '../../activate/core/contract.js'

export const SAMPLE_NOW = Date.parse('2026-11-25T10:00:00.000Z')

export const ada: ProfileSnapshot = {
  id: 'prof_ada',
  traits: {
    email: ' Ada.Lovelace@Example.com ',
    first_name: 'Ada',
    last_name: 'Lovelace',
    phone: '+44 20 7946 0958',
    plan: 'pro',
    company: 'Analytical Engines',
  },
  identities: [
    { type: 'user_id', value: 'u_1' },
    { type: 'email', value: 'ada.lovelace@example.com' },
  ],
}

export const grace: ProfileSnapshot = {
  id: 'prof_grace',
  traits: { email: 'grace.hopper@gmail.com', first_name: 'Grace', phone: '(415) 555-0100' },
  identities: [{ type: 'anonymous_id', value: 'anon_2' }],
}

/** No email, no phone: connectors that match on them must skip it, not drop it. */
export const anonymous: ProfileSnapshot = {
  id: 'prof_anon',
  traits: { plan: 'free' },
  identities: [{ type: 'anonymous_id', value: 'anon_3' }],
}

export const vips = { id: 'seg_vip', name: 'VIP customers', key: 'vip_customers' }

export const sampleInputs: Record<
  | 'event'
  | 'identify'
  | 'profile'
  | 'audienceAdd'
  | 'audienceRemove'
  | 'delete'
  | 'anonymousProfile',
  DestinationInput
> = {
  event: {
    kind: 'event',
    id: 'job_1',
    event: {
      type: 'track',
      event: 'Order Completed',
      messageId: 'msg_1',
      userId: 'u_1',
      anonymousId: null,
      properties: { order_id: 'o_1', revenue: 42.5, currency: 'EUR' },
      traits: {},
      context: { ip: '203.0.113.7' },
      timestamp: '2026-11-25T09:59:58.000Z',
      receivedAt: '2026-11-25T09:59:59.000Z',
    },
    profile: ada,
  },
  identify: {
    kind: 'event',
    id: 'job_2',
    event: {
      type: 'identify',
      messageId: 'msg_2',
      userId: 'u_1',
      properties: {},
      traits: { first_name: 'Ada', plan: 'pro' },
      context: {},
      timestamp: '2026-11-25T09:59:00.000Z',
      receivedAt: '2026-11-25T09:59:01.000Z',
    },
    profile: ada,
  },
  profile: { kind: 'profile', id: 'job_3', profile: ada, changedTraits: ['plan'] },
  audienceAdd: { kind: 'audience', id: 'job_4', action: 'add', audience: vips, profile: ada },
  audienceRemove: {
    kind: 'audience',
    id: 'job_5',
    action: 'remove',
    audience: vips,
    profile: grace,
  },
  delete: { kind: 'delete', id: 'job_6', profile: grace },
  anonymousProfile: { kind: 'profile', id: 'job_7', profile: anonymous, changedTraits: ['plan'] },
}

/** Valid settings per destination for fixtures and the contract suite (fake credentials). */
export const sampleSettings: Record<string, Record<string, unknown>> = {
  'builtin.webhook': {
    url: 'https://hooks.example.com/kindred',
    signingSecret: 'whsec_0123456789abcdef',
    headers: { authorization: 'Bearer receiver-token-123' },
  },
  'builtin.slack': { webhookUrl: 'https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX' },
  'builtin.mailchimp': { apiKey: '0123456789abcdef0123456789abcdef-us21', listId: 'a1b2c3d4e5' },
  'builtin.klaviyo': { privateApiKey: 'pk_test_0123456789abcdef', listId: 'LsT123' },
  'builtin.hubspot': { accessToken: 'pat-na1-00000000-1111-2222-3333-444444444444', listId: '123' },
  'builtin.braze': {
    restEndpoint: 'https://rest.iad-01.braze.com',
    apiKey: 'braze-rest-key-0123456789',
  },
  'builtin.google-ads': {
    customerId: '1234567890',
    userListId: '987654321',
    developerToken: 'devtoken-0123456789',
    accessToken: 'ya29.test-access-token',
    loginCustomerId: '1112223334',
  },
  'builtin.meta': { audienceId: '23850000000000000', accessToken: 'EAAB-test-token-0123456789' },
  'builtin.postgres-table': {
    connectionString: 'postgres://kindred:s3cretpw@db.example.com:5432/crm',
  },
  'builtin.file-export': { directory: 'crm', format: 'csv' },
  'builtin.rabbitmq': {
    url: 'amqp://kindred:amqp-s3cret@mq.example.com:5672/crm',
    routingKey: 'kindred.events',
  },
  'builtin.redis-streams': {
    url: 'redis://default:redis-s3cret@cache.example.com:6379/0',
    stream: 'kindred:events',
    maxLen: 100000,
  },
  'builtin.nats': {
    url: 'nats://kindred:nats-s3cret@nats.example.com:4222',
    subject: 'kindred.events',
  },
  'builtin.mqtt': {
    url: 'mqtt://kindred:mqtt-s3cret@broker.example.com:1883',
    topic: 'kindred/events',
  },
}
