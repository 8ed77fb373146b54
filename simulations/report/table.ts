/** The short summary printed to the terminal at the end of a run (cli-table3). */
import Table from 'cli-table3'
import { paint } from '../../src/cli/color.js'
import type { GoalCheck } from './goals.js'
import type { ReportDocument } from './json.js'
import type { RunResult } from './types.js'

export interface TerminalOptions {
  /** Colour the table borders and headers (a TTY without NO_COLOR). Default false: plain text. */
  colour?: boolean
  /** Wrap the verdict paragraph at this width. Default 100. */
  width?: number
}

function n (v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—'
  if (!Number.isFinite(v)) return '∞'
  return String(Math.round(v * 10 ** digits) / 10 ** digits)
}

export function renderTerminal (runs: RunResult[], doc: ReportDocument, options: TerminalOptions = {}): string {
  // Colour is ours, not cli-table3's: its colours library decides by itself (off whenever CI is set).
  const colour = options.colour === true
  const style = { head: [], border: [] }
  const head = (names: string[]): string[] => names.map(h => paint(colour, 'bold', h))
  const out: string[] = [wrap(doc.verdict, options.width ?? 100), '']
  for (const r of runs) {
    const rt = r.routing
    if (rt === undefined) continue
    const t = new Table({ head: head([`${r.mode}: policy`, 'mean ms', 'p99 ms', 'mean/ideal', 'p99/ideal', 'Jain', 'max/mean', 'lost']), style })
    for (const p of [rt.fedmesh, ...rt.variants, ...Object.values(rt.baselines), rt.ideal]) {
      t.push([p.name, n(p.meanMs, 1), n(p.p99Ms, 1), n(p.meanResponseVsIdeal), n(p.p99ResponseVsIdeal), n(p.jainIndex), n(p.maxOverMeanLoad), n(p.lost, 0)])
    }
    out.push(t.toString())
  }
  const g = new Table({ head: head(['goal', 'target', 'value', 'status']), style })
  for (const c of doc.goals) if (c.status !== 'n/a') g.push([c.goal, c.target, c.shown, paintGoal(colour, c)])
  out.push(g.toString())
  return out.join('\n')
}

/** pass, fail, or a miss the scenario expects (its reason is in the verdict and the HTML). */
export function goalStatus (c: GoalCheck): string {
  if (c.expected === undefined) return c.status
  return c.status === 'fail' ? 'fail (expected)' : `${c.status} (expected to fail)`
}

/** pass green, an unexpected fail red, an expected miss yellow. */
function paintGoal (colour: boolean, c: GoalCheck): string {
  const text = goalStatus(c)
  if (c.expected !== undefined) return paint(colour, 'yellow', text)
  return paint(colour, c.status === 'pass' ? 'green' : 'red', text)
}

function wrap (text: string, width: number): string {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line === '' ? word : `${line} ${word}`
  }
  if (line !== '') lines.push(line)
  return lines.join('\n')
}
