import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli, startDaemon, stopAll, tempDir } from '../helpers/daemon.js'

afterAll(stopAll)

describe('daemon lifecycle', () => {
  it('keeps its peer id across a restart and exits 0 on SIGTERM', async () => {
    const d1 = await startDaemon()
    const id = await d1.peerId()
    expect(d1.stdout).toContain(id)
    expect(d1.stdout).toMatch(/api\s+http:\/\/127\.0\.0\.1:\d+/)
    expect(await d1.stop('SIGTERM')).toBe(0)
    const d2 = await startDaemon({ dataDir: d1.dataDir })
    expect(await d2.peerId()).toBe(id)
    expect(await d2.stop('SIGINT')).toBe(0)
  })

  it('writes api.token with mode 0600 and refuses a second daemon on the same data dir', async () => {
    const d = await startDaemon()
    const mode = (await stat(join(d.dataDir, 'api.token'))).mode & 0o777
    expect(mode).toBe(0o600)
    const second = await runCli(['daemon', '--data-dir', d.dataDir, '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0', '--no-mdns'])
    expect(second.code).toBe(1)
    expect(second.stderr).toMatch(/in use by another fedmesh daemon/)
    expect(second.stderr).not.toMatch(/\n\s+at /) // no stack trace
    // The first daemon is unharmed.
    expect((await d.cli('status')).code).toBe(0)
  })

  it('answers 401 without a token or with a wrong one, and 403 for a foreign Host header', async () => {
    const d = await startDaemon()
    const url = await d.apiUrl()
    expect((await fetch(url + '/v1/status')).status).toBe(401)
    expect((await d.api('GET', '/v1/status', undefined, 'not-the-token')).status).toBe(401)
    expect((await d.api('GET', '/metrics', undefined, 'x')).status).toBe(401)
    expect((await d.api('GET', '/v1/status')).status).toBe(200)
    const token = await d.token()
    const { request } = await import('node:http')
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(url + '/v1/status', { headers: { host: 'evil.example:80', authorization: `Bearer ${token}` } }, res => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      req.on('error', reject)
      req.end()
    })
    expect(status).toBe(403)
  })

  it('serves Prometheus metrics with libp2p and fedmesh series', async () => {
    const d = await startDaemon()
    const res = await d.api('GET', '/metrics')
    expect(res.status).toBe(200)
    expect(res.body).toMatch(/^libp2p_/m)
    expect(res.body).toMatch(/^fedmesh_/m)
  })

  it('the CLI says so when the daemon was killed', async () => {
    const d = await startDaemon()
    await d.kill9()
    const r = await d.cli('status')
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/no daemon running at http:\/\/127\.0\.0\.1:\d+/)
    expect(r.stderr).not.toMatch(/\n\s+at /)
    const none = await runCli(['peers', '--data-dir', await tempDir()])
    expect(none.code).toBe(3)
    expect(none.stderr).toMatch(/no daemon running at/)
  })

  it('refuses bad configuration with exit code 2 and a line naming the key', async () => {
    const dir = await tempDir()
    const { writeFile } = await import('node:fs/promises')
    await writeFile(join(dir, 'bad.json'), JSON.stringify({ concurrency: 0 }))
    const bad = await runCli(['daemon', '--data-dir', dir, '--config', join(dir, 'bad.json')])
    expect(bad.code).toBe(2)
    expect(bad.stderr.trim().split('\n')).toHaveLength(1)
    expect(bad.stderr).toMatch(/"concurrency"/)
    await writeFile(join(dir, 'unknown.json'), JSON.stringify({ listen: ['/ip4/127.0.0.1/tcp/0'], colour: 'blue' }))
    const unknown = await runCli(['daemon', '--data-dir', dir, '--config', join(dir, 'unknown.json')])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/unknown key "colour"/)
    const flag = await runCli(['daemon', '--data-dir', dir, '--api', '10.1.2.3:80'])
    expect(flag.code).toBe(2)
    expect(flag.stderr).toMatch(/"api"/)
  })
})
