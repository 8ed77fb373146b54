/**
 * Inline SVG plots, generated here so report.html opens offline with no library: a line chart
 * (CDFs, load per peer, convergence, reputation over time) and a lane chart (federated/solo per
 * node through a partition). Plain strings; every text is escaped.
 */

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#17becf', '#bcbd22']
/**
 * Series differ by more than colour (colour-blind readers, grey print): each has its own dash
 * pattern and marker shape, in the plot and in the legend.
 */
const DASHES = ['', '7 3', '2 3', '9 3 2 3', '4 4', '12 3 3 3 3 3']
const MARKERS = ['circle', 'square', 'triangle', 'diamond', 'cross', 'plus'] as const
/** Markers drawn along each line. */
const MARKS_PER_LINE = 7

export interface Series {
  name: string
  points: Array<[number, number]>
  color?: string
  dashed?: boolean
}

export interface LineChartOptions {
  title: string
  xLabel: string
  yLabel: string
  series: Series[]
  logX?: boolean
  xMin?: number
  xMax?: number
  yMin?: number
  yMax?: number
  /** Horizontal reference lines (thresholds). */
  hLines?: Array<{ y: number, label: string }>
  /** Vertical reference lines (events). */
  vLines?: Array<{ x: number, label: string }>
  width?: number
  height?: number
  /** Draw steps (for CDFs) instead of straight segments. */
  step?: boolean
}

export function esc (s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/** Round tick values for [lo, hi]. */
function ticks (lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo]
  const raw = (hi - lo) / n
  const mag = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 2.5, 5, 10].map(m => m * mag).find(s => s >= raw) ?? raw
  const out: number[] = []
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)))
  return out
}

function logTicks (lo: number, hi: number): number[] {
  const out: number[] = []
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e
      if (v >= lo && v <= hi) out.push(v)
    }
  }
  return out
}

/** The largest 1, 2 or 5 × 10^k at or below `v` (> 0): a log axis's start. */
export function niceFloor (v: number): number {
  const mag = 10 ** Math.floor(Math.log10(v))
  return [5, 2, 1].map(m => m * mag).find(c => c <= v) ?? mag
}

/** A marker of `shape` centred on (x, y). */
function marker (shape: typeof MARKERS[number], x: number, y: number, color: string): string {
  const r = 3.2
  const at = (dx: number, dy: number): string => `${(x + dx).toFixed(1)},${(y + dy).toFixed(1)}`
  switch (shape) {
    case 'circle': return `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${r}" fill="${color}"/>`
    case 'square': return `<rect x="${(x - r).toFixed(1)}" y="${(y - r).toFixed(1)}" width="${2 * r}" height="${2 * r}" fill="${color}"/>`
    case 'triangle': return `<polygon points="${at(0, -r - 0.6)} ${at(r, r)} ${at(-r, r)}" fill="${color}"/>`
    case 'diamond': return `<polygon points="${at(0, -r - 0.8)} ${at(r + 0.8, 0)} ${at(0, r + 0.8)} ${at(-r - 0.8, 0)}" fill="${color}"/>`
    case 'cross': return `<path d="M${at(-r, -r)}L${at(r, r)}M${at(-r, r)}L${at(r, -r)}" stroke="${color}" stroke-width="1.8"/>`
    case 'plus': return `<path d="M${at(-r - 0.6, 0)}L${at(r + 0.6, 0)}M${at(0, -r - 0.6)}L${at(0, r + 0.6)}" stroke="${color}" stroke-width="1.8"/>`
  }
}

export function fmt (v: number): string {
  if (!Number.isFinite(v)) return '∞'
  const a = Math.abs(v)
  if (a >= 10_000) return `${Math.round(v / 1000)}k`
  if (a >= 100) return String(Math.round(v))
  if (a >= 1) return String(Math.round(v * 100) / 100)
  return String(Math.round(v * 1000) / 1000)
}

export function lineChart (o: LineChartOptions): string {
  const W = o.width ?? 640
  const H = o.height ?? 320
  const m = { l: 60, r: 150, t: 30, b: 45 }
  const pw = W - m.l - m.r
  const ph = H - m.t - m.b
  const all = o.series.flatMap(s => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (o.logX !== true || x > 0))
  let xMin = o.xMin ?? Math.min(...all.map(p => p[0]))
  let xMax = o.xMax ?? Math.max(...all.map(p => p[0]))
  let yMin = o.yMin ?? Math.min(0, ...all.map(p => p[1]))
  let yMax = o.yMax ?? Math.max(...all.map(p => p[1]))
  if (!Number.isFinite(xMin) || !Number.isFinite(xMax)) { xMin = 0; xMax = 1 }
  if (!Number.isFinite(yMin) || !Number.isFinite(yMax)) { yMin = 0; yMax = 1 }
  if (xMax <= xMin) xMax = xMin + 1
  if (yMax <= yMin) yMax = yMin + 1
  const lx = (v: number): number => (o.logX === true ? Math.log10(Math.max(v, xMin)) : v)
  const X = (v: number): number => m.l + ((lx(v) - lx(xMin)) / (lx(xMax) - lx(xMin))) * pw
  const Y = (v: number): number => m.t + ph - ((Math.min(Math.max(v, yMin), yMax) - yMin) / (yMax - yMin)) * ph
  const parts: string[] = []
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" class="plot" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(o.title)}">`)
  parts.push(`<text x="${m.l}" y="18" class="t">${esc(o.title)}</text>`)
  const xt = o.logX === true ? logTicks(xMin, xMax) : ticks(xMin, xMax)
  for (const v of xt) {
    parts.push(`<line x1="${X(v).toFixed(1)}" y1="${m.t}" x2="${X(v).toFixed(1)}" y2="${m.t + ph}" class="g"/>`)
    parts.push(`<text x="${X(v).toFixed(1)}" y="${m.t + ph + 15}" class="tx">${fmt(v)}</text>`)
  }
  for (const v of ticks(yMin, yMax)) {
    parts.push(`<line x1="${m.l}" y1="${Y(v).toFixed(1)}" x2="${m.l + pw}" y2="${Y(v).toFixed(1)}" class="g"/>`)
    parts.push(`<text x="${m.l - 6}" y="${(Y(v) + 4).toFixed(1)}" class="ty">${fmt(v)}</text>`)
  }
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" class="frame"/>`)
  parts.push(`<text x="${m.l + pw / 2}" y="${H - 8}" class="tx">${esc(o.xLabel)}</text>`)
  parts.push(`<text transform="translate(14 ${m.t + ph / 2}) rotate(-90)" class="tx">${esc(o.yLabel)}</text>`)
  for (const h of o.hLines ?? []) {
    if (h.y < yMin || h.y > yMax) continue
    parts.push(`<line x1="${m.l}" y1="${Y(h.y).toFixed(1)}" x2="${m.l + pw}" y2="${Y(h.y).toFixed(1)}" class="ref"/><text x="${m.l + 4}" y="${(Y(h.y) - 4).toFixed(1)}" class="rl">${esc(h.label)}</text>`)
  }
  for (const v of o.vLines ?? []) {
    if (v.x < xMin || v.x > xMax) continue
    parts.push(`<line x1="${X(v.x).toFixed(1)}" y1="${m.t}" x2="${X(v.x).toFixed(1)}" y2="${m.t + ph}" class="ref"/><text x="${(X(v.x) + 3).toFixed(1)}" y="${m.t + 12}" class="rl">${esc(v.label)}</text>`)
  }
  o.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]
    const dash = s.dashed === true ? '5 3' : DASHES[i % DASHES.length]
    const dashAttr = dash === '' ? '' : ` stroke-dasharray="${dash}"`
    const shape = MARKERS[i % MARKERS.length]
    // Within the axes only (a log axis may start after the first points).
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (o.logX !== true || x > 0) && x >= xMin && x <= xMax)
    if (pts.length > 0) {
      let d = ''
      pts.forEach(([x, y], k) => {
        if (k === 0) d += `M${X(x).toFixed(1)},${Y(y).toFixed(1)}`
        else if (o.step === true) d += `H${X(x).toFixed(1)}V${Y(y).toFixed(1)}`
        else d += `L${X(x).toFixed(1)},${Y(y).toFixed(1)}`
      })
      parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.8"${dashAttr}><title>${esc(s.name)}</title></path>`)
      // Markers spread along the line, each series offset a little so they do not sit on one another.
      const marks = Math.min(MARKS_PER_LINE, pts.length)
      for (let k = 0; k < marks; k++) {
        const idx = Math.min(pts.length - 1, Math.floor(((k + (i % 3) / 3 + 0.5) / marks) * (pts.length - 1)))
        parts.push(marker(shape, X(pts[idx][0]), Y(pts[idx][1]), color))
      }
    }
    const ly = m.t + 10 + i * 16
    parts.push(`<line x1="${m.l + pw + 10}" y1="${ly}" x2="${m.l + pw + 34}" y2="${ly}" stroke="${color}" stroke-width="2"${dashAttr}/>${marker(shape, m.l + pw + 22, ly, color)}<text x="${m.l + pw + 39}" y="${ly + 4}" class="lg">${esc(s.name)}</text>`)
  })
  parts.push('</svg>')
  return parts.join('')
}

export interface Lane { label: string, segments: Array<{ from: number, to: number, state: string }> }

/** One row per lane, coloured by state over time (the federated/solo timeline). */
export function laneChart (title: string, lanes: Lane[], colors: Record<string, string>, xMax: number, marks: Array<{ x: number, label: string }> = []): string {
  const W = 640
  const rowH = 14
  const m = { l: 110, r: 20, t: 30, b: 40 }
  const pw = W - m.l - m.r
  const H = m.t + m.b + lanes.length * rowH
  const X = (v: number): number => m.l + (Math.min(Math.max(v, 0), xMax) / Math.max(1, xMax)) * pw
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" class="plot" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">`]
  // States after the first are hatched too, so they differ by more than colour.
  const fill = laneFills(title, colors)
  parts.push(`<defs>${fill.defs}</defs>`)
  parts.push(`<text x="${m.l}" y="18" class="t">${esc(title)}</text>`)
  lanes.forEach((lane, i) => {
    const y = m.t + i * rowH
    parts.push(`<text x="${m.l - 6}" y="${y + rowH - 4}" class="ty">${esc(lane.label)}</text>`)
    for (const s of lane.segments) {
      const w = Math.max(0.5, X(s.to) - X(s.from))
      parts.push(`<rect x="${X(s.from).toFixed(1)}" y="${y + 1}" width="${w.toFixed(1)}" height="${rowH - 2}" fill="${fill.of[s.state] ?? '#ccc'}"><title>${esc(`${lane.label}: ${s.state} ${fmt(s.from)}-${fmt(s.to)} ms`)}</title></rect>`)
    }
  })
  const yEnd = m.t + lanes.length * rowH
  for (const v of ticks(0, xMax)) parts.push(`<text x="${X(v).toFixed(1)}" y="${yEnd + 15}" class="tx">${fmt(v / 1000)} s</text>`)
  for (const mk of marks) parts.push(`<line x1="${X(mk.x).toFixed(1)}" y1="${m.t}" x2="${X(mk.x).toFixed(1)}" y2="${yEnd}" class="ref"/><text x="${(X(mk.x) + 3).toFixed(1)}" y="${m.t - 3}" class="rl">${esc(mk.label)}</text>`)
  let lx = m.l
  for (const state of Object.keys(colors)) {
    parts.push(`<rect x="${lx}" y="${yEnd + 24}" width="12" height="10" fill="${fill.of[state]}"/><text x="${lx + 16}" y="${yEnd + 33}" class="lg">${esc(state)}</text>`)
    lx += 100
  }
  parts.push('</svg>')
  return parts.join('')
}

/** Fills per state: the first plain, the others hatched in their colour (ids unique per chart). */
function laneFills (title: string, colors: Record<string, string>): { defs: string, of: Record<string, string> } {
  const key = title.replace(/[^A-Za-z0-9]/g, '').slice(0, 24)
  const of: Record<string, string> = {}
  let defs = ''
  Object.entries(colors).forEach(([state, color], i) => {
    if (i === 0) {
      of[state] = color
      return
    }
    const id = `hatch-${key}-${i}`
    defs += `<pattern id="${id}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="${color}" opacity="0.45"/><line x1="0" y1="0" x2="0" y2="6" stroke="${color}" stroke-width="3"/></pattern>`
    of[state] = `url(#${id})`
  })
  return { defs, of }
}
