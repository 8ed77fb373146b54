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
  await warmUp(call, inFlight, warmupMs)
  return summarize([await slice(call, inFlight, durationMs)])
}

/**
 * Measure several calls in turns: `rounds` slices of each, one after the other, `durationMs` in
 * all per call. On a shared machine the load drifts within seconds: taking turns spreads it over
 * every call alike, so their ratios hold even when the absolute figures move.
 */
export async function measureInTurns<K extends string> (calls: Record<K, () => Promise<void>>, inFlight: number, durationMs: number, rounds = 6, warmupMs = 300): Promise<Record<K, LoadResult>> {
  const names = Object.keys(calls) as K[]
  for (const name of names) await warmUp(calls[name], inFlight, warmupMs)
  const slices = new Map<K, Slice[]>(names.map(n => [n, []]))
  for (let r = 0; r < rounds; r++) {
    for (const name of names) slices.get(name)?.push(await slice(calls[name], inFlight, durationMs / rounds))
  }
  return Object.fromEntries(names.map(n => [n, summarize(slices.get(n) ?? [])])) as Record<K, LoadResult>
}

interface Slice { samples: number[], elapsedMs: number }

async function warmUp (call: () => Promise<void>, inFlight: number, warmupMs: number): Promise<void> {
  const warmEnd = Date.now() + warmupMs
  await Promise.all(Array.from({ length: inFlight }, async () => { while (Date.now() < warmEnd) await call() }))
}

/**
 * The calls that finished within `durationMs`, over `durationMs`: the calls still out at the end
 * are waited for but not counted, so one slow straggler does not stretch a short slice.
 */
async function slice (call: () => Promise<void>, inFlight: number, durationMs: number): Promise<Slice> {
  const samples: number[] = []
  const t0 = performance.now()
  const end = t0 + durationMs
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (performance.now() < end) {
      const s = performance.now()
      await call()
      const done = performance.now()
      if (done <= end) samples.push(done - s)
    }
  }))
  return { samples, elapsedMs: durationMs }
}

function summarize (slices: Slice[]): LoadResult {
  const samples = slices.flatMap(s => s.samples).sort((a, b) => a - b)
  const elapsed = slices.reduce((sum, s) => sum + s.elapsedMs, 0)
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
