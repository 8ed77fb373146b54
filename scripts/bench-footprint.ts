import { execFile, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { BIN, round } from './bench-util.js'
import type { ChildProcess } from 'node:child_process'

/**
 * `npm run bench -- footprint`: what an idle fedmesh costs the machine it shares with its owner.
 * Three daemons on loopback (`--no-mdns --open`, own data dirs, the default `lan` profile) form a
 * mesh; once every one sees the two others, each is measured over `FOOTPRINT_SECONDS` (default
 * 60): resident memory (/proc/PID/status VmRSS), CPU as a share of one core (/proc/PID/stat
 * utime+stime) and the bytes per second its libp2p connections carry per connected peer (the
 * kernel's per-socket counters, `ss -ti`, on the daemons' listen ports: every byte counted
 * once, at the end that sent it and the end that received it). The baseline in the same run is
 * a bare Node process (`setInterval(() => {}, 1000)`). Sampling starts `FOOTPRINT_SETTLE_SECONDS`
 * (default 5) after the mesh formed: the default still catches the tail of start-up (DHT walks,
 * first syncs, V8 optimising hot code); a few minutes shows a daemon that has been idle a while.
 * Targets (issue 15): ≤ 80 MB RSS, ≤ 0.5 % CPU, ≤ 1 KB/s per peer.
 */

const run = promisify(execFile)
const TICKS_PER_SECOND = 100
const NODE = process.execPath

interface Proc { proc: ChildProcess, pid: number }

async function start (args: string[], env: Record<string, string> = {}): Promise<Proc> {
  const proc = spawn(NODE, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } })
  let err = ''
  proc.stderr?.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000) })
  proc.on('exit', (code) => { if (code != null && code !== 0) process.stderr.write(`footprint: a child exited ${code}: ${err}\n`) })
  if (proc.pid == null) throw new Error('could not start a child process')
  return { proc, pid: proc.pid }
}

async function rssMb (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const m = /VmRSS:\s+(\d+) kB/.exec(status)
  return m == null ? NaN : Number(m[1]) / 1024
}

async function cpuTicks (pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number)
  return rest[11] + rest[12]
}

/** Bytes each end of the daemons' libp2p connections sent (acked) plus received, by local port. */
async function socketBytes (listenPorts: Set<number>): Promise<Map<string, number>> {
  const { stdout } = await run('ss', ['-tinH', 'state', 'established'], { maxBuffer: 16 * 1024 * 1024 })
  const out = new Map<string, number>()
  const lines = stdout.split('\n')
  for (let i = 0; i < lines.length - 1; i++) {
    const m = /127\.0\.0\.1:(\d+)\s+127\.0\.0\.1:(\d+)/.exec(lines[i])
    if (m == null) continue
    const [local, remote] = [Number(m[1]), Number(m[2])]
    if (!listenPorts.has(local) && !listenPorts.has(remote)) continue
    const info = lines[i + 1]
    const acked = Number(/bytes_acked:(\d+)/.exec(info)?.[1] ?? 0)
    const received = Number(/bytes_received:(\d+)/.exec(info)?.[1] ?? 0)
    out.set(`${local}-${remote}`, acked + received)
  }
  return out
}

async function api (dataDir: string, path: string): Promise<any> {
  const [url, token] = await Promise.all([readFile(join(dataDir, 'api'), 'utf8'), readFile(join(dataDir, 'api.token'), 'utf8')])
  const res = await fetch(url.trim() + path, { headers: { authorization: `Bearer ${token.trim()}` } })
  return res.json()
}

async function until (check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    try { if (await check()) return } catch {}
    await new Promise(resolve => setTimeout(resolve, 250))
  }
  throw new Error(`timed out waiting for ${what}`)
}

export async function benchFootprint (): Promise<Record<string, unknown>> {
  const seconds = Number(process.env.FOOTPRINT_SECONDS ?? 60)
  const settleSeconds = Number(process.env.FOOTPRINT_SETTLE_SECONDS ?? 5)
  const dirs = await Promise.all([0, 1, 2].map(async () => mkdtemp(join(tmpdir(), 'fedmesh-footprint-'))))
  const procs: Proc[] = []
  const others: ChildProcess[] = []
  try {
    // Started as the README's quick start starts it: `fedmesh daemon` with no Node flags (the
    // daemon applies DAEMON_NODE_FLAGS itself once started).
    const daemonArgs = (dir: string, extra: string[] = []): string[] => [BIN, 'daemon', '--data-dir', dir, '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0', '--no-mdns', '--open', ...extra]
    procs.push(await start(daemonArgs(dirs[0])))
    await until(async () => (await api(dirs[0], '/v1/status')).addresses.length > 0, 30_000, 'the first daemon')
    const first = (await api(dirs[0], '/v1/status')) as { peerId: string, addresses: string[] }
    const bootstrap = `${first.addresses.find(a => a.includes('/tcp/')) as string}`
    procs.push(await start(daemonArgs(dirs[1], ['--bootstrap', bootstrap])))
    procs.push(await start(daemonArgs(dirs[2], ['--bootstrap', bootstrap])))
    const bare = await start(['-e', 'setInterval(() => {}, 1000)'])
    others.push(bare.proc)
    await until(async () => {
      const peers = await Promise.all(dirs.map(async d => (await api(d, '/v1/peers')) as Array<{ connected: boolean, capacity: unknown }>))
      return peers.every(list => list.filter(p => p.connected && p.capacity != null).length === 2)
    }, 60_000, 'the mesh of three')
    const statuses = await Promise.all(dirs.map(async d => (await api(d, '/v1/status')) as { addresses: string[] }))
    const ports = new Set(statuses.flatMap(s => s.addresses.map(a => Number(/\/tcp\/(\d+)/.exec(a)?.[1])).filter(Number.isFinite)))
    // Let start-up work (DHT walk, first syncs) settle before measuring idle.
    await new Promise(resolve => setTimeout(resolve, settleSeconds * 1000))

    const cpu0 = await Promise.all(procs.map(async p => cpuTicks(p.pid)))
    const bytes0 = await socketBytes(ports)
    const t0 = performance.now()
    await new Promise(resolve => setTimeout(resolve, seconds * 1000))
    const elapsed = (performance.now() - t0) / 1000
    const cpu1 = await Promise.all(procs.map(async p => cpuTicks(p.pid)))
    const bytes1 = await socketBytes(ports)
    const rss = await Promise.all(procs.map(async p => rssMb(p.pid)))
    const bareRss = await rssMb(bare.pid)

    // Each link shows up twice (one socket per end); each end's count is that link's traffic.
    const perLink: number[] = []
    for (const [key, after] of bytes1) {
      const before = bytes0.get(key)
      if (before != null) perLink.push((after - before) / elapsed)
    }
    const cpuPct = cpu1.map((c, i) => (c - cpu0[i]) / TICKS_PER_SECOND / elapsed * 100)
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
    const fedmesh = {
      daemons: procs.length,
      seconds: round(elapsed, 1),
      settleSeconds,
      rssMb: rss.map(v => round(v, 1)),
      meanRssMb: round(mean(rss), 1),
      cpuPercent: cpuPct.map(v => round(v, 2)),
      meanCpuPercent: round(mean(cpuPct), 2),
      bytesPerSecPerPeer: round(mean(perLink), 0),
      connectionsMeasured: perLink.length
    }
    return {
      bench: 'footprint',
      fedmesh,
      baseline: { name: 'bare-node-setInterval', rssMb: round(bareRss, 1) },
      rssRatio: round(fedmesh.meanRssMb / bareRss, 2),
      targets: { rssMb: 80, cpuPercent: 0.5, bytesPerSecPerPeer: 1024 },
      met: { rss: fedmesh.meanRssMb <= 80, cpu: fedmesh.meanCpuPercent <= 0.5, bytes: fedmesh.bytesPerSecPerPeer <= 1024 },
      loadAverage: loadavg().map(v => round(v, 2)),
      node: process.version
    }
  } finally {
    for (const p of procs) p.proc.kill('SIGTERM')
    await Promise.all(procs.map(async p => new Promise(resolve => { if (p.proc.exitCode != null) resolve(null); else p.proc.once('exit', resolve) })))
    for (const p of others) p.kill('SIGKILL')
    await Promise.all(dirs.map(async d => rm(d, { recursive: true, force: true })))
  }
}
