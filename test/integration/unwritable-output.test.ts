import { afterAll, describe, expect, it } from 'vitest'
import { metricValue } from '../helpers/metrics.js'
import { startDaemon, stopAll } from '../helpers/daemon.js'
import type { Daemon } from '../helpers/daemon.js'

afterAll(stopAll)

/** Work that makes the daemon write: API calls, a cache write, a task. */
async function exercise (d: Daemon): Promise<void> {
  expect((await d.json<any>('status')).storage.ok).toBe(true)
  expect((await d.api('PUT', '/v1/cache/k', { value: 'v' })).status).toBe(200)
  expect((await d.json<any>('cache', 'get', 'k')).value).toBe('v')
  expect((await d.api('POST', '/v1/tasks', { kind: 'echo', input: { hello: 1 } })).body.status).toBe('ok')
  expect((await d.api('GET', '/v1/peers')).status).toBe(200)
}

describe('a daemon whose stdout and stderr cannot be written', () => {
  it('keeps running with both on /dev/full, counts the lines it dropped, and stops cleanly', async () => {
    const d = await startDaemon({ output: '/dev/full' })
    await exercise(d)
    // The banner and the start line at least were lost, and counted.
    expect(await metricValue(d, 'fedmesh_log_dropped_total')).toBeGreaterThanOrEqual(2)
    await exercise(d)
    expect(d.alive).toBe(true)
    expect(await d.stop('SIGTERM')).toBe(0)
  })

  it('keeps running when whoever read its output went away (EPIPE)', async () => {
    const d = await startDaemon()
    d.proc.stdout?.destroy()
    d.proc.stderr?.destroy()
    await exercise(d)
    expect(d.alive).toBe(true)
    // Shutdown writes log lines into the closed pipe: still a clean exit.
    expect(await d.stop('SIGTERM')).toBe(0)
  })
})
