import Table from 'cli-table3'

/**
 * Tables for people that fit the terminal: 80 columns (or a wider TTY's width), the columns
 * marked `wide` only with `-o wide`, and `flex` columns (names, reasons) cut with `…` when the
 * rest would not fit. No borders (two spaces between columns), as kubectl and docker print them.
 */

export interface Column {
  head: string
  /** Shown only with `-o wide`. */
  wide?: boolean
  /** May be cut to fit (never below `min`, default the header's width or 6). */
  flex?: boolean
  min?: number
  align?: 'left' | 'right'
}

/** How a command's output is shown: the width to fit, `-o wide`, colour, and "now" for ages. */
export interface View {
  wide: boolean
  /** Columns to fit (ignored with `wide`). */
  width: number
  color: boolean
  now: number
}

export const DEFAULT_WIDTH = 80

export function defaultView (overrides: Partial<View> = {}): View {
  return { wide: false, width: DEFAULT_WIDTH, color: false, now: Date.now(), ...overrides }
}

const GAP = 2
const NO_BORDERS = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
  bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '',
  middle: ' '.repeat(GAP)
}

const ANSI = /\u001b\[[0-9;]*m/g

/** Display width of a cell (ANSI colour codes take no room; our text has no wide characters). */
export function textWidth (s: string): number {
  let n = 0
  for (const line of s.replace(ANSI, '').split('\n')) n = Math.max(n, [...line].length)
  return n
}

export function renderTable (columns: Column[], rows: Array<Array<string | number>>, view: View = defaultView()): string {
  const shown = columns.map((c, i) => ({ c, i })).filter(({ c }) => view.wide || c.wide !== true)
  const cells = rows.map(row => shown.map(({ i }) => String(row[i] ?? '')))
  const heads = shown.map(({ c }) => c.head)
  const widths = heads.map((h, j) => Math.max(textWidth(h), ...cells.map(r => textWidth(r[j]))))
  if (!view.wide) shrinkToFit(widths, shown.map(({ c }) => c), view.width)
  const table = new Table({
    head: heads,
    chars: NO_BORDERS,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
    colWidths: widths,
    colAligns: shown.map(({ c }) => c.align ?? 'left'),
    wordWrap: false,
    truncate: '…'
  })
  for (const row of cells) table.push(row)
  return table.toString().split('\n').map(l => l.trimEnd()).join('\n')
}

/** Cut the widest flex column, one character at a time, until the table fits (or nothing can give). */
function shrinkToFit (widths: number[], columns: Column[], limit: number): void {
  const total = (): number => widths.reduce((a, b) => a + b, 0) + GAP * (widths.length - 1)
  const floor = columns.map(c => c.min ?? Math.max(textWidth(c.head), 6))
  while (total() > limit) {
    let widest = -1
    for (let j = 0; j < widths.length; j++) {
      if (columns[j].flex === true && widths[j] > floor[j] && (widest < 0 || widths[j] > widths[widest])) widest = j
    }
    if (widest < 0) return
    widths[widest]--
  }
}
