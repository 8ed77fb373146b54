import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { eventStreamRoute, parseEventFilter } from '../../../src/daemon/api/event-stream.js'
import { ControlApi } from '../../../src/daemon/api/server.js'
import { uiRoutes } from '../../../src/daemon/api/ui-routes.js'
import { NodeEvents } from '../../../src/node/events.js'
import { rawConnection } from '../../helpers/raw-http.js'

const TOKEN = 'b'.repeat(64)
const apis: ControlApi[] = []
const dirs: string[] = []

afterEach(async () => { for (const api of apis.splice(0)) await api.close() })
afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }) })

async function serve (bus: NodeEvents, options: { maxBacklogBytes?: number, heartbeatMs?: number } = {}): Promise<{ api: ControlApi, url: string }> {
  const ui = await mkdtemp(join(tmpdir(), 'fedmesh-ui-'))
  dirs.push(ui)
  await writeFile(join(ui, 'index.html'), '<!doctype html><title>t</title>')
  await writeFile(join(ui, 'app.js'), 'export {}')
  const api = new ControlApi({
    host: '127.0.0.1',
    port: 0,
    token: TOKEN,
    routes: [eventStreamRoute(bus, options), ...uiRoutes(ui + '/'), { method: 'GET', path: /^\/v1\/status$/, handle: async () => ({ json: { ok: true } }) }]
  })
  apis.push(api)
  return { api, url: await api.listen() }
}

/** `GET /v1/events` on a raw socket: what arrives, and whether the server closed it. */
function streamHead (url: string, query = ''): string {
  return `GET /v1/events${query} HTTP/1.1\r\nHost: ${new URL(url).host}\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`
}

async function until (check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const start = Date.now()
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out')
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

describe('event streams on the control API', () => {
  it('drops a client that stops reading once its backlog passes the bound, and releases its stream', async () => {
    const bus = new NodeEvents()
    const { api, url } = await serve(bus, { maxBacklogBytes: 64 * 1024 })
    const client = rawConnection(url)
    await client.ready
    client.send(streamHead(url))
    await until(() => api.openStreams === 1)
    client.socket.pause()
    // Kernel buffers take megabytes first; past them the server's own queue grows to the bound.
    const detail = 'x'.repeat(16 * 1024)
    let emitted = 0
    while (api.openStreams > 0 && emitted < 8_000) {
      for (let i = 0; i < 100; i++) bus.emit('cache:refused', { key: `k${emitted++}`, writer: 'w', path: 'gossip', reason: 'writer-quota', detail })
      await new Promise(resolve => setImmediate(resolve))
    }
    expect(api.openStreams).toBe(0)
    expect(emitted).toBeLessThan(8_000)
    // Nothing of it is left subscribed.
    expect(bus.listenerCount('event')).toBe(0)
    client.socket.resume()
    await client.closed
  })

  it('keeps an idle stream visibly alive, and ends every stream cleanly when the API closes', async () => {
    const bus = new NodeEvents()
    const { api, url } = await serve(bus, { heartbeatMs: 30 })
    const client = rawConnection(url)
    await client.ready
    client.send(streamHead(url, '?since=0'))
    await until(() => client.response().includes(': keep-alive'))
    expect(client.response()).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
    expect(client.response()).toContain('content-type: text/event-stream; charset=utf-8')
    expect(client.response()).toContain('retry: 2000')
    bus.emit('member:revoked', { peer: 'p' })
    await until(() => client.response().includes('event: member:revoked'))
    expect(client.response()).toContain('id: 1\nevent: member:revoked\ndata: {"id":1,"type":"member:revoked",')
    const started = Date.now()
    await api.close()
    const { afterMs } = await client.closed
    expect(afterMs).toBeGreaterThan(0)
    expect(Date.now() - started).toBeLessThan(900)
    expect(client.response().endsWith('0\r\n\r\n')).toBe(true)
  })

  it('serves the dashboard without a token but still checks the Host header; everything else needs the token', async () => {
    const { url } = await serve(new NodeEvents())
    const root = await fetch(url + '/', { redirect: 'manual' })
    expect(root.status).toBe(308)
    expect(root.headers.get('location')).toBe('/ui/')
    const page = await fetch(url + '/ui/')
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect(await page.text()).toContain('<title>t</title>')
    expect((await fetch(url + '/ui/app.js')).headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect((await fetch(url + '/ui/secret.txt')).status).toBe(401)
    expect((await fetch(url + '/v1/status')).status).toBe(401)
    expect((await fetch(url + '/v1/events')).status).toBe(401)
    const rebinding = rawConnection(url)
    await rebinding.ready
    rebinding.send('GET /ui/ HTTP/1.1\r\nHost: evil.example:80\r\nConnection: close\r\n\r\n')
    expect((await rebinding.closed).response).toMatch(/^HTTP\/1\.1 403/)
  })
})

describe('parseEventFilter', () => {
  const parse = (q: string, headers = {}) => parseEventFilter(new URLSearchParams(q), headers)

  it('reads since, Last-Event-ID, types and level', () => {
    expect(parse('').afterId).toBeUndefined()
    expect(parse('since=0').afterId).toBe(0)
    expect(parse('', { 'last-event-id': '41' }).afterId).toBe(41)
    expect(parse('since=3', { 'last-event-id': '41' }).afterId).toBe(3)
    const f = parse('types=task:*,peer:banned&level=info')
    expect(f.types.map(t => [t('task:served'), t('peer:banned'), t('peer:connected')])).toEqual([[true, false, false], [false, true, false]])
    expect(f.minLevel).toBe(1)
  })

  it('refuses what it does not know, in a sentence', () => {
    expect(() => parse('since=-1')).toThrow('since must be an event id')
    expect(() => parse('since=1e3')).toThrow('since must be an event id')
    expect(() => parse('types=task')).toThrow('unknown event type "task"')
    expect(() => parse('types=nope:*')).toThrow('unknown event type "nope:*"')
    expect(() => parse('level=loud')).toThrow('level must be one of debug, info, warn, error')
  })
})
