import { createHmac } from 'node:crypto'
import type {
  Destination,
  DestinationInput,
  HttpEffect,
  TransformContext,
  TransformResult,
} from '../contract.js'
import { defineDestination } from '../contract.js'
import { defaultClassify } from '../shared/classify.js'
import { idempotencyKey, partitionSupported } from '../shared/profile-fields.js'
import { manifest, type WebhookSettings } from './manifest.js'

/** The JSON the receiver gets for one input: the input itself, minus nothing. */
export function webhookPayload(input: DestinationInput): Record<string, unknown> {
  return { ...input }
}

/** `v1=<hex>`: HMAC-SHA256 over `<timestamp>.<body>`. Exported for receivers and tests. */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`
}

function request(
  items: DestinationInput[],
  body: string,
  ctx: TransformContext<WebhookSettings>,
): HttpEffect {
  const itemIds = items.map((i) => i.id)
  const key = idempotencyKey(ctx.destinationId, 'webhook', itemIds)
  const timestamp = Math.floor(ctx.now / 1000)
  const headers: Record<string, string> = {
    ...ctx.settings.headers,
    'content-type': 'application/json',
    'user-agent': 'Kindred-Webhook/1',
    'idempotency-key': key,
    'x-kindred-timestamp': String(timestamp),
  }
  if (ctx.settings.signingSecret) {
    headers['x-kindred-signature'] = signWebhook(ctx.settings.signingSecret, timestamp, body)
  }
  return {
    type: 'http',
    method: 'POST',
    url: ctx.settings.url,
    headers,
    body,
    idempotencyKey: key,
    itemIds,
  }
}

export function transform(
  inputs: DestinationInput[],
  ctx: TransformContext<WebhookSettings>,
): TransformResult {
  const { supported, skipped } = partitionSupported(inputs, manifest.actions)
  if (supported.length === 0) return { effects: [], skipped }
  if (ctx.settings.batch) {
    const body = JSON.stringify({ batch: supported.map(webhookPayload) })
    return { effects: [request(supported, body, ctx)], skipped }
  }
  return {
    effects: supported.map((i) => request([i], JSON.stringify(webhookPayload(i)), ctx)),
    skipped,
  }
}

export const webhook: Destination<typeof manifest.settings> = defineDestination({
  manifest,
  transform,
  classifyResponse: defaultClassify,
})
