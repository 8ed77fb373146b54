import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { startDaemon as startAnyDaemon, stopAll, waitFor } from '../helpers/daemon.js'
import { createNatTopology, natTopologyUnavailableReason, stunServerUnavailableReason } from '../helpers/nat-topology.js'
import type { Daemon, StartOptions } from '../helpers/daemon.js'
import type { NatTopology } from '../helpers/nat-topology.js'

/**
 * Two homes behind real NATs (nftables in network namespaces this test creates) and one public
 * member that relays and answers STUN. The homes join the public member's federation with
 * invites, as users do, and meet through it only. Everything stays inside the namespaces.
 *
 * With FEDMESH_NAT_FIGURES=<file>, each test appends one JSON line with its figures (passed or
 * not): scripts/nat-runs.sh runs the cone test N times and sums them up. With FEDMESH_NAT_LOGS=<dir>,
 * every daemon's whole log lands there.
 */

interface PeerDoc { peerId: string, connected: boolean, connection?: 'direct' | 'relayed', capacity: unknown, addresses: string[] }
interface StatusDoc { peerId: string, reachability?: string, relay?: { reservations: Array<{ relay: string }>, serving?: { reservations: number } } }

const unavailable = natTopologyUnavailableReason() ?? stunServerUnavailableReason()
const topologies: NatTopology[] = []
const daemons: Daemon[] = []
const PORT = 4101
// Room for starting six daemons (the homes restart once to join) on a loaded 2-core machine: in a
// whole-suite run at load ~25 the homes took 30 s to answer. The goals are timed from when both
// homes answered, with their own bounds below.
const CONE_TEST_TIMEOUT_MS = 180_000
const SYMMETRIC_TEST_TIMEOUT_MS = 120_000
/** What a test measured so far (written even when it fails). */
let figures: Record<string, unknown> = {}

async function startDaemon (opts: StartOptions): Promise<Daemon> {
  const d = await startAnyDaemon(opts)
  daemons.push(d)
  return d
}

// Each test's daemons and namespaces go when it ends, failed or not (the next starts on an idle machine).
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') {
    for (const d of daemons) console.info(`[nat] ${d.prefix.at(-1) ?? ''} ${d.dataDir}: last log lines\n${d.stderr.split('\n').slice(-25).join('\n')}`)
  }
  // FEDMESH_NAT_LOGS=<dir>: every daemon's whole log, passed or not (run with DEBUG=libp2p:*,fedmesh:* for detail).
  const logs = process.env.FEDMESH_NAT_LOGS
  if (logs != null && logs !== '') {
    mkdirSync(logs, { recursive: true })
    for (const d of daemons) writeFileSync(join(logs, `${ctx.task.name.split(':')[0]}-${d.prefix.at(-1) ?? ''}-${basename(d.dataDir)}.log`), d.stderr)
  }
  const file = process.env.FEDMESH_NAT_FIGURES
  if (file != null && file !== '') appendFileSync(file, JSON.stringify({ test: ctx.task.name.split(':')[0], passed: ctx.task.result?.state === 'pass', ...figures }) + '\n')
  figures = {}
  daemons.length = 0
  await stopAll()
  for (const t of topologies.splice(0)) t.destroy()
})

interface Mesh { pub: Daemon, a: Daemon, b: Daemon, idA: string, idB: string, startedAt: number, answeredAt: number }

/** The public relay, then both homes joining it with an invite each. */
async function startMesh (nat: 'cone' | 'symmetric'): Promise<Mesh> {
  const topo = createNatTopology(nat)
  topologies.push(topo)
  // coturn as a plain STUN server on the public host (UDP 3478).
  topo.spawnIn(topo.pub, ['turnserver', '--stun-only', '--no-cli', `--listening-ip=${topo.pub.ip}`, '--listening-port=3478', '--log-file=stdout', '--no-stdout-log'])
  const pub = await startDaemon({
    name: 'pub',
    prefix: topo.pub.prefix,
    listen: `/ip4/${topo.pub.ip}/tcp/${PORT}`,
    open: false,
    args: ['--relay', '--announce', `/ip4/${topo.pub.ip}/tcp/${PORT}`, '--no-upnp']
  })
  const [tokenA, tokenB] = [(await pub.json<{ token: string }>('federation', 'invite')).token, (await pub.json<{ token: string }>('federation', 'invite')).token]
  // Each home listens on its own address inside its namespace (behind its router's NAT).
  const home = async (name: string, host: { prefix: string[], ip: string }, token: string): Promise<Daemon> => await startDaemon({
    name,
    prefix: host.prefix,
    listen: `/ip4/${host.ip}/tcp/${PORT}`,
    open: false,
    args: ['--join', token, '--stun', `stun:${topo.pub.ip}:3478`, '--no-upnp']
  })
  const startedAt = Date.now()
  const [a, b] = await Promise.all([home('home-a', topo.homeA, tokenA), home('home-b', topo.homeB, tokenB)])
  // Both homes joined (a join restarts the node in the federation) and answer on their APIs.
  const answeredAt = Date.now()
  return { pub, a, b, idA: await a.peerId(), idB: await b.peerId(), startedAt, answeredAt }
}

/** The daemon's /metrics, fetched from inside its namespace (its control API listens there). */
async function metricsOf (d: Daemon): Promise<string> {
  const script = 'fetch(process.argv[1] + "/metrics", { headers: { authorization: "Bearer " + process.argv[2] } }).then(r => r.text()).then(t => process.stdout.write(t))'
  const { execFileSync } = await import('node:child_process')
  return execFileSync(d.prefix[0], [...d.prefix.slice(1), process.execPath, '-e', script, await d.apiUrl(), await d.token()], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })
}

/** Bytes the relay carried (circuits and reservations): its hop streams, both ways. */
async function relayBytesOf (relay: Daemon): Promise<number> {
  let bytes = 0
  for (const line of (await metricsOf(relay)).split('\n')) {
    const m = /^libp2p_data_transfer_bytes_total\{protocol="\/libp2p\/circuit\/relay\/0\.2\.0\/hop (?:sent|received)"\} (\d+)/.exec(line)
    if (m != null) bytes += Number(m[1])
  }
  return bytes
}

/** How often the daemon logged losing its last connection to `id` (its peer:disconnected events). */
function disconnectsOf (d: Daemon, id: string): number {
  return d.stderr.split('\n').filter(l => l.includes('event=peer:disconnected') && l.includes(`peer=${id}`)).length
}

async function peerOf (d: Daemon, id: string): Promise<PeerDoc | undefined> {
  return (await d.json<PeerDoc[]>('peers')).find(p => p.peerId === id)
}

describe.skipIf(unavailable != null)(`peers behind NAT${unavailable != null ? ` (skipped: ${unavailable})` : ''}`, () => {
  it('cone NATs: the homes meet through the relay, punch a direct WebRTC path, run a task and read a cache write', async () => {
    const { pub, a, b, idA, idB, startedAt, answeredAt } = await startMesh('cone')
    // Target 10 s (issue 14); measured 3-10 s after both answered on this shared 2-core machine
    // (see the [nat] lines); the bound leaves room for a loaded CI run.
    await waitFor(async () => (await peerOf(a, idB))?.connected === true && (await peerOf(b, idA))?.connected === true, 15_000, 'the homes to know each other')
    const knowAt = Date.now()
    figures = { knowMs: knowAt - answeredAt, knowFromStartMs: knowAt - startedAt }
    await waitFor(async () => (await peerOf(a, idB))?.connection === 'direct' && (await peerOf(b, idA))?.connection === 'direct', 20_000, 'a direct connection between the homes')
    const directAt = Date.now()
    figures = { ...figures, directMs: directAt - answeredAt, directFromStartMs: directAt - startedAt }
    const sA = await a.json<StatusDoc>('status')
    expect(sA.reachability).toBe('private')
    expect(sA.relay?.reservations.map(r => r.relay)).toEqual([await pub.peerId()])
    expect((await pub.json<StatusDoc>('status')).reachability).toBe('public')

    const run = await a.json<{ status: string, peer: string, output: unknown }>('run', 'echo', '--input', '"over the punched path"', '--peer', idB)
    expect(run).toMatchObject({ status: 'ok', peer: idB, output: 'over the punched path' })
    await b.json('cache', 'put', 'nat/greeting', 'hello from home-b')
    await waitFor(async () => (await a.json<{ value: unknown }>('cache', 'get', 'nat/greeting')).value === 'hello from home-b', 10_000, "home-a to read home-b's write")
    figures = { ...figures, relayBytes: await relayBytesOf(pub) }
    console.info(`[nat] cone: the homes knew each other ${knowAt - answeredAt} ms after both answered (${knowAt - startedAt} ms after their processes started), direct ${directAt - answeredAt} ms after both answered (${directAt - startedAt} ms); the relay carried ${String(figures.relayBytes)} bytes`)

    // A second public member restarts on another port: home-a, which knew only its old address,
    // finds it again (a DHT lookup by peer id after the old address fails, or its dial through the relay).
    const token = (await pub.json<{ token: string }>('federation', 'invite')).token
    const second = (port: number, dataDir?: string): Promise<Daemon> => startDaemon({
      name: 'pub-2', prefix: pub.prefix, dataDir, listen: `/ip4/30.0.0.1/tcp/${port}`, open: false,
      args: ['--join', token, '--announce', `/ip4/30.0.0.1/tcp/${port}`, '--no-upnp']
    })
    const q = await second(PORT + 1)
    const idQ = await q.peerId()
    const directTo = async (port: number): Promise<boolean> => {
      const p = await peerOf(a, idQ)
      return p?.connection === 'direct' && p.addresses.some(x => x.includes(`/tcp/${port}/`))
    }
    await waitFor(async () => await directTo(PORT + 1), 30_000, 'home-a to connect to the second public member')
    await q.stop()
    const restartedAt = Date.now()
    await second(PORT + 2, q.dataDir)
    await waitFor(async () => await directTo(PORT + 2), 10_000, 'home-a to reconnect to the second public member on its new port')
    figures = { ...figures, restartReconnectMs: Date.now() - restartedAt }
    console.info(`[nat] restarted peer on a new port: home-a reconnected directly ${Date.now() - restartedAt} ms after the restart began`)
  }, CONE_TEST_TIMEOUT_MS)

  it('symmetric NATs: no hole punch; control traffic goes relayed and a task for the other home fails with the reason', async () => {
    const { pub, a, b, idA, idB, answeredAt } = await startMesh('symmetric')
    await waitFor(async () => (await peerOf(a, idB))?.connected === true && (await peerOf(b, idA))?.connected === true, 15_000, 'the homes to know each other')
    const knowMs = Date.now() - answeredAt
    figures = { knowMs }
    // Capacity ads (control traffic) cross the relay: each home sees the other's load.
    await waitFor(async () => (await peerOf(a, idB))?.capacity != null, 10_000, "home-b's capacity ad to reach home-a")
    expect((await peerOf(a, idB))?.connection).toBe('relayed')
    const disconnectsBefore = [disconnectsOf(a, idB), disconnectsOf(b, idA)]
    const started = Date.now()
    const r = await a.cli('run', 'echo', '--input', '"a payload"', '--peer', idB, '--json')
    const tookMs = Date.now() - started
    expect(r.code).not.toBe(0)
    expect(r.stdout + r.stderr).toMatch(/reachable only through a relay/)
    expect(tookMs).toBeLessThan(30_000)
    // The homes stay joined through the relay after the failed punch and a while longer (the
    // NAT service retries the punch in 5 s): joined at every look, and not one disconnect since
    // the task started (a relayed connection dropped and redialled in between would show there).
    for (const until = Date.now() + 8_000; Date.now() < until; await new Promise(resolve => setTimeout(resolve, 500))) {
      expect([(await peerOf(a, idB))?.connection, (await peerOf(b, idA))?.connection]).toEqual(['relayed', 'relayed'])
    }
    expect([disconnectsOf(a, idB), disconnectsOf(b, idA)]).toEqual(disconnectsBefore)
    figures = { ...figures, taskFailedMs: tookMs, relayBytes: await relayBytesOf(pub) }
    console.info(`[nat] symmetric: homes knew each other after ${knowMs} ms (relayed); a pinned task failed in ${tookMs} ms: ${(r.stdout + r.stderr).trim().slice(0, 300)}`)
  }, SYMMETRIC_TEST_TIMEOUT_MS)
})
