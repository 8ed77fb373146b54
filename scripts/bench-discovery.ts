import { execFileSync, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BIN, round } from './bench-util.js'
import type { ChildProcess } from 'node:child_process'

/**
 * `npm run bench -- discovery`: how long real daemons (separate processes) take to find each
 * other. DHT: B and C know only A (127.0.0.1); time from starting B and C until C is connected
 * to B. mDNS: two daemons with no bootstrap inside a network namespace this script creates (never
 * the real interface), against a raw multicast-dns query/answer round trip in the same namespace.
 */
export async function benchDiscovery (): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = { bench: 'discovery' }
  out.dht = await dhtJoin()
  out.mdns = process.getuid?.() === 0 ? await mdnsJoin() : { skipped: 'needs root to create a network namespace' }
  return out
}

interface Proc { proc: ChildProcess, dataDir: string }

async function daemon (prefix: string[], args: string[]): Promise<Proc> {
  const dataDir = await mkdtemp(join(tmpdir(), 'fedmesh-bench-disc-'))
  const cmd = [...prefix, process.execPath, BIN, 'daemon', '--data-dir', dataDir, '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0', ...args]
  const proc = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, FEDMESH_PROFILE: 'local' } })
  return { proc, dataDir }
}

async function api (p: Proc, path: string): Promise<any> {
  const url = (await readFile(join(p.dataDir, 'api'), 'utf8')).trim()
  const token = (await readFile(join(p.dataDir, 'api.token'), 'utf8')).trim()
  return (await fetch(url + path, { headers: { authorization: `Bearer ${token}` } })).json()
}

async function until<T> (fn: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 10): Promise<T> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    try {
      const v = await fn()
      if (v !== undefined) return v
    } catch {}
    await new Promise(resolve => setTimeout(resolve, intervalMs))
  }
  throw new Error('timed out')
}

async function stop (...ps: Proc[]): Promise<void> {
  await Promise.all(ps.map(async p => {
    p.proc.kill('SIGKILL')
    await rm(p.dataDir, { recursive: true, force: true })
  }))
}

async function dhtJoin (): Promise<Record<string, unknown>> {
  const a = await daemon([], ['--no-mdns'])
  const addr = await until(async () => (await api(a, '/v1/status')).addresses?.[0] as string | undefined, 20_000)
  const t0 = performance.now()
  const b = await daemon([], ['--no-mdns', '--bootstrap', addr])
  const c = await daemon([], ['--no-mdns', '--bootstrap', addr])
  try {
    const idB = await until(async () => (await api(b, '/v1/status')).peerId as string | undefined, 20_000)
    const up = performance.now() - t0
    await until(async () => (await api(c, '/v1/peers') as any[]).some(p => p.peerId === idB && p.connected) ? true : undefined, 20_000)
    const total = performance.now() - t0
    return { startedMs: round(up, 0), cConnectedToBMs: round(total, 0), afterStartMs: round(total - up, 0), goalMs: 5_000 }
  } finally {
    await stop(a, b, c)
  }
}

/** Runs `discovery-mdns-probe.js` inside a fresh namespace (daemons, API and multicast all stay in it). */
async function mdnsJoin (): Promise<Record<string, unknown>> {
  const ns = `fm-bench-mdns-${process.pid}`
  const ip = (...args: string[]): void => { execFileSync('ip', args, { stdio: 'ignore' }) }
  ip('netns', 'add', ns)
  try {
    ip('-n', ns, 'link', 'set', 'lo', 'up')
    ip('-n', ns, 'link', 'set', 'lo', 'multicast', 'on')
    ip('-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'lo')
    const probe = new URL('./discovery-mdns-probe.js', import.meta.url).pathname
    const out = execFileSync('ip', ['netns', 'exec', ns, process.execPath, probe], { encoding: 'utf8', timeout: 60_000 })
    return JSON.parse(out.trim().split('\n').pop() as string)
  } finally {
    try { ip('netns', 'del', ns) } catch {}
  }
}

export { daemon, api, until, stop }
