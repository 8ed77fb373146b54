/**
 * The run over time, in fixed bins: tasks finished per second, their mean response, tasks lost,
 * and the most tasks in the system at once (arrived, not yet finished: queued or running). The
 * report plots it, so a slow start, a backlog building up or a dip after a crash shows where a
 * single mean would hide it. Constant work per event (a few array writes).
 */
import type { TimelineSeries } from '../report/types.js'

/** About this many bins over a run, each at least a second. */
const TARGET_BINS = 120
const MIN_BIN_MS = 1_000

export class Timeline {
  private readonly binMs: number
  private readonly finished: number[] = []
  private readonly responseSum: number[] = []
  private readonly lost: number[] = []
  private readonly peakInSystem: number[] = []

  constructor (durationMs: number) {
    this.binMs = Math.max(MIN_BIN_MS, Math.ceil(durationMs / TARGET_BINS / MIN_BIN_MS) * MIN_BIN_MS)
  }

  /** `inSystem` tasks are in the system at `now` (after an arrival or a finish). */
  inSystem (now: number, inSystem: number): void {
    const b = this.bin(now)
    if (inSystem > this.peakInSystem[b]) this.peakInSystem[b] = inSystem
  }

  /** A task ended at `now`: with its response time, or lost (undefined). */
  ended (now: number, responseMs: number | undefined): void {
    const b = this.bin(now)
    if (responseMs === undefined) this.lost[b]++
    else {
      this.finished[b]++
      this.responseSum[b] += responseMs
    }
  }

  result (): TimelineSeries {
    const bins = this.finished.length
    const perSecond = 1000 / this.binMs
    return {
      binMs: this.binMs,
      t: Array.from({ length: bins }, (_, b) => b * this.binMs),
      throughputPerS: this.finished.map(n => round(n * perSecond)),
      meanResponseMs: this.finished.map((n, b) => n > 0 ? round(this.responseSum[b] / n) : null),
      lost: [...this.lost],
      peakInSystem: [...this.peakInSystem]
    }
  }

  private bin (now: number): number {
    const b = Math.max(0, Math.floor(now / this.binMs))
    while (this.finished.length <= b) {
      this.finished.push(0)
      this.responseSum.push(0)
      this.lost.push(0)
      this.peakInSystem.push(0)
    }
    return b
  }
}

function round (v: number): number {
  return Math.round(v * 100) / 100
}
