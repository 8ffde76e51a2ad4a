/**
 * Deterministic synthetic customers and their Segment-spec events, for benchmarks.
 *
 * Each customer browses anonymously on one to three devices, most of them log in at some point
 * (an `identify` with userId, email and name on every device they use from then on, so the
 * identity graph has to join the devices), view pages and products, add to cart and buy.
 * Everything comes from a seeded PRNG (mulberry32), never `Math.random`: the same options give
 * the same events, byte for byte. Customer `i` depends only on the seed and `i`, so a larger run
 * starts with the same customers as a smaller one.
 * @module
 */

/** A seeded pseudo-random source. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number
  /** Integer in [min, max], both included. */
  int(min: number, max: number): number
  pick<T>(items: readonly T[]): T
  chance(p: number): boolean
}

/** mulberry32: tiny, fast, good enough for synthetic data (not for cryptography). */
export function createRng(seed: number): Rng {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]) => items[Math.floor(next() * items.length)] as T,
    chance: (p) => next() < p,
  }
}

/** Mixes a seed with stream numbers (customer index, purpose) into a new 32-bit seed. */
function mix(...parts: number[]): number {
  let h = 0x811c9dc5
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193) >>> 0
    h = Math.imul(h ^ (h >>> 13), 0x5bd1e995) >>> 0
    h ^= h >>> 15
  }
  return h >>> 0
}

export interface GeneratorOptions {
  seed: number
  /** How many customers (default 1,000). Ignored when `events` is given. */
  customers?: number
  /** Exactly this many events: as many customers as needed, the latest surplus events dropped. */
  events?: number
  /** Start of the simulated period (ISO-8601, default 2026-01-01T00:00:00.000Z). */
  start?: string
  /** Length of the simulated period in days (default 30). */
  spanDays?: number
  /** Share of customers who log in at some point (default 0.6). */
  identifiedShare?: number
  /** Prefix of every generated id, so two runs against one store do not collide (default 'g'). */
  idPrefix?: string
}

export interface Device {
  anonymousId: string
  kind: 'desktop' | 'mobile' | 'tablet'
  userAgent: string
  ip: string
}

export interface Customer {
  index: number
  /** Set for customers who log in; the same on every device. */
  userId: string | null
  email: string
  firstName: string
  lastName: string
  devices: Device[]
  /** Sessions, each on one of the devices (indexes into `devices`), in time order. */
  sessionDevices: number[]
  /** The session in which the customer first logs in (null: never). */
  loginSession: number | null
}

/** A Segment-spec event as an SDK would send it. */
export interface GeneratedEvent {
  type: 'identify' | 'track' | 'page'
  messageId: string
  timestamp: string
  anonymousId: string
  userId?: string
  event?: string
  name?: string
  properties?: Record<string, unknown>
  traits?: Record<string, unknown>
  context: Record<string, unknown>
}

// prettier-ignore
const FIRST_NAMES = [
  'Anna', 'Ben', 'Chloé', 'David', 'Emma', 'Farid', 'Greta', 'Hugo', 'Ines', 'Jonas', 'Kenji',
  'Lea', 'Mateo', 'Nora', 'Oskar', 'Priya', 'Quentin', 'Rosa', 'Sven', 'Tariq', 'Uma', 'Victor',
  'Wen', 'Ximena', 'Yusuf', 'Zoe',
] as const
// prettier-ignore
const LAST_NAMES = [
  'Andersen', 'Bauer', 'Costa', 'Dubois', 'Evans', 'Fischer', 'García', 'Hansen', 'Ivanova',
  'Jensen', 'Kowalski', 'López', 'Müller', 'Nakamura', "O'Brien", 'Petrov', 'Rossi', 'Schmidt',
  'Tanaka', 'Varga', 'Weber', 'Yılmaz', 'Zhang',
] as const
const DOMAINS = ['example.com', 'example.org', 'example.net', 'mail.example', 'corp.example']
const CATEGORIES = ['shoes', 'shirts', 'jackets', 'bags', 'hats', 'socks', 'watches', 'jewelry']
const ADJECTIVES = ['Classic', 'Urban', 'Trail', 'Linen', 'Wool', 'Canvas', 'Leather', 'Summer']
const PAGES = [
  { name: 'Home', path: '/' },
  { name: 'New In', path: '/new' },
  { name: 'Sale', path: '/sale' },
  { name: 'About', path: '/about' },
  { name: 'Help', path: '/help' },
] as const
const REFERRERS = ['', '', 'https://www.google.com/', 'https://t.co/x', 'https://news.example/']
const USER_AGENTS = {
  desktop:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36',
  mobile:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148',
  tablet: 'Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148',
} as const
const LIBRARY = { name: 'analytics.js', version: '2.1.1' }
const SITE = 'https://shop.example'

interface Product {
  product_id: string
  sku: string
  name: string
  category: string
  price: number
}

function catalogue(seed: number): Product[] {
  const rng = createRng(mix(seed, 0xca7a))
  return Array.from({ length: 200 }, (_, i) => {
    const category = rng.pick(CATEGORIES)
    return {
      product_id: `p-${String(i).padStart(4, '0')}`,
      sku: `SKU-${seed % 1000}-${i}`,
      name: `${rng.pick(ADJECTIVES)} ${category.slice(0, -1)} ${i}`,
      category,
      price: rng.int(5, 250) - 0.01,
    }
  })
}

interface Resolved {
  seed: number
  start: number
  spanMs: number
  identifiedShare: number
  prefix: string
  products: Product[]
}

function resolve(opts: GeneratorOptions): Resolved {
  const start = Date.parse(opts.start ?? '2026-01-01T00:00:00.000Z')
  if (Number.isNaN(start)) throw new Error(`start must be an ISO-8601 date-time: ${opts.start}`)
  return {
    seed: opts.seed,
    start,
    spanMs: (opts.spanDays ?? 30) * 86_400_000,
    identifiedShare: opts.identifiedShare ?? 0.6,
    prefix: opts.idPrefix ?? 'g',
    products: catalogue(opts.seed),
  }
}

function makeCustomer(r: Resolved, index: number, rng: Rng): Customer {
  const firstName = rng.pick(FIRST_NAMES)
  const lastName = rng.pick(LAST_NAMES)
  const identified = rng.chance(r.identifiedShare)
  const deviceCount = rng.chance(0.55) ? 1 : rng.chance(0.67) ? 2 : 3
  const kinds = ['desktop', 'mobile', 'tablet'] as const
  const first = rng.int(0, 2)
  const devices: Device[] = Array.from({ length: deviceCount }, (_, d) => {
    const kind = kinds[(first + d) % 3] as Device['kind']
    return {
      anonymousId: `${r.prefix}-anon-${r.seed}-${index}-${d}`,
      kind,
      userAgent: USER_AGENTS[kind],
      ip: `198.51.${rng.int(0, 255)}.${rng.int(1, 254)}`,
    }
  })
  // Free sessions on random devices, then one last session on each device (shuffled), so every
  // device is used after the login and an identified customer joins all of them.
  const free = rng.int(0, 4)
  const sessionDevices = Array.from({ length: free }, () => rng.int(0, deviceCount - 1))
  const tail = devices.map((_, d) => d)
  for (let i = tail.length - 1; i > 0; i--) {
    const j = rng.int(0, i)
    ;[tail[i], tail[j]] = [tail[j] as number, tail[i] as number]
  }
  sessionDevices.push(...tail)
  const ascii = (s: string) =>
    s
      .normalize('NFD')
      .replace(/[^A-Za-z]/g, '')
      .toLowerCase()
  return {
    index,
    userId: identified ? `${r.prefix}-user-${r.seed}-${index}` : null,
    email: `${ascii(firstName)}.${ascii(lastName)}.${index}@${rng.pick(DOMAINS)}`,
    firstName,
    lastName,
    devices,
    sessionDevices,
    loginSession: identified ? rng.int(0, free) : null,
  }
}

function customerRng(r: Resolved, index: number): Rng {
  return createRng(mix(r.seed, index, 0xc0570))
}

/** The customers of a run (without their events). */
export function generateCustomers(opts: GeneratorOptions): Customer[] {
  const r = resolve(opts)
  const n = opts.customers ?? 1_000
  return Array.from({ length: n }, (_, i) => makeCustomer(r, i, customerRng(r, i)))
}

function customerEvents(r: Resolved, c: Customer, rng: Rng): GeneratedEvent[] {
  const out: GeneratedEvent[] = []
  let seq = 0
  let t = r.start + Math.floor(rng.next() * r.spanMs * 0.8)
  const loggedIn = new Set<number>()
  let cart: Product[] = []

  c.sessionDevices.forEach((d, s) => {
    const device = c.devices[d] as Device
    const base = {
      anonymousId: device.anonymousId,
      context: {
        library: LIBRARY,
        userAgent: device.userAgent,
        ip: device.ip,
        locale: 'en-US',
      } as Record<string, unknown>,
    }
    const emit = (
      e: Omit<GeneratedEvent, 'messageId' | 'timestamp' | 'anonymousId' | 'context'>,
    ) => {
      t += rng.int(3, 90) * 1000
      const withUser = loggedIn.has(d) && c.userId !== null ? { userId: c.userId } : {}
      out.push({
        messageId: `${r.prefix}-msg-${r.seed}-${c.index}-${seq++}`,
        timestamp: new Date(t).toISOString(),
        ...base,
        ...withUser,
        ...e,
      } as GeneratedEvent)
    }
    const page = (name: string, pathName: string, title = name) =>
      emit({
        type: 'page',
        name,
        properties: {
          path: pathName,
          url: `${SITE}${pathName}`,
          title: `${title} | Shop`,
          referrer: rng.pick(REFERRERS),
        },
      })

    const landing = rng.pick(PAGES)
    page(landing.name, landing.path)
    for (let i = rng.int(0, 3); i > 0; i--) {
      const p = rng.pick(PAGES)
      page(p.name, p.path)
    }
    if (c.loginSession !== null && s >= c.loginSession && !loggedIn.has(d)) {
      page('Sign In', '/account/sign-in')
      loggedIn.add(d)
      emit({
        type: 'identify',
        traits: {
          email: c.email,
          firstName: c.firstName,
          lastName: c.lastName,
          name: `${c.firstName} ${c.lastName}`,
        },
      })
    }
    for (let i = rng.int(0, 4); i > 0; i--) {
      const p = rng.pick(r.products)
      page(p.name, `/products/${p.product_id}`, p.name)
      emit({ type: 'track', event: 'Product Viewed', properties: { ...p, currency: 'EUR' } })
      if (rng.chance(0.3)) {
        cart.push(p)
        emit({
          type: 'track',
          event: 'Product Added',
          properties: { ...p, quantity: 1, cart_size: cart.length, currency: 'EUR' },
        })
      }
    }
    // Only logged-in customers check out (a guest checkout would be an identify too).
    if (cart.length > 0 && loggedIn.has(d) && rng.chance(0.5)) {
      const revenue = Math.round(cart.reduce((sum, p) => sum + p.price, 0) * 100) / 100
      emit({ type: 'track', event: 'Checkout Started', properties: { value: revenue } })
      emit({
        type: 'track',
        event: 'Order Completed',
        properties: {
          order_id: `${r.prefix}-order-${r.seed}-${c.index}-${s}`,
          revenue,
          currency: 'EUR',
          products: cart.map((p) => ({ product_id: p.product_id, price: p.price, quantity: 1 })),
        },
      })
      cart = []
    }
    // Next session: hours to days later.
    t += rng.int(1, 96) * 3_600_000
  })
  return out
}

function byTime(a: GeneratedEvent, b: GeneratedEvent): number {
  return a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0
}

/**
 * Events of `customers` customers (or exactly `events` events), sorted by timestamp (stable, so
 * one customer's events keep their order when two share a millisecond).
 */
export function generateEvents(opts: GeneratorOptions): GeneratedEvent[] {
  const r = resolve(opts)
  const all: GeneratedEvent[] = []
  if (opts.events === undefined) {
    const n = opts.customers ?? 1_000
    for (let i = 0; i < n; i++) {
      const rng = customerRng(r, i)
      all.push(...customerEvents(r, makeCustomer(r, i, rng), rng))
    }
    return all.sort(byTime)
  }
  const target = opts.events
  if (!Number.isInteger(target) || target < 0) throw new Error('events must be an integer ≥ 0')
  for (let i = 0; all.length < target; i++) {
    const rng = customerRng(r, i)
    all.push(...customerEvents(r, makeCustomer(r, i, rng), rng))
  }
  all.sort(byTime)
  all.length = target
  return all
}
