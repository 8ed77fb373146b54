/**
 * The progress line of a long `fedmesh sim` run, on stderr: wall time so far, where the model
 * is in virtual time (which engine run of how many), and an estimate of the time left. Nothing
 * is shown for the first 5 s. On a terminal the line is rewritten in place (dimmed unless
 * NO_COLOR is set); elsewhere (a log, CI) a plain line is written every 10 s.
 */
import type { ModelProgress } from './model/run.js'

export interface ProgressInit {
  write: (s: string) => void
  /** stderr is a terminal. */
  tty: boolean
  /** Colour allowed (a terminal without NO_COLOR). */
  colour: boolean
  now?: () => number
}

const QUIET_FOR_MS = 5_000
const TTY_EVERY_MS = 500
const PLAIN_EVERY_MS = 10_000

export class ProgressLine {
  private readonly started: number
  private last = -Infinity
  private shown = false
  private readonly now: () => number

  constructor (private readonly init: ProgressInit) {
    this.now = init.now ?? (() => performance.now())
    this.started = this.now()
  }

  update (p: ModelProgress): void {
    const now = this.now()
    const elapsed = now - this.started
    if (elapsed < QUIET_FOR_MS || now - this.last < (this.init.tty ? TTY_EVERY_MS : PLAIN_EVERY_MS)) return
    this.last = now
    const line = progressText(p, elapsed)
    if (this.init.tty) {
      this.init.write(`\r\x1b[2K${this.init.colour ? `\x1b[2m${line}\x1b[22m` : line}`)
      this.shown = true
    } else {
      this.init.write(`${line}\n`)
    }
  }

  /** Clear the in-place line before other output follows. */
  done (): void {
    if (this.shown) this.init.write('\r\x1b[2K')
    this.shown = false
  }
}

/** `sim: 12 s elapsed, fedmesh (run 1 of 4) at 14.2 of 30.0 s virtual, about 38 s left` */
export function progressText (p: ModelProgress, elapsedMs: number): string {
  const done = p.done ?? p.run + Math.min(1, p.virtualMs / Math.max(1, p.endMs))
  const fraction = Math.min(1, done / Math.max(1, p.runs))
  const left = fraction > 0 ? elapsedMs * (1 - fraction) / fraction : NaN
  const eta = Number.isFinite(left) ? `, about ${seconds(left)} left` : ''
  return `sim: ${seconds(elapsedMs)} elapsed, ${p.label} (run ${p.run + 1} of ${p.runs}) at ${(p.virtualMs / 1000).toFixed(1)} of ${(p.endMs / 1000).toFixed(1)} s virtual${eta}`
}

function seconds (ms: number): string {
  const s = Math.round(ms / 1000)
  return s >= 120 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`
}
