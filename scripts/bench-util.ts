import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ChildProcess } from 'node:child_process'

/** Shared helpers of the benchmarks: load loops, percentiles, child processes. */

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const BIN = join(ROOT, 'bin', 'fedmesh.js')

export interface LoadResult {
  requestsPerSec: number
  p50Ms: number
  p99Ms: number
  count: number
}

/** Run `call` from `inFlight` concurrent loops for `durationMs` after a warm-up; latencies per call. */
export async function measure (call: () => Promise<void>, inFlight: number, durationMs: number, warmupMs = 500): Promise<LoadResult> {
  const warmEnd = Date.now() + warmupMs
  await Promise.all(Array.from({ length: inFlight }, async () => { while (Date.now() < warmEnd) await call() }))
  const samples: number[] = []
  const end = performance.now() + durationMs
  const t0 = performance.now()
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (performance.now() < end) {
      const s = performance.now()
      await call()
      samples.push(performance.now() - s)
    }
  }))
  const elapsed = performance.now() - t0
  samples.sort((a, b) => a - b)
  return {
    requestsPerSec: round(samples.length / (elapsed / 1000), 0),
    p50Ms: round(percentile(samples, 0.5), 3),
    p99Ms: round(percentile(samples, 0.99), 3),
    count: samples.length
  }
}

export function percentile (sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
}

export function round (v: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(v * f) / f
}

/** Start a child process and resolve once a line of its stdout matches. */
export async function spawnUntil (cmd: string, args: string[], ready: RegExp, env: Record<string, string> = {}): Promise<{ proc: ChildProcess, match: RegExpMatchArray }> {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`${args.join(' ')} did not become ready: ${out}`)) }, 20_000)
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const m = out.match(ready)
      if (m != null) { clearTimeout(timer); resolve({ proc, match: m }) }
    })
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`exited ${code}: ${out}`)) })
  })
}
