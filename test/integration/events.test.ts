import { spawn } from 'node:child_process'
import { afterAll, describe, expect, it } from 'vitest'
import { BIN, runCli, startDaemon, stopAll, tempDir, waitFor } from '../helpers/daemon.js'
import { openEvents } from '../helpers/events.js'
import { metricValue } from '../helpers/metrics.js'
import { rawConnection } from '../helpers/raw-http.js'
import type { NodeEvent } from '../../src/node/events.js'

/**
 * The node's events through every outlet, on real daemons: `GET /v1/events` (Server-Sent
 * Events), the log on stderr (readable and JSON), `fedmesh monitor`, and the task metrics.
 */

afterAll(async () => { await stopAll() })

const ofTask = (taskId: string) => (e: NodeEvent): boolean => 'taskId' in e && e.taskId === taskId

describe('GET /v1/events', () => {
  it('streams a peer joining and a task\'s life on both ends, and an authenticated stream outlives the request timeout and a flood at the connection cap', async () => {
    const limits = { requestTimeoutMs: 300, headersTimeoutMs: 300, keepAliveTimeoutMs: 300, maxConnections: 16 }
    const a = await startDaemon({ name: 'alpha', config: { apiLimits: limits } })
    const streamA = await openEvents(a)
    expect(streamA.status).toBe(200)
    expect(streamA.headers['content-type']).toBe('text/event-stream; charset=utf-8')

    const b = await startDaemon({ name: 'bravo', args: ['--bootstrap', await a.address()] })
    const bravo = await b.peerId()
    const alpha = await a.peerId()
    const joined = await streamA.next(e => e.type === 'peer:connected' && e.peer === bravo)
    expect(joined).toMatchObject({ type: 'peer:connected', level: 'info', direction: 'inbound', connection: 'direct' })
    expect(joined.message).toContain('connected (inbound, direct)')
    await streamA.next(e => e.type === 'mode:changed' && e.to === 'federated')
    const streamB = await openEvents(b)

    // Token-less connections pile up to the cap: the oldest of them are closed, never the stream.
    const apiUrl = await a.apiUrl()
    const flood = Array.from({ length: 40 }, () => rawConnection(apiUrl))
    await Promise.all(flood.map(async c => { await c.ready.catch(() => {}) }))
    // Well past the request and keep-alive timeouts.
    await new Promise(resolve => setTimeout(resolve, 1_500))
    expect(streamA.isClosed()).toBe(false)
    expect(await metricValue(a, 'fedmesh_api_connections_refused_total')).toBeGreaterThan(0)
    for (const c of flood) c.socket.destroy()

    const run = await a.api('POST', '/v1/tasks', { kind: 'sha256', input: { data: 'hi' }, peer: bravo })
    expect(run.body.status).toBe('ok')
    const taskId = run.body.taskId as string
    const finished = await streamA.next(e => e.type === 'task:finished' && e.taskId === taskId)
    const life = streamA.events.filter(ofTask(taskId))
    expect(life.map(e => e.type)).toEqual(['task:submitted', 'task:started', 'task:routed', 'task:finished'])
    expect(life[2]).toMatchObject({ reason: 'pinned', attempt: 1, peers: [bravo] })
    expect(finished).toMatchObject({ status: 'ok', peer: bravo, peerName: 'bravo', attempts: 1 })
    const ids = life.map(e => e.id)
    expect(ids).toEqual([...ids].sort((x, y) => x - y))
    // Served for whom: bravo ran it for alpha.
    const served = await streamB.next(e => e.type === 'task:served' && e.taskId === taskId)
    expect(served).toMatchObject({ origin: alpha, originName: 'alpha', status: 'ok', level: 'info' })
    expect(served.message).toContain('for alpha (')
    expect(streamA.isClosed()).toBe(false)

    // The readable log has one line per event at info and above (debug ones are not written).
    await waitFor(() => a.stderr.includes(`event=task:finished eventId=${finished.id} taskId=${taskId}`), 5_000, 'the task in the log')
    expect(a.stderr).toMatch(new RegExp(`info peer \\S+ connected \\(inbound, direct\\) event=peer:connected eventId=\\d+ peer=${bravo} `))
    expect(a.stderr).not.toContain('event=task:submitted')
    expect(b.stderr).toContain(`event=task:served eventId=${served.id} taskId=${taskId}`)

    // Task metrics, from the same events.
    const metrics = (await a.api('GET', '/metrics')).body as string
    expect(metrics).toContain('fedmesh_tasks_total{kind="sha256",outcome="ok"} 1')
    expect(metrics).toContain('fedmesh_routing_decisions_total{reason="pinned",attempt="first"} 1')
    expect(metrics).toMatch(/fedmesh_task_duration_seconds_count\{kind="sha256",outcome="ok"\} 1/)
    expect(metrics).toMatch(/fedmesh_build_info\{version="[^"]+",node="24\.[^"]+"\} 1/)
    expect(metrics).toMatch(/^fedmesh_api_event_streams 1$/m)
    expect(await metricValue(b, 'fedmesh_tasks_served_total{kind="sha256",outcome="ok",origin="peer"}')).toBe(1)
    expect((await b.api('GET', '/metrics')).body).toMatch(/fedmesh_task_run_seconds_count\{kind="sha256",outcome="ok"\} 1/)
    // HELP texts are sentences, not names with underscores.
    const help = metrics.split('\n').filter(l => l.startsWith('# HELP fedmesh_'))
    expect(help.length).toBeGreaterThan(30)
    for (const line of help) expect(line.split(' ').length, line).toBeGreaterThan(5)
    expect(metrics).toContain('# HELP fedmesh_membership_dials_total Dials of discovered or dropped peers by outcome')

    streamA.close()
    streamB.close()
  })

  it('replays what it remembers after an id, filters by type and level, caps open streams, and releases a stream whose client goes away', async () => {
    const a = await startDaemon({ name: 'alpha', config: { apiLimits: { maxEventStreams: 2 } } })
    const runs = await Promise.all([1, 2, 3].map(async i => (await a.api('POST', '/v1/tasks', { kind: 'echo', input: i })).body.taskId as string))

    const all = await openEvents(a, 'since=0')
    await all.next(e => e.type === 'task:finished' && e.taskId === runs[2])
    expect(all.events.filter(e => e.type === 'task:finished').map(e => 'taskId' in e && e.taskId).sort()).toEqual([...runs].sort())
    // The second of the three to finish (they run at once: any order): one finished after it.
    const second = all.events.filter(e => e.type === 'task:finished').sort((x, y) => x.id - y.id)[1]
    all.close()
    await all.closed

    // After an id (the header a reconnecting EventSource sends): only what came later.
    const resumed = await openEvents(a, 'types=task:finished', { 'last-event-id': String(second.id) })
    await resumed.next(e => e.id > second.id)
    expect(resumed.events.every(e => e.id > second.id && e.type === 'task:finished')).toBe(true)
    const infoOnly = await openEvents(a, 'since=0&level=info')
    await infoOnly.next(e => e.type === 'task:finished')
    expect(infoOnly.events.some(e => e.level === 'debug')).toBe(false)

    // Two open: a third is refused, with a time to retry.
    const third = await openEvents(a)
    expect(third.status).toBe(503)
    expect(third.headers['retry-after']).toBe('5')
    await waitFor(async () => await metricValue(a, 'fedmesh_api_event_streams') === 2, 5_000, 'two streams counted')

    // Clients that go away release their streams (and the subscription behind them).
    resumed.close()
    infoOnly.close()
    await waitFor(async () => await metricValue(a, 'fedmesh_api_event_streams') === 0, 5_000, 'the streams released')
    const again = await openEvents(a, 'types=task:*')
    expect(again.status).toBe(200)
    const more = await a.api('POST', '/v1/tasks', { kind: 'echo', input: 4 })
    await again.next(e => e.type === 'task:finished' && e.taskId === more.body.taskId)
    again.close()

    expect((await a.api('GET', '/v1/events', undefined, 'wrong')).status).toBe(401)
    const bad = await a.api('GET', '/v1/events?types=nope')
    expect(bad.status).toBe(400)
    expect(bad.body.error).toContain('unknown event type "nope"')
  })
})

describe('the log and fedmesh monitor', () => {
  it('writes pino-style JSON lines with --log-format json, and monitor prints events until Ctrl-C', async () => {
    const a = await startDaemon({ name: 'alpha', args: ['--log-format', 'json', '--log-level', 'debug'] })
    const monitor = spawn(process.execPath, [BIN, 'monitor', '--data-dir', a.dataDir], { stdio: ['ignore', 'pipe', 'pipe'] })
    const json = spawn(process.execPath, [BIN, 'monitor', '--data-dir', a.dataDir, '--json', '--types', 'peer:*'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let jsonOut = ''
    monitor.stdout.on('data', (d: Buffer) => { out += d.toString() })
    json.stdout.on('data', (d: Buffer) => { jsonOut += d.toString() })
    const exited = (p: typeof monitor): Promise<number | null> => new Promise(resolve => { p.on('exit', code => { resolve(code) }) })
    const monitorExit = exited(monitor)
    const jsonExit = exited(json)
    await waitFor(async () => await metricValue(a, 'fedmesh_api_event_streams') === 2, 10_000, 'both monitors connected')

    const b = await startDaemon({ name: 'bravo', args: ['--bootstrap', await a.address()] })
    const bravo = await b.peerId()
    const run = await a.api('POST', '/v1/tasks', { kind: 'echo', input: 'x', peer: bravo })
    expect(run.body.status).toBe('ok')
    await waitFor(() => out.includes('task:finished'), 10_000, 'monitor to print the task')
    expect(out).toMatch(/^\d\d:\d\d:\d\d\.\d{3} info {2}peer:connected +peer \S+ connected \(inbound, direct\)$/m)
    expect(out).toMatch(new RegExp(`info  task:finished +echo task ${(run.body.taskId as string).slice(0, 8)} done on bravo \\(`))
    // Debug events are not shown at the default level.
    expect(out).not.toContain('task:submitted')
    await waitFor(() => jsonOut.includes('"peer:connected"'), 5_000, 'the JSON monitor to print the peer')
    const printed = jsonOut.trim().split('\n').map(l => JSON.parse(l) as NodeEvent)
    expect(printed.every(e => e.type.startsWith('peer:'))).toBe(true)
    expect(printed.find(e => e.type === 'peer:connected')).toMatchObject({ peer: bravo, connection: 'direct' })

    monitor.kill('SIGINT')
    json.kill('SIGINT')
    expect(await monitorExit).toBe(0)
    expect(await jsonExit).toBe(0)
    await waitFor(async () => await metricValue(a, 'fedmesh_api_event_streams') === 0, 5_000, 'the monitors\' streams released')

    // Every stderr line is one JSON object in pino's shape; debug events are there at --log-level debug.
    await waitFor(() => a.stderr.includes('"task:finished"'), 5_000, 'the task in the log')
    const lines = a.stderr.trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>)
    for (const l of lines) {
      expect(l).toMatchObject({ level: expect.any(Number), time: expect.any(Number), pid: expect.any(Number), hostname: expect.any(String), msg: expect.any(String) })
    }
    expect(lines.find(l => l.msg === 'daemon started')).toMatchObject({ level: 30 })
    expect(lines.find(l => l.event === 'peer:connected')).toMatchObject({ level: 30, peer: bravo, direction: 'inbound' })
    expect(lines.find(l => l.event === 'task:submitted')).toMatchObject({ level: 20, taskId: run.body.taskId, kind: 'echo' })
    expect(Object.keys(lines[0]).slice(0, 5)).toEqual(['level', 'time', 'pid', 'hostname', 'msg'])
  })

  it('refuses an unknown log format in one line naming the key', async () => {
    const r = await runCli(['daemon', '--data-dir', await tempDir(), '--api', '127.0.0.1:0', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--log-format', 'xml'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^fedmesh: config: "logFormat" .*json/)
  })
})
