/**
 * @module attribution/touchpoint-channel
 * Where a visit came from, from what an event carries: `context.campaign` (analytics.js fills it
 * from the page's UTM parameters), else the UTM parameters of `context.page.url`, else the
 * referrer's host. Channel names follow the usual default channel grouping (paid search, paid
 * social, display, email, affiliate, organic search, organic social, referral, direct).
 */

export interface CampaignFields {
  readonly source: string | null
  readonly medium: string | null
  readonly name: string | null
}

export interface ClassifiedTouch {
  readonly channel: string
  readonly campaign: string | null
  readonly source: string | null
}

const SEARCH = [
  'google.',
  'bing.com',
  'duckduckgo.com',
  'yahoo.',
  'baidu.com',
  'yandex.',
  'ecosia.org',
  'search.brave.com',
]
const SOCIAL = [
  'facebook.com',
  'instagram.com',
  't.co',
  'twitter.com',
  'x.com',
  'linkedin.com',
  'lnkd.in',
  'reddit.com',
  'pinterest.',
  'tiktok.com',
  'youtube.com',
  'threads.net',
]
const SEARCH_SOURCES = [
  'google',
  'bing',
  'duckduckgo',
  'yahoo',
  'baidu',
  'yandex',
  'ecosia',
  'brave',
]
const SOCIAL_SOURCES = [
  'facebook',
  'fb',
  'instagram',
  'ig',
  'twitter',
  'x',
  'linkedin',
  'reddit',
  'pinterest',
  'tiktok',
  'youtube',
  'meta',
]

function hostOf(url: string): string | null {
  try {
    return new URL(url).hostname.toLowerCase().replace(/^www\./, '')
  } catch {
    return null
  }
}

function matches(host: string, list: readonly string[]): boolean {
  return list.some((d) =>
    d.endsWith('.')
      ? host.startsWith(d) || host.includes(`.${d}`)
      : host === d || host.endsWith(`.${d}`),
  )
}

/** The UTM parameters of a URL, when it has any. */
export function utmOf(url: string): CampaignFields | null {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return null
  }
  const source = u.searchParams.get('utm_source')
  const medium = u.searchParams.get('utm_medium')
  const name = u.searchParams.get('utm_campaign')
  if (source === null && medium === null && name === null) {
    if (u.searchParams.has('gclid') || u.searchParams.has('msclkid'))
      return { source: 'google', medium: 'cpc', name: null }
    if (u.searchParams.has('fbclid'))
      return { source: 'facebook', medium: 'paid-social', name: null }
    return null
  }
  return { source, medium, name }
}

function channelOfCampaign(c: CampaignFields): string {
  const medium = (c.medium ?? '').toLowerCase()
  const source = (c.source ?? '').toLowerCase()
  if (/^(e-?mail|newsletter)$/.test(medium) || source === 'email') return 'email'
  if (/^(sms|push)$/.test(medium)) return medium
  if (/affiliate/.test(medium)) return 'affiliate'
  if (/^(display|banner|cpm|programmatic)$/.test(medium)) return 'display'
  const paid = /^(cpc|ppc|paid.*|cpa|cpv)$/.test(medium)
  const social = SOCIAL_SOURCES.includes(source) || /social/.test(medium)
  if (paid)
    return social ? 'paid-social' : SEARCH_SOURCES.includes(source) ? 'paid-search' : 'paid-other'
  if (social) return 'organic-social'
  if (medium === 'organic') return 'organic-search'
  if (medium === 'referral') return 'referral'
  return source ? `other:${source}` : 'other'
}

/**
 * The touch an event represents, or null when it is not one (a referrer from the site itself,
 * a page with no campaign and no referrer is "direct").
 */
export function classifyTouch(input: {
  campaign?: Partial<CampaignFields> | null
  pageUrl?: string | null
  referrer?: string | null
}): ClassifiedTouch {
  const fromContext =
    input.campaign && (input.campaign.source || input.campaign.medium || input.campaign.name)
      ? {
          source: input.campaign.source ?? null,
          medium: input.campaign.medium ?? null,
          name: input.campaign.name ?? null,
        }
      : null
  const campaign = fromContext ?? (input.pageUrl ? utmOf(input.pageUrl) : null)
  if (campaign)
    return {
      channel: channelOfCampaign(campaign),
      campaign: campaign.name,
      source: campaign.source,
    }
  const ref = input.referrer ? hostOf(input.referrer) : null
  const page = input.pageUrl ? hostOf(input.pageUrl) : null
  if (!ref) return { channel: 'direct', campaign: null, source: null }
  if (page && (ref === page || ref.endsWith(`.${page}`) || page.endsWith(`.${ref}`))) {
    return { channel: 'internal', campaign: null, source: ref }
  }
  if (matches(ref, SEARCH)) return { channel: 'organic-search', campaign: null, source: ref }
  if (matches(ref, SOCIAL)) return { channel: 'organic-social', campaign: null, source: ref }
  return { channel: 'referral', campaign: null, source: ref }
}
