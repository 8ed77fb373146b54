import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startDaemon, stopAll } from '../helpers/daemon.js'
import { postHead, rawConnection } from '../helpers/raw-http.js'

afterAll(stopAll)

/** Long enough that the CLI answers well within it even on a loaded 2-core CI machine. */
const HEADERS_TIMEOUT_MS = 5_000
/** Node checks timeouts every second; plus scheduling slack on a loaded machine. */
const CLOSE_BOUND_MS = HEADERS_TIMEOUT_MS + 1_000 + 3_000

describe('control API under hostile local clients', () => {
  it('closes 300 token-less clients trickling a body at once and 300 trickling headers within the timeout, while status answers', async () => {
    const d = await startDaemon({ config: { apiLimits: { headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: 2 * HEADERS_TIMEOUT_MS } } })
    const url = await d.apiUrl()
    const host = new URL(url).host

    // A full head without a token, then a body one byte every 100 ms.
    const bodies = Array.from({ length: 300 }, () => rawConnection(url))
    await Promise.all(bodies.map(async c => { await c.ready }))
    for (const c of bodies) {
      c.send(postHead(url, '/v1/cache/flood', 1_000_000))
      c.trickle(100)
    }
    // Headers that never end (slowloris): more than the default cap of 256 connections.
    const heads = Array.from({ length: 300 }, () => rawConnection(url))
    await Promise.all(heads.map(async c => { await c.ready }))
    for (const c of heads) {
      c.send(`PUT /v1/cache/flood HTTP/1.1\r\nHost: ${host}\r\nX-Slow: `)
      c.trickle(100)
    }

    // Meanwhile the owner's CLI and API calls get through.
    const cli = await d.cli('status', '--json')
    expect(cli.code).toBe(0)
    expect(JSON.parse(cli.stdout).peerId).toMatch(/^12D3KooW/)
    expect((await d.api('PUT', '/v1/cache/mine', { value: 'ok' })).status).toBe(200)
    // ... while the slow clients still held (nearly) every slot.
    expect(heads.filter(c => !c.socket.destroyed).length).toBeGreaterThan(200)

    const bodyEnds = await Promise.all(bodies.map(async c => c.closed))
    // Each was answered 401 before its body and closed, or closed unanswered to make room at the cap.
    for (const { response } of bodyEnds) expect(response).toMatch(/^$|^HTTP\/1\.1 401 [\s\S]*connection: close/i)
    expect(bodyEnds.filter(e => e.response !== '').length).toBeGreaterThan(0)
    const headEnds = await Promise.all(heads.map(async c => c.closed))
    const slowest = Math.max(...bodyEnds.map(e => e.afterMs), ...headEnds.map(e => e.afterMs))
    expect(slowest).toBeLessThan(CLOSE_BOUND_MS)
    expect((await d.api('GET', '/v1/cache/mine')).body.value).toBe('ok')
  })

  it('tells the CLI a task input over the request limit is too large, every time, not that the daemon is gone', async () => {
    const d = await startDaemon()
    const dir = await mkdtemp(join(tmpdir(), 'fedmesh-big-input-'))
    try {
      // 3 MB of input is a 4 MB request (base64) against the 2 MiB limit: the daemon answers 413
      // as soon as it reads the length. It used to close the connection while the CLI still sent,
      // and about one run in five then reported "no daemon running" (exit 3).
      const file = join(dir, 'input.bin')
      await writeFile(file, randomBytes(3_000_000))
      for (let i = 0; i < 10; i++) {
        const res = await d.cli('run', 'echo', '--input-file', file)
        expect(res.stderr.trim()).toBe('fedmesh: request body larger than 2097152 bytes')
        expect(res.code).toBe(1)
      }
      expect((await d.api('POST', '/v1/tasks', { kind: 'echo', input: 'still here' })).body.output).toBe('still here')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('answers a 500,000-level nested body 400 and keeps serving', async () => {
    const d = await startDaemon()
    const res = await fetch(await d.apiUrl() + '/v1/tasks', {
      method: 'POST',
      headers: { authorization: `Bearer ${await d.token()}`, 'content-type': 'application/json' },
      body: '{"kind":"echo","input":' + '['.repeat(500_000) + ']'.repeat(500_000) + '}'
    })
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({ error: 'request body is nested deeper than 64 levels' })
    expect((await d.api('POST', '/v1/tasks', { kind: 'echo', input: [[[1]]] })).body.output).toEqual([[[1]]])
    expect(d.alive).toBe(true)
  })
})
