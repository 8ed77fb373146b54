import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { SECOND } from '../../../src/util/time.js'
import {
  ConnectivityMonitor, DEFAULT_LIVENESS_MS, RECOMMENDED_TICK_MS, type ConnectivityTransition
} from '../../../src/core/connectivity.js'

/**
 * Drives a monitor the way the service does: heartbeats at the given times from one peer, and a
 * tick every RECOMMENDED_TICK_MS, until `end`. Returns every transition, in order.
 */
function drive (monitor: ConnectivityMonitor, heartbeats: number[], start: number, end: number, peer = 'a'): ConnectivityTransition[] {
  const out: ConnectivityTransition[] = []
  const pending = [...heartbeats].sort((x, y) => x - y)
  for (let t = start; t <= end; t += RECOMMENDED_TICK_MS) {
    while (pending.length > 0 && pending[0] <= t) {
      const tr = monitor.heartbeat(peer, pending.shift()!)
      if (tr !== undefined) out.push(tr)
    }
    const tr = monitor.tick(t)
    if (tr !== undefined) out.push(tr)
  }
  return out
}

function every (from: number, to: number, step: number): number[] {
  const out: number[] = []
  for (let t = from; t <= to; t += step) out.push(t)
  return out
}

describe('ConnectivityMonitor', () => {
  it('starts solo with no transitions', () => {
    const m = new ConnectivityMonitor({ now: 500 })
    expect(m.mode).toBe('solo')
    expect(m.since).toBe(500)
    expect(m.transitions).toBe(0)
    expect(m.livePeers()).toEqual([])
    expect(m.expiresAt()).toBeUndefined()
  })

  it('becomes federated on the second heartbeat of a peer, one advert interval after the first', () => {
    const m = new ConnectivityMonitor()
    expect(m.heartbeat('a', 1000)).toBeUndefined()
    expect(m.mode).toBe('solo')
    expect(m.heartbeat('a', 2000)).toEqual({ from: 'solo', to: 'federated', at: 2000 })
    expect(m.mode).toBe('federated')
    expect(m.since).toBe(2000)
    expect(m.transitions).toBe(1)
    expect(m.livePeers()).toEqual(['a'])
    expect(m.expiresAt()).toBe(2000 + DEFAULT_LIVENESS_MS)
  })

  it('with confirmHeartbeats: 1, the first heartbeat is enough', () => {
    const m = new ConnectivityMonitor({ confirmHeartbeats: 1 })
    expect(m.heartbeat('a', 10)?.to).toBe('federated')
  })

  it('goes solo within 3 s of the last heartbeat when a link dies silently, and not before 2.5 s', () => {
    const m = new ConnectivityMonitor()
    const beats = every(0, 10 * SECOND, SECOND)
    const transitions = drive(m, beats, 0, 20 * SECOND)
    expect(transitions.map(t => t.to)).toEqual(['federated', 'solo'])
    const cut = transitions[1].at - beats[beats.length - 1]
    expect(cut).toBeGreaterThanOrEqual(DEFAULT_LIVENESS_MS)
    expect(cut).toBeLessThanOrEqual(3 * SECOND)
    expect(m.mode).toBe('solo')
    expect(m.since).toBe(transitions[1].at)
    expect(m.livePeers()).toEqual([])
  })

  it('judges a peer that says it beats slower (an idle node) by its own window, and by the usual one once it beats fast again', () => {
    const m = new ConnectivityMonitor()
    const idleWindow = 12.5 * SECOND
    // Ads every 5 s, each saying so: never solo in between.
    for (let t = 0; t <= 30 * SECOND; t += 5 * SECOND) {
      m.heartbeat('a', t, idleWindow)
      m.tick(t + 4_900)
      expect(m.livePeers(t + 4_900)).toEqual(t === 0 ? [] : ['a'])
    }
    expect(m.shortestWindowMs()).toBe(idleWindow)
    // Silent after the last one at 30 s: solo once its window has passed, not before.
    expect(m.tick(30 * SECOND + idleWindow - 1)).toBeUndefined()
    expect(m.tick(30 * SECOND + idleWindow)?.to).toBe('solo')
    // Busy again: its ads say so, and a silence is noticed within the usual window.
    const m2 = new ConnectivityMonitor()
    m2.heartbeat('a', 0, idleWindow)
    m2.heartbeat('a', 5_000, idleWindow)
    m2.heartbeat('a', 6_000, DEFAULT_LIVENESS_MS)
    expect(m2.shortestWindowMs()).toBe(DEFAULT_LIVENESS_MS)
    expect(m2.tick(6_000 + DEFAULT_LIVENESS_MS)?.to).toBe('solo')
  })

  it('never shortens a peer\'s window below livenessMs, and keeps it for heartbeats that say nothing of it', () => {
    const m = new ConnectivityMonitor()
    m.heartbeat('a', 0, 100)
    expect(m.shortestWindowMs()).toBe(DEFAULT_LIVENESS_MS)
    m.heartbeat('a', 1_000, 10 * SECOND)
    m.heartbeat('a', 2_000) // a task frame: no interval news
    expect(m.shortestWindowMs()).toBe(10 * SECOND)
    expect(m.tick(11_999)).toBeUndefined()
    expect(m.tick(12_000)?.to).toBe('solo')
  })

  it('rides out jittered and single lost adverts', () => {
    const m = new ConnectivityMonitor()
    // 1 s adverts, every fifth one lost, and its neighbours 200 ms early and late: 2.4 s gaps.
    const beats = every(0, 60 * SECOND, SECOND)
      .map((t, i) => t + (i % 5 === 2 ? -200 : i % 5 === 4 ? 200 : 0))
      .filter((_, i) => i % 5 !== 3)
    expect(Math.max(...beats.slice(1).map((t, i) => t - beats[i]))).toBe(2400)
    const transitions = drive(m, beats.filter(t => t >= 0), 0, 60 * SECOND)
    expect(transitions.map(t => t.to)).toEqual(['federated'])
  })

  it('returns to federated after a heal and counts each transition', () => {
    const m = new ConnectivityMonitor()
    const beats = [
      ...every(0, 5 * SECOND, SECOND), // up
      ...every(15 * SECOND, 20 * SECOND, SECOND), // healed after a 10 s partition
      ...every(30 * SECOND, 35 * SECOND, SECOND) // and again
    ]
    const transitions = drive(m, beats, 0, 45 * SECOND)
    expect(transitions.map(t => t.to)).toEqual(['federated', 'solo', 'federated', 'solo', 'federated', 'solo'])
    expect(m.transitions).toBe(6)
    // Each heal is noticed on the second advert after it.
    expect(transitions[2].at).toBe(16 * SECOND)
    expect(transitions[4].at).toBe(31 * SECOND)
  })

  it('does not flap on a link that delivers only stray heartbeats', () => {
    const m = new ConnectivityMonitor()
    // One advert gets through every 2.6-4 s: never two within the liveness window.
    const beats: number[] = []
    for (let t = 0, i = 0; t < 120 * SECOND; i++) {
      beats.push(t)
      t += 2600 + (i * 389) % 1400
    }
    const transitions = drive(m, beats, 0, 120 * SECOND)
    expect(transitions).toEqual([])
    expect(m.mode).toBe('solo')
    expect(m.transitions).toBe(0)
  })

  it('does not flap on a peer that reconnects in a loop and says one thing each time', () => {
    const m = new ConnectivityMonitor()
    for (let t = 0; t < 60 * SECOND; t += 500) {
      expect(m.heartbeat('loop', t)).toBeUndefined()
      expect(m.lost('loop', t + 200)).toBeUndefined()
    }
    expect(m.transitions).toBe(0)
  })

  it('a closed connection ends liveness at once; other live peers keep the node federated', () => {
    const m = new ConnectivityMonitor()
    m.heartbeat('a', 0); m.heartbeat('b', 100)
    m.heartbeat('a', 1000); m.heartbeat('b', 1100)
    expect(m.livePeers()).toEqual(['a', 'b'])
    expect(m.lost('a', 1200)).toBeUndefined()
    expect(m.mode).toBe('federated')
    expect(m.livePeers()).toEqual(['b'])
    expect(m.lost('b', 1300)).toEqual({ from: 'federated', to: 'solo', at: 1300 })
    expect(m.lost('nobody', 1400)).toBeUndefined()
    // After a lost connection the peer must confirm again.
    expect(m.heartbeat('a', 1500)).toBeUndefined()
    expect(m.heartbeat('a', 2500)?.to).toBe('federated')
  })

  it('ignores duplicate and out-of-order heartbeats', () => {
    const m = new ConnectivityMonitor()
    m.heartbeat('a', 5000)
    expect(m.heartbeat('a', 5000)).toBeUndefined()
    expect(m.heartbeat('a', 4000)).toBeUndefined()
    expect(m.heartbeat('a', Number.NaN)).toBeUndefined()
    expect(m.mode).toBe('solo')
    // A late event does not rewind the clock: the mode is judged at the latest time seen.
    m.heartbeat('a', 6000)
    expect(m.mode).toBe('federated')
    expect(m.tick(9000)?.to).toBe('solo')
    expect(m.tick(1000)).toBeUndefined()
    expect(m.mode).toBe('solo')
  })

  it('forgets expired peers so its memory follows the live set', () => {
    const m = new ConnectivityMonitor()
    for (let i = 0; i < 1000; i++) m.heartbeat(`p${i}`, i)
    m.tick(10 * SECOND)
    m.heartbeat('x', 10 * SECOND + 1)
    m.heartbeat('x', 10 * SECOND + 2)
    expect(m.livePeers()).toEqual(['x'])
    expect((m as unknown as { peers: Map<string, unknown> }).peers.size).toBe(1)
  })

  it('mode always agrees with the live set, and every transition is reported once', () => {
    const event = fc.record({
      kind: fc.constantFrom('heartbeat', 'heartbeat', 'heartbeat', 'lost', 'tick'),
      peer: fc.constantFrom('a', 'b', 'c'),
      dt: fc.integer({ min: 0, max: 4000 })
    })
    fc.assert(fc.property(fc.array(event, { maxLength: 200 }), (events) => {
      const m = new ConnectivityMonitor()
      let t = 0
      let reported = 0
      for (const e of events) {
        t += e.dt
        const tr = e.kind === 'heartbeat' ? m.heartbeat(e.peer, t) : e.kind === 'lost' ? m.lost(e.peer, t) : m.tick(t)
        if (tr !== undefined) {
          reported++
          expect(tr.from).not.toBe(tr.to)
          expect(tr.to).toBe(m.mode)
          expect(m.since).toBe(t)
        }
        expect(m.mode).toBe(m.livePeers(t).length > 0 ? 'federated' : 'solo')
      }
      expect(m.transitions).toBe(reported)
    }))
  })

  it('forgives this process\'s own stall: the time it could not listen is nobody\'s silence', () => {
    const m = new ConnectivityMonitor({ livenessMs: 2 * SECOND, now: 0 })
    m.heartbeat('a', 0)
    m.heartbeat('a', 1 * SECOND)
    expect(m.mode).toBe('federated')
    // 5 s stall from 1.2 s: a's heartbeats sent meanwhile are read at 6.2 s.
    m.forgive(5 * SECOND, 6.2 * SECOND)
    m.heartbeat('a', 6.2 * SECOND)
    expect(m.tick(6.2 * SECOND)).toBeUndefined()
    expect(m.livePeers()).toEqual(['a'])
    // Without the forgiveness the same heartbeat starts a new run: a is not live.
    const n = new ConnectivityMonitor({ livenessMs: 2 * SECOND, now: 0 })
    n.heartbeat('a', 0)
    n.heartbeat('a', 1 * SECOND)
    n.heartbeat('a', 6.2 * SECOND)
    expect(n.livePeers()).toEqual([])
    // Forgiveness moves nobody into the future, and a peer silent after it still expires.
    m.forgive(60 * SECOND, 6.3 * SECOND)
    m.tick(8.4 * SECOND)
    expect(m.livePeers()).toEqual([])
    expect(m.mode).toBe('solo')
  })

  it('forgiveness is bounded: on a machine that stalls all the time a dead peer still expires', () => {
    const m = new ConnectivityMonitor({ livenessMs: 1 * SECOND, maxForgiveMs: 2 * SECOND, now: 0 })
    m.heartbeat('a', 0)
    m.heartbeat('a', 500)
    expect(m.mode).toBe('federated')
    // a dies at 0.5 s; every tick from then on comes 0.9 s late.
    let t = 500
    while (m.mode === 'federated' && t < 60 * SECOND) {
      t += 1_150
      m.forgive(900, t)
      m.tick(t)
    }
    expect(m.mode).toBe('solo')
    // Expired within liveness + maxForgiveMs of its last heartbeat, give or take one late tick.
    expect(t - 500).toBeLessThanOrEqual(1 * SECOND + 2 * SECOND + 1_150)
  })
})
