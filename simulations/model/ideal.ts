/**
 * The ideal scheduler: one omniscient central queue with exact, instant knowledge of every slot
 * of every peer (and of the future: which peers will crash, which are malicious, how slow each
 * is). Each task, in arrival order, goes to the slot where it will *finish* first, counting the
 * one-way trip there and back: tasks still pay the network, so the ratio of a policy to this one
 * measures the quality of its decisions, not the speed of light.
 *
 * It books slots (earliest-finish-time list scheduling), which no decentralised policy can do,
 * so it is a lower bound in practice, not a proven optimum.
 */
import { HONEST } from './world.js'
import type { World } from './world.js'

export interface IdealResult {
  responses: Float64Array
  measured: number
  lost: number
  /** Measured tasks no scheduler can answer within their budget (World.beyondBudget): booked, not in `responses`. */
  beyondBudget: number
  utilisation: Float64Array
  /** Tasks run on the origin itself. */
  local: number
}

export function runIdeal (w: World): IdealResult {
  const n = w.peers
  const offset = new Int32Array(n + 1)
  for (let i = 0; i < n; i++) offset[i + 1] = offset[i] + w.concurrency[i]
  const free = new Float64Array(offset[n])
  const minFree = new Float64Array(n)
  const work = new Float64Array(n)
  const usable = new Uint8Array(n)
  for (let i = 0; i < n; i++) usable[i] = w.malice[i] === HONEST ? 1 : 0
  const churned = new Uint8Array(n)
  for (let i = 0; i < n; i++) churned[i] = Number.isFinite(w.downAt[i]) ? 1 : 0
  const { trace, net } = w
  const s = w.scenario
  const cut = w.partition
  const responses: number[] = []
  let measured = 0
  let lost = 0
  let beyondBudget = 0
  let local = 0
  const windowEnd = s.durationMs
  const { x, y } = net
  const minRtt = s.network.minRttMs
  const span = Math.max(0, s.network.maxRttMs - s.network.minRttMs)
  let minSlow = Infinity
  for (let p = 0; p < n; p++) if (usable[p] === 1) minSlow = Math.min(minSlow, w.slow[p])
  const grid = new Grid(x, y, usable)
  // A peer at distance d cannot answer sooner than 2 one-way trips plus the fastest run time.
  const oneWayAt = (d: number): number => (minRtt + span * Math.min(1, d / Math.SQRT2)) / 2

  for (let k = 0; k < trace.length; k++) {
    const t = trace.at[k]
    const o = trace.origin[k]
    if (churned[o] === 1 && t >= w.downAt[o] && t < w.upAt[o]) continue // not accepted, as in the engine
    const svc = trace.service[k]
    const ox = x[o]
    const oy = y[o]
    let best = -1
    let bestResp = Infinity
    let bestStart = 0
    let bestFin = 0
    const floor = svc * minSlow
    // Peers nearest first, ring of grid cells by ring, until no farther peer can finish sooner.
    // Exactly the full scan's choice: the least response, the lowest peer index on a tie.
    grid.scan(ox, oy, (dMin) => 2 * oneWayAt(dMin) + floor <= bestResp, (p) => {
      let ow = 0
      if (p !== o) {
        const dx = ox - x[p]
        const dy = oy - y[p]
        ow = (minRtt + span * Math.min(1, Math.sqrt(dx * dx + dy * dy) / Math.SQRT2)) / 2
      }
      const arrive = t + ow
      const start = arrive > minFree[p] ? arrive : minFree[p]
      const fin = start + svc * w.slow[p]
      const resp = fin + ow - t
      if (resp > bestResp || (resp === bestResp && p > best)) return
      if (churned[p] === 1 && start < w.upAt[p] && fin > w.downAt[p]) return
      if (cut !== undefined && p !== o && !(net.reachable(o, p, arrive) && net.reachable(p, o, fin + ow))) return
      best = p
      bestResp = resp
      bestStart = start
      bestFin = fin
    })
    const counted = t >= s.warmupMs
    if (counted) measured++
    const beyond = w.beyondBudget[k] === 1
    if (counted && beyond) beyondBudget++
    if (best < 0) {
      if (counted && !beyond) lost++
      continue
    }
    if (best === o) local++
    // Book the earliest slot of the chosen peer.
    let slot = offset[best]
    for (let j = offset[best] + 1; j < offset[best + 1]; j++) if (free[j] < free[slot]) slot = j
    // A run past the task's budget ends at the budget, as the executor ends it.
    const end = beyond ? Math.min(bestFin, bestStart + s.workload.taskTimeoutMs) : bestFin
    free[slot] = end
    let m = Infinity
    for (let j = offset[best]; j < offset[best + 1]; j++) if (free[j] < m) m = free[j]
    minFree[best] = m
    work[best] += Math.max(0, Math.min(end, windowEnd) - bestStart)
    if (counted && !beyond) responses.push(bestResp)
  }
  const utilisation = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const down = churned[i] === 1 ? Math.max(0, Math.min(windowEnd, w.upAt[i]) - Math.min(windowEnd, w.downAt[i])) : 0
    const up = windowEnd - down
    utilisation[i] = up > 0 ? work[i] / (w.concurrency[i] * up) : 0
  }
  return { responses: Float64Array.from(responses), measured, lost, beyondBudget, utilisation, local }
}

/**
 * The usable peers bucketed in a square grid over the unit plane (about two per cell), so the
 * ideal looks at the peers near the origin first and stops as soon as the nearest unvisited
 * cells are too far to beat the best finish found: at 80 % load that is a few cells, not every
 * peer (10,000 peers x 240,000 tasks was most of model-10000's run time).
 */
class Grid {
  private readonly g: number
  private readonly cellStart: Int32Array
  private readonly members: Int32Array

  constructor (x: Float64Array, y: Float64Array, usable: Uint8Array) {
    let count = 0
    for (let p = 0; p < usable.length; p++) count += usable[p]
    this.g = Math.max(1, Math.min(256, Math.floor(Math.sqrt(count / 2))))
    const g = this.g
    const cellOf = new Int32Array(usable.length).fill(-1)
    const sizes = new Int32Array(g * g + 1)
    for (let p = 0; p < usable.length; p++) {
      if (usable[p] === 0) continue
      cellOf[p] = this.cell(x[p]) * g + this.cell(y[p])
      sizes[cellOf[p] + 1]++
    }
    this.cellStart = new Int32Array(g * g + 1)
    for (let c = 0; c < g * g; c++) this.cellStart[c + 1] = this.cellStart[c] + sizes[c + 1]
    this.members = new Int32Array(count)
    const fill = this.cellStart.slice(0, g * g)
    for (let p = 0; p < usable.length; p++) if (cellOf[p] >= 0) this.members[fill[cellOf[p]]++] = p
  }

  private cell (v: number): number {
    return Math.min(this.g - 1, Math.max(0, Math.floor(v * this.g)))
  }

  /**
   * Visit every peer in rings of cells around (px, py), ring r (Chebyshev distance r in cells)
   * before ring r + 1, while `more(least distance of any point of ring r)` holds.
   */
  scan (px: number, py: number, more: (dMin: number) => boolean, visit: (p: number) => void): void {
    const g = this.g
    const cx = this.cell(px)
    const cy = this.cell(py)
    const size = 1 / g
    for (let r = 0; r < g; r++) {
      // Any point in ring r is at least r - 1 cells away (the origin sits anywhere in its cell).
      if (r > 1 && !more((r - 1) * size)) return
      const x0 = cx - r
      const x1 = cx + r
      const y0 = cy - r
      const y1 = cy + r
      if (x0 < 0 && y0 < 0 && x1 >= g && y1 >= g) return
      for (let i = Math.max(0, x0); i <= Math.min(g - 1, x1); i++) {
        const edgeX = i === x0 || i === x1
        for (let j = Math.max(0, y0); j <= Math.min(g - 1, y1); j++) {
          if (!edgeX && j !== y0 && j !== y1) {
            // Inside the ring: jump to its far edge.
            j = y1 - 1
            continue
          }
          const c = i * g + j
          for (let m = this.cellStart[c]; m < this.cellStart[c + 1]; m++) visit(this.members[m])
        }
      }
    }
  }
}
