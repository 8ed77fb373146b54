import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/** The benchmarks' baseline: a Node `http` keep-alive echo server on 127.0.0.1. */
const server = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(Buffer.concat(chunks))
  })
})
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`)
})
process.on('SIGTERM', () => { server.close(); process.exit(0) })
