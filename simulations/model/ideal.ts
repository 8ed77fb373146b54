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
  let local = 0
  const windowEnd = s.durationMs
  const { x, y } = net
  const minRtt = s.network.minRttMs
  const span = Math.max(0, s.network.maxRttMs - s.network.minRttMs)

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
    for (let p = 0; p < n; p++) {
      if (usable[p] === 0) continue
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
      if (resp >= bestResp) continue
      if (churned[p] === 1 && start < w.upAt[p] && fin > w.downAt[p]) continue
      if (cut !== undefined && p !== o && !(net.reachable(o, p, arrive) && net.reachable(p, o, fin + ow))) continue
      best = p
      bestResp = resp
      bestStart = start
      bestFin = fin
    }
    const counted = t >= s.warmupMs
    if (counted) measured++
    if (best < 0) {
      if (counted) lost++
      continue
    }
    if (best === o) local++
    // Book the earliest slot of the chosen peer.
    let slot = offset[best]
    for (let j = offset[best] + 1; j < offset[best + 1]; j++) if (free[j] < free[slot]) slot = j
    free[slot] = bestFin
    let m = Infinity
    for (let j = offset[best]; j < offset[best + 1]; j++) if (free[j] < m) m = free[j]
    minFree[best] = m
    work[best] += Math.max(0, Math.min(bestFin, windowEnd) - bestStart)
    if (counted) responses.push(bestResp)
  }
  const utilisation = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const down = churned[i] === 1 ? Math.max(0, Math.min(windowEnd, w.upAt[i]) - Math.min(windowEnd, w.downAt[i])) : 0
    const up = windowEnd - down
    utilisation[i] = up > 0 ? work[i] / (w.concurrency[i] * up) : 0
  }
  return { responses: Float64Array.from(responses), measured, lost, utilisation, local }
}
