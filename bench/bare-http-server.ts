/**
 * The ceiling for ingest: a bare node:http server that reads the body, parses the JSON and
 * answers like Kindred does, with nothing durable. Run as a child process by ingest.bench.ts.
 */
import { createServer } from 'node:http'

const port = Number(process.argv[2] ?? 0)
createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    try {
      JSON.parse(Buffer.concat(chunks).toString('utf8'))
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true}')
    } catch {
      res.writeHead(400).end()
    }
  })
}).listen(port, '127.0.0.1')
