/**
 * Test support: the machine's message brokers (RabbitMQ, Redis, NATS with JetStream, Mosquitto),
 * at their default local addresses unless KINDRED_TEST_<NAME>_URL says otherwise. A suite calls
 * `requireBroker` first: a broker that is not running fails the suite with the command that
 * starts it, rather than skipping it silently.
 */
import net from 'node:net'

export type BrokerName = 'amqp' | 'redis' | 'nats' | 'mqtt'

const DEFAULTS: Record<BrokerName, { env: string; url: string; start: string }> = {
  amqp: {
    env: 'KINDRED_TEST_AMQP_URL',
    url: 'amqp://guest:guest@127.0.0.1:5672',
    start: 'rabbitmq-server -detached',
  },
  redis: {
    env: 'KINDRED_TEST_REDIS_URL',
    url: 'redis://127.0.0.1:6379',
    start: 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
  },
  nats: {
    env: 'KINDRED_TEST_NATS_URL',
    url: 'nats://127.0.0.1:4222',
    start: 'nats-server -a 127.0.0.1 -p 4222 -js (JetStream on)',
  },
  mqtt: {
    env: 'KINDRED_TEST_MQTT_URL',
    url: 'mqtt://127.0.0.1:1883',
    start: 'mosquitto -d -c /etc/mosquitto/mosquitto.conf',
  },
}

export function brokerUrl(name: BrokerName): string {
  return process.env[DEFAULTS[name].env] ?? DEFAULTS[name].url
}

/** The broker's URL, once a TCP connection to it succeeded; a clear error otherwise. */
export async function requireBroker(name: BrokerName): Promise<string> {
  const url = new URL(brokerUrl(name))
  const port = Number(url.port)
  const host = url.hostname.replace(/^\[|\]$/g, '')
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect({ host, port })
    socket.setTimeout(3_000)
    const fail = (why: string) => {
      socket.destroy()
      reject(
        new Error(
          `no ${name} broker at ${host}:${port} (${why}): start it (${DEFAULTS[name].start}) or set ${DEFAULTS[name].env}`,
        ),
      )
    }
    socket.once('connect', () => {
      socket.destroy()
      resolve()
    })
    socket.once('timeout', () => fail('timeout'))
    socket.once('error', (err) => fail(err.message))
  })
  return url.toString()
}

/** The same URL, pointed at another local port (a TCP proxy in front of the broker). */
export function viaPort(rawUrl: string, port: number): string {
  const url = new URL(rawUrl)
  url.hostname = '127.0.0.1'
  url.port = String(port)
  return url.toString()
}
