/**
 * Test support: a TCP proxy in front of a local server, to cut every connection (as a broker
 * restart would) and bring the address back, on the same port, without touching the server.
 */
import net from 'node:net'

export interface TcpProxy {
  port: number
  /** Destroys every open connection and stops listening (new connections are refused). */
  stop(): Promise<void>
  /** Listens again on the same port. */
  start(): Promise<void>
  /** Connections accepted so far. */
  readonly accepted: number
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>()
  let accepted = 0
  let server: net.Server | undefined
  let port = 0

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = net.createServer((client) => {
        accepted++
        const upstream = net.connect(target)
        sockets.add(client)
        sockets.add(upstream)
        const close = () => {
          client.destroy()
          upstream.destroy()
          sockets.delete(client)
          sockets.delete(upstream)
        }
        client.on('error', close).on('close', close)
        upstream.on('error', close).on('close', close)
        client.pipe(upstream)
        upstream.pipe(client)
      })
      s.once('error', reject)
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as net.AddressInfo).port
        server = s
        resolve()
      })
    })

  await listen()
  return {
    get port() {
      return port
    },
    get accepted() {
      return accepted
    },
    async stop() {
      const s = server
      server = undefined
      for (const sock of sockets) sock.destroy()
      sockets.clear()
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()))
    },
    start: listen,
  }
}
