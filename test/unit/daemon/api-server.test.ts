import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { createServer } from 'node:net'
import { connect } from '../../../src/cli/client.js'
import { CliError, NoDaemonError } from '../../../src/cli/errors.js'
import { jsonDepth } from '../../../src/daemon/api/json-body.js'
import { ControlApi } from '../../../src/daemon/api/server.js'
import { StorageFullError } from '../../../src/util/errors.js'
import { postHead, rawConnection } from '../../helpers/raw-http.js'
import type { ControlApiLimits, Route } from '../../../src/daemon/api/server.js'
import type { AddressInfo } from 'node:net'

const TOKEN = 'a'.repeat(64)
const apis: ControlApi[] = []

afterEach(async () => {
  for (const api of apis.splice(0)) await api.close()
})

/** A control API on 127.0.0.1 with an echo route, a status route, one that hits a full disk, and `routes`. */
async function serve (options: ControlApiLimits & { routes?: Route[] } = {}): Promise<{ url: string, api: ControlApi, bodies: unknown[] }> {
  const { routes: extra = [], ...limits } = options
  const bodies: unknown[] = []
  const routes: Route[] = [
    ...extra,
    { method: 'GET', path: /^\/v1\/status$/, handle: async () => ({ json: { ok: true } }) },
    { method: 'POST', path: /^\/echo$/, handle: async ({ body }) => { bodies.push(body); return { json: { size: JSON.stringify(body).length } } } },
    { method: 'PUT', path: /^\/full$/, handle: async () => { throw new StorageFullError('no space left on device (store in /x): the write was not made') } },
    { method: 'GET', path: /^\/closed$/, handle: async () => { throw Object.assign(new Error('Database is not open'), { code: 'LEVEL_DATABASE_NOT_OPEN' }) } }
  ]
  const api = new ControlApi({ host: '127.0.0.1', port: 0, token: TOKEN, routes, ...limits })
  apis.push(api)
  return { url: await api.listen(), api, bodies }
}

async function post (url: string, body: string, token = TOKEN): Promise<{ status: number, body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body })
  return { status: res.status, body: await res.json() }
}

describe('jsonDepth', () => {
  it('equals the nesting of any JSON value, and ignores brackets inside strings', () => {
    const depthOf = (v: unknown): number => (v !== null && typeof v === 'object')
      ? 1 + Math.max(0, ...Object.values(v as object).map(depthOf))
      : 0
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 12 }), (v) => {
      expect(jsonDepth(Buffer.from(JSON.stringify(v)))).toBe(depthOf(v))
    }))
    expect(jsonDepth(Buffer.from('{"a":"[[[{{{\\"]]]","b":[1]}'))).toBe(2)
  })

  it('stops counting past the limit', () => {
    expect(jsonDepth(Buffer.from('['.repeat(1_000)), 10)).toBe(11)
  })
})

describe('control API limits', () => {
  it('answers a 500,000-level nested body 400 without parsing it, and a normal one 200', async () => {
    const { url, bodies } = await serve()
    const deep = '{"input":' + '['.repeat(500_000) + ']'.repeat(500_000) + '}'
    const res = await post(url + '/echo', deep)
    expect(res).toEqual({ status: 400, body: { error: 'request body is nested deeper than 64 levels' } })
    expect(bodies).toEqual([])
    const ok = await post(url + '/echo', JSON.stringify({ input: [[[[1]]]] }))
    expect(ok.status).toBe(200)
  })

  it('answers 413 past the body size, declared or streamed', async () => {
    const { url } = await serve({ maxBodyBytes: 1024 })
    expect((await post(url + '/echo', JSON.stringify({ v: 'x'.repeat(2_000) }))).status).toBe(413)
    const chunked = await fetch(url + '/echo', {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: new ReadableStream({ start (c) { c.enqueue(new TextEncoder().encode('"' + 'y'.repeat(4_000) + '"')); c.close() } }),
      duplex: 'half'
    } as RequestInit)
    expect(chunked.status).toBe(413)
  })

  it('answers the CLI an over-size body with its 413, never a reset connection, and stays usable', async () => {
    const { url, bodies } = await serve({ maxBodyBytes: 64 * 1024 })
    const cli = await connect({ api: url }, { FEDMESH_API_TOKEN: TOKEN })
    // 512 KiB while the limit is 64 KiB: the daemon answers as soon as it sees the length, and
    // reads the rest so the client, still sending, gets that answer (closing reset it at times).
    const big = { input: 'z'.repeat(512 * 1024) }
    for (let i = 0; i < 20; i++) {
      await expect(cli.request('POST', '/echo', big)).rejects.toMatchObject({ status: 413, message: 'request body larger than 65536 bytes' })
    }
    expect(await cli.request('POST', '/echo', { input: 'small' })).toEqual({ size: 17 })
    expect(bodies).toEqual([{ input: 'small' }])

    // On the wire: the 413 keeps the connection (the rest of the body is read and dropped), and
    // the same connection serves the next request; closing it is what reset the CLI mid-send.
    const conn = rawConnection(url)
    await conn.ready
    conn.send(postHead(url, '/echo', 512 * 1024, TOKEN) + '"' + 'z'.repeat(512 * 1024 - 2) + '"')
    await expect.poll(() => conn.response(), { timeout: 5_000 }).toMatch(/^HTTP\/1\.1 413 [\s\S]*request body larger than 65536 bytes/)
    expect(conn.response()).not.toMatch(/connection: close/i)
    conn.send(`GET /v1/status HTTP/1.1\r\nHost: ${new URL(url).host}\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`)
    await expect.poll(() => conn.response(), { timeout: 5_000 }).toMatch(/HTTP\/1\.1 200 [\s\S]*\{"ok":true\}/)
    expect(conn.socket.destroyed).toBe(false)
    conn.stop()
  })

  it('tells a daemon that hung up mid-request apart from no daemon at all', async () => {
    // Something listening that cuts every connection as soon as the request arrives.
    const server = createServer(socket => { socket.once('data', () => { socket.resetAndDestroy() }) })
    await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const cli = await connect({ api: url }, { FEDMESH_API_TOKEN: TOKEN })
      const err = await cli.request('POST', '/echo', { input: 'x' }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(CliError)
      expect(err).not.toBeInstanceOf(NoDaemonError)
      expect((err as Error).message).toBe(`the daemon at ${url} closed the connection before it answered`)
    } finally {
      await new Promise(resolve => server.close(resolve))
    }
    // Nobody listening there any more: that is no daemon.
    const gone = await (await connect({ api: url }, { FEDMESH_API_TOKEN: TOKEN })).request('GET', '/v1/status').catch((e: unknown) => e)
    expect(gone).toBeInstanceOf(NoDaemonError)
  })

  it('maps a full disk to 507 with the message, and a store closed for a moment to 503', async () => {
    const { url } = await serve()
    const res = await fetch(url + '/full', { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}` } })
    expect(res.status).toBe(507)
    expect(await res.json()).toEqual({ error: 'no space left on device (store in /x): the write was not made' })
    // The store closed for the milliseconds of a recovery reopen: retry, not a server error.
    const closed = await fetch(url + '/closed', { headers: { authorization: `Bearer ${TOKEN}` } })
    expect(closed.status).toBe(503)
    expect(((await closed.json()) as { error: string }).error).toMatch(/^the store is closed for a moment/)
  })

  it('answers a client without a token 401 before its body and closes the connection', async () => {
    const { url, bodies } = await serve()
    const conn = rawConnection(url)
    await conn.ready
    conn.send(postHead(url, '/echo', 100_000))
    conn.trickle(50)
    const { response } = await conn.closed
    expect(response).toMatch(/^HTTP\/1\.1 401 /)
    expect(response).toMatch(/connection: close/i)
    expect(bodies).toEqual([])
  })

  it('cuts off a client that trickles its body past the request timeout with 408', async () => {
    const { url, bodies } = await serve({ headersTimeoutMs: 200, requestTimeoutMs: 500 })
    const conn = rawConnection(url)
    await conn.ready
    conn.send(postHead(url, '/echo', 100_000, TOKEN))
    conn.trickle(20)
    const { response, afterMs } = await conn.closed
    expect(response).toMatch(/^HTTP\/1\.1 408 /)
    expect(afterMs).toBeGreaterThanOrEqual(500)
    expect(afterMs).toBeLessThan(5_000)
    expect(bodies).toEqual([])
  })

  it('closes a connection whose headers never end after the headers timeout', async () => {
    const { url } = await serve({ headersTimeoutMs: 300, requestTimeoutMs: 1_000 })
    const conn = rawConnection(url)
    await conn.ready
    conn.send('GET /v1/status HTTP/1.1\r\nHost: x\r\n')
    const { afterMs } = await conn.closed
    expect(afterMs).toBeGreaterThanOrEqual(300)
    expect(afterMs).toBeLessThan(5_000)
  })

  it('past the connection cap closes the oldest connection without a token, so an authenticated client still gets in', async () => {
    const { url, api } = await serve({ maxConnections: 5, headersTimeoutMs: 5_000 })
    // A fresh connection each time (no keep-alive pool): each one arriving is when the cap acts.
    const status = async (): Promise<string> => {
      const c = rawConnection(url)
      await c.ready
      c.send(`GET /v1/status HTTP/1.1\r\nHost: ${new URL(url).host}\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`)
      return (await c.closed).response
    }
    const held = Array.from({ length: 5 }, () => rawConnection(url))
    await Promise.all(held.map(async c => { await c.ready }))
    // Each connection counts once the server has accepted it: poll until the cap bites.
    await expect.poll(async () => { await status(); return api.connectionsRefused }, { timeout: 5_000, interval: 100 }).toBeGreaterThan(0)
    expect(await status()).toMatch(/^HTTP\/1\.1 200 /)
    await held[0].closed
    for (const c of held) c.stop()
  })

  it('past the cap, an idle authenticated keep-alive connection makes room: idle connections cannot lock the CLI out', async () => {
    const { url, api } = await serve({ maxConnections: 3, keepAliveTimeoutMs: 60_000 })
    const idle = Array.from({ length: 3 }, () => rawConnection(url))
    for (const c of idle) {
      await c.ready
      c.send(`GET /v1/status HTTP/1.1\r\nHost: ${new URL(url).host}\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`)
    }
    // Answered, kept alive, idle.
    await expect.poll(() => idle.every(c => /^HTTP\/1\.1 200 /.test(c.response())), { timeout: 5_000 }).toBe(true)
    const cli = rawConnection(url)
    await cli.ready
    cli.send(`GET /v1/status HTTP/1.1\r\nHost: ${new URL(url).host}\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`)
    expect((await cli.closed).response).toMatch(/^HTTP\/1\.1 200 /)
    // The oldest idle one was closed for it.
    expect((await idle[0].closed).response).toMatch(/^HTTP\/1\.1 200 /)
    expect(api.connectionsRefused).toBe(1)
    for (const c of idle) c.stop()
  })

  it('past the cap with every connection waiting for an answer, a new one is told so (503, a sentence) and closed', async () => {
    const { promise: never } = Promise.withResolvers<never>()
    const { url, api } = await serve({ maxConnections: 3, routes: [{ method: 'GET', path: /^\/wait$/, handle: async () => await never }] })
    const busy = Array.from({ length: 3 }, () => rawConnection(url))
    for (const c of busy) {
      await c.ready
      c.send(`GET /wait HTTP/1.1\r\nHost: ${new URL(url).host}\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`)
    }
    // Each request waits for its answer (a long task): none of them may be cut.
    await expect.poll(() => api.requestsWaiting, { timeout: 5_000 }).toBe(3)
    const extra = rawConnection(url)
    await extra.ready
    extra.send(`GET /v1/status HTTP/1.1\r\nHost: ${new URL(url).host}\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`)
    const { response } = await extra.closed
    expect(response).toMatch(/^HTTP\/1\.1 503 /)
    expect(response).toMatch(/retry-after: 1/i)
    expect(response).toMatch(/connection cap of 3 .* waiting for an answer/)
    // The CLI's client reads that sentence.
    const cli = await connect({ api: url }, { FEDMESH_API_TOKEN: TOKEN })
    await expect(cli.request('GET', '/v1/status')).rejects.toThrow(/connection cap of 3 .* retry when some have been answered/)
    expect(api.connectionsRefused).toBe(2)
    expect(busy.every(c => !c.socket.destroyed)).toBe(true)
    for (const c of busy) c.stop()
  })
})
