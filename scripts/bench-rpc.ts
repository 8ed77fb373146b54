import { Agent, request } from 'node:http'
import { readFileSync } from 'node:fs'
import { mkdtemp, open, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { createFederationNode } from '../src/node/create-node.js'
import { frameLimitsFor } from '../src/services/tasks/frame-limits.js'
import { TASK_PROTOCOL } from '../src/services/tasks/task-service.js'
import { StreamTaskClient } from '../src/services/tasks/task-client.js'
import { FedStore } from '../src/store/store.js'
import { BENCH_ECHO_PROTOCOL } from '../src/services/bench-echo.js'
import { BIN, ROOT, measureInTurns, round, spawnUntil } from './bench-util.js'
import { EchoClient } from './bench-echo-client.js'
import type { FederationNode } from '../src/node/federation-node.js'

const IN_FLIGHT = 64
const DURATION_MS = 3_000
const PAYLOAD = { hello: 'fedmesh', n: 42 }
/** The size of the record the durable floor appends and syncs (a task's start record is about this). */
const FLOOR_RECORD_BYTES = 64

/**
 * `npm run bench -- rpc`: echo tasks from this process's node to a daemon process on loopback,
 * 64 in flight and one at a time, against a Node http keep-alive echo server process measured
 * in the same run. `fedmesh` is the task RPC itself (the long-lived stream to the daemon's
 * executor); `submit` is the whole library path (`node.run`: routing decision, dedupe, failover
 * bookkeeping, result document). `rawEcho` is the floor beneath both: a length-prefixed echo on
 * one long-lived stream of the same connection (the daemon serves it for FEDMESH_BENCH_ECHO=1).
 * `durableFloor` is what the daemon must do before a task of a kind with effects starts
 * (protocols/task.md "Dedupe": its start record is synced first): append a 64-byte record to a
 * file beside the daemon's data dir and fdatasync it, one at a time, through libuv's thread pool
 * as LevelDB's writes go. `echo` is pure: its start is recorded without that wait (`echoKind`).
 */
export async function benchRpc (): Promise<Record<string, unknown>> {
  const dataDir = await mkdtemp(join(tmpdir(), 'fedmesh-bench-'))
  // Same filesystem as the daemon's data dir (both under tmpdir()), not inside it.
  const floorDir = await mkdtemp(join(tmpdir(), 'fedmesh-bench-floor-'))
  const floorFile = await open(join(floorDir, 'records'), 'a')
  const record = new Uint8Array(FLOOR_RECORD_BYTES).fill(0x2a)
  // The RPC, not the log: at info the daemon writes a line per task it runs for a peer (its
  // stderr here is a pipe nobody reads). FEDMESH_LOG_LEVEL=info measures that cost. The local
  // profile reads no host signals: on a busy machine yieldToOwner would offer peers no slot.
  const daemon = await spawnUntil(process.execPath, [BIN, 'daemon', '--data-dir', dataDir, '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0', '--no-mdns', '--no-dht', '--open', '--concurrency', '128'], /listen\s+(\S+)/, { FEDMESH_LOG_LEVEL: process.env.FEDMESH_LOG_LEVEL ?? 'warn', FEDMESH_PROFILE: 'local', FEDMESH_BENCH_ECHO: '1' })
  const http = await spawnUntil(process.execPath, [join(ROOT, 'dist', 'scripts', 'http-echo-server.js')], /listening (\d+)/)
  let node: FederationNode | undefined
  try {
    node = await createFederationNode({ store: await FedStore.memory(), open: true, mdns: false, dht: false, bootstrap: [daemon.match[1]], journal: false, profile: 'local' })
    await node.start()
    const remote = daemon.match[1].split('/p2p/')[1]
    const n = node
    const input = new TextEncoder().encode(JSON.stringify(PAYLOAD))
    await waitUntil(() => n.libp2p.services.capacity.table.get(remote) != null)
    const submit = async (): Promise<void> => {
      const r = await n.run({ kind: 'echo', input, peer: remote, timeoutMs: 10_000 })
      if (r.status !== 'ok') throw new Error(`echo failed: ${r.error}`)
    }
    const remoteId = peerIdFromString(remote)
    const client = new StreamTaskClient({
      openStream: async (options) => (await n.libp2p.dial(remoteId, options)).newStream(TASK_PROTOCOL, options),
      limits: frameLimitsFor(1024 * 1024),
      log: n.libp2p.logger.forComponent('bench')
    })
    let seq = 0
    const echoTask = async (): Promise<void> => {
      const o = await client.request({ taskId: `bench-${seq++}`, kind: 'echo', input, deadlineMs: 10_000, attempt: 1, maxWaitMs: 0, expectedRunMs: 0, ageMs: 0, priority: 0 })
      if (o.error !== 'NONE') throw new Error(`echo failed: ${o.message}`)
    }
    const echo = new EchoClient(await (await n.libp2p.dial(remoteId)).newStream(BENCH_ECHO_PROTOCOL))
    const echoCall = async (): Promise<void> => { await echo.call(input) }
    const syncedAppend = async (): Promise<void> => {
      await floorFile.write(record)
      await floorFile.datasync()
    }
    const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT })
    const port = Number(http.match[1])
    const body = JSON.stringify(PAYLOAD)
    const httpEcho = async (): Promise<void> => new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, res => {
        res.resume()
        res.on('end', resolve)
      })
      req.on('error', reject)
      req.end(body)
    })

    // In turns (bench-util: measureInTurns), so the ratios of one run share its load.
    const cpu = new CpuPerCall(daemon.proc.pid as number)
    const loaded = await measureInTurns({ fedmesh: cpu.wrap('fedmesh', echoTask), submit: cpu.wrap('submit', submit), raw: cpu.wrap('raw', echoCall), http: cpu.wrap('http', httpEcho) }, IN_FLIGHT, DURATION_MS)
    cpu.stop()
    const one = await measureInTurns({ fedmesh: echoTask, submit, raw: echoCall, http: httpEcho, durable: syncedAppend }, 1, DURATION_MS / 2)
    const { fedmesh, submit: submitted, raw, http: baseline } = loaded
    const { fedmesh: fedmeshSeq, submit: submittedSeq, raw: rawSeq, http: baselineSeq, durable } = one
    agent.destroy()
    client.close()
    await echo.close()
    return {
      bench: 'rpc',
      inFlight: IN_FLIGHT,
      fedmesh: { tasksPerSec: fedmesh.requestsPerSec, p50Ms: fedmesh.p50Ms, p99Ms: fedmesh.p99Ms, sequential: { tasksPerSec: fedmeshSeq.requestsPerSec, p50Ms: fedmeshSeq.p50Ms, p99Ms: fedmeshSeq.p99Ms } },
      baseline: { name: 'node-http-keepalive', tasksPerSec: baseline.requestsPerSec, p50Ms: baseline.p50Ms, p99Ms: baseline.p99Ms, sequential: { tasksPerSec: baselineSeq.requestsPerSec, p50Ms: baselineSeq.p50Ms } },
      submit: { tasksPerSec: submitted.requestsPerSec, p50Ms: submitted.p50Ms, p99Ms: submitted.p99Ms, sequential: { tasksPerSec: submittedSeq.requestsPerSec, p50Ms: submittedSeq.p50Ms } },
      rawEcho: { name: 'libp2p-echo-one-stream', tasksPerSec: raw.requestsPerSec, p50Ms: raw.p50Ms, p99Ms: raw.p99Ms, sequential: { tasksPerSec: rawSeq.requestsPerSec, p50Ms: rawSeq.p50Ms, p99Ms: rawSeq.p99Ms } },
      throughputRatio: round(fedmesh.requestsPerSec / baseline.requestsPerSec, 2),
      submitThroughputRatio: round(submitted.requestsPerSec / baseline.requestsPerSec, 2),
      sequentialP50Ratio: round(fedmeshSeq.p50Ms / baselineSeq.p50Ms, 2),
      // The goals (issue 13): submit ≥ 0.8x the task client beneath it; sequentialP50Ratio ≤ 2.
      submitVsTaskClientThroughputRatio: round(submitted.requestsPerSec / fedmesh.requestsPerSec, 2),
      // CPU per task at 64 in flight, µs, of this process (client) and the daemon's: it moves far
      // less with the machine's load than throughput does, so it shows what a change saved.
      cpuPerTaskUs: { fedmesh: cpu.perCall('fedmesh'), submit: cpu.perCall('submit'), rawEcho: cpu.perCall('raw'), http: cpu.perCall('http') },
      // How much of the gap to HTTP is libp2p itself (rawEcho) and how much fedmesh's task RPC.
      taskVsRawEchoThroughputRatio: round(fedmesh.requestsPerSec / raw.requestsPerSec, 2),
      taskVsRawEchoSequentialP50Ratio: round(fedmeshSeq.p50Ms / rawSeq.p50Ms, 2),
      rawEchoVsHttpThroughputRatio: round(raw.requestsPerSec / baseline.requestsPerSec, 2),
      rawEchoVsHttpSequentialP50Ratio: round(rawSeq.p50Ms / baselineSeq.p50Ms, 2),
      // The floor of the sequential task RPC: the wire (raw echo) plus the start record's sync.
      durableFloor: { name: `append-${FLOOR_RECORD_BYTES}B-fdatasync`, p50Ms: durable.p50Ms, p99Ms: durable.p99Ms },
      taskVsRawEchoPlusDurableFloorSequentialP50Ratio: round(fedmeshSeq.p50Ms / (rawSeq.p50Ms + durable.p50Ms), 2),
      durableFloorPlusRawEchoVsHttpSequentialP50Ratio: round((rawSeq.p50Ms + durable.p50Ms) / baselineSeq.p50Ms, 2),
      // What the task RPC's echo pays of that floor: nothing (a command kind's start would).
      echoKind: 'pure: its start is recorded without waiting for the disk',
      loadAverage: loadavg().map(l => round(l, 2))
    }
  } finally {
    await node?.stop()
    daemon.proc.kill('SIGTERM')
    http.proc.kill('SIGTERM')
    await new Promise(resolve => daemon.proc.once('exit', resolve))
    await rm(dataDir, { recursive: true, force: true })
    await floorFile.close()
    await rm(floorDir, { recursive: true, force: true })
  }
}

async function waitUntil (check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting for the peer to advertise')
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

/**
 * CPU per call, by call name, of this process and of another (the daemon, from /proc): the calls
 * take turns (measureInTurns, warm-ups included), so the CPU from one name's first call to the
 * next name's first call is that name's.
 */
class CpuPerCall {
  private current: string | undefined
  private selfAt = process.cpuUsage()
  private otherAt: number
  private readonly totals = new Map<string, { calls: number, selfUs: number, otherUs: number }>()

  constructor (private readonly otherPid: number) {
    this.otherAt = processCpuUs(otherPid)
  }

  wrap (name: string, call: () => Promise<void>): () => Promise<void> {
    const total = { calls: 0, selfUs: 0, otherUs: 0 }
    this.totals.set(name, total)
    return async () => {
      if (this.current !== name) this.switchTo(name)
      total.calls++
      await call()
    }
  }

  /** The last name's share ends here. */
  stop (): void {
    this.switchTo(undefined)
  }

  perCall (name: string): { client: number, daemon: number } {
    const t = this.totals.get(name)
    if (t == null || t.calls === 0) return { client: 0, daemon: 0 }
    return { client: round(t.selfUs / t.calls, 1), daemon: round(t.otherUs / t.calls, 1) }
  }

  private switchTo (name: string | undefined): void {
    const self = process.cpuUsage()
    const other = processCpuUs(this.otherPid)
    const t = this.current == null ? undefined : this.totals.get(this.current)
    if (t != null) {
      t.selfUs += self.user - this.selfAt.user + self.system - this.selfAt.system
      t.otherUs += other - this.otherAt
    }
    this.selfAt = self
    this.otherAt = other
    this.current = name
  }
}

/** A process's CPU time so far (user + system), µs, from /proc (clock ticks of 10 ms). */
function processCpuUs (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10_000
}
