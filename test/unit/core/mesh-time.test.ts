import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MeshTime } from '../../../src/core/mesh-time.js'
import { DAY, HOUR, MINUTE, SECOND } from '../../../src/util/time.js'

const T0 = 1_750_000_000_000

/** A node's wall clock (which may be stepped) and monotonic clock, both under the test's hand. */
function clocks (skewMs = 0): { wall: { now: () => number }, monotonic: { now: () => number }, advance: (ms: number) => void, step: (ms: number) => void, true: () => number } {
  let t = T0
  let skew = skewMs
  return {
    wall: { now: () => t + skew },
    monotonic: { now: () => t - T0 },
    advance: (ms) => { t += ms },
    step: (ms) => { skew += ms },
    true: () => t
  }
}

/** A node `skewMs` off that has just heard two peers whose clocks are right. */
function heardTwoRightPeers (skewMs: number, init: { maxCorrectionMs?: number } = {}): { c: ReturnType<typeof clocks>, mesh: MeshTime } {
  const c = clocks(skewMs)
  const mesh = new MeshTime({ ...c, ...init })
  mesh.record('a', c.true())
  mesh.record('b', c.true())
  return { c, mesh }
}

describe('MeshTime', () => {
  it('alone: the reference is the node\'s own clock, and there is no offset to show', () => {
    const c = clocks(DAY)
    const view = new MeshTime(c).view()
    expect(view).toMatchObject({ clocks: 1, referenceMs: c.wall.now(), capped: false })
    expect(view.offsetMs).toBeUndefined()
  })

  it('a node a day ahead learns it from two peers, and the reference is their time', () => {
    const c = clocks(DAY)
    const mesh = new MeshTime(c)
    mesh.record('a', c.true())
    mesh.record('b', c.true() + 20)
    const view = mesh.view()
    expect(view.clocks).toBe(3)
    expect(view.offsetMs).toBe(DAY - 20)
    expect(view.referenceMs).toBe(c.true() + 20)
    expect(view.lowestPeerMs).toBe(c.true())
  })

  it('one liar among three clocks cannot move the median outside the honest ones', () => {
    for (const lie of [-30 * DAY, -DAY, DAY, 30 * DAY]) {
      const c = clocks()
      const mesh = new MeshTime(c)
      mesh.record('honest', c.true() + 5 * SECOND)
      mesh.record('liar', c.true() + lie)
      const { medianMs } = mesh.view()
      expect(medianMs).toBeGreaterThanOrEqual(c.true())
      expect(medianMs).toBeLessThanOrEqual(c.true() + 5 * SECOND)
    }
  })

  it('with an even count the lower middle clock counts: half the clocks running fast do not move the mesh forward', () => {
    const c = clocks()
    const mesh = new MeshTime(c)
    mesh.record('honest', c.true())
    mesh.record('fast', c.true() + DAY)
    mesh.record('faster', c.true() + 5 * DAY)
    expect(mesh.view()).toMatchObject({ clocks: 4, medianMs: c.true(), referenceMs: c.true() })
  })

  it('counts the transit of a reading: the peer\'s clock was read half a round trip before it arrived', () => {
    const c = clocks()
    const mesh = new MeshTime(c)
    mesh.record('a', c.true() - 40, 40)
    mesh.record('b', c.true() - 40, 40)
    expect(mesh.view().offsetMs).toBe(0)
  })

  it('remembers a peer\'s clock for an hour after it was last heard, following the monotonic clock', () => {
    const { c, mesh } = heardTwoRightPeers(DAY)
    c.advance(59 * MINUTE)
    expect(mesh.view()).toMatchObject({ clocks: 3, offsetMs: DAY })
    c.advance(2 * MINUTE)
    expect(mesh.view()).toMatchObject({ clocks: 1, referenceMs: c.wall.now() })
  })

  it('a step of the node\'s own wall clock (an operator fixing it) shows in the offset at once', () => {
    const { c, mesh } = heardTwoRightPeers(DAY)
    c.advance(10 * SECOND)
    expect(mesh.view().offsetMs).toBe(DAY)
    c.step(-DAY)
    expect(mesh.view().offsetMs).toBe(0)
  })

  it('corrects by at most maxCorrectionMs, and says when it cut the correction short', () => {
    const { c, mesh } = heardTwoRightPeers(5 * DAY, { maxCorrectionMs: 3.5 * DAY })
    const view = mesh.view()
    expect(view).toMatchObject({ capped: true, offsetMs: 5 * DAY, medianMs: c.true() })
    expect(view.referenceMs).toBe(c.wall.now() - 3.5 * DAY)
  })

  it('ignores implausible readings, keeps the most recently heard peers, forgets on request', () => {
    const c = clocks()
    const mesh = new MeshTime({ ...c, maxPeers: 2 })
    for (const bad of [Number.NaN, -1, 0, 1.5, 2 ** 48]) mesh.record('bad', bad)
    expect(mesh.view().clocks).toBe(1)
    mesh.record('a', c.true() + HOUR)
    mesh.record('b', c.true())
    mesh.record('c', c.true())
    // 'a' was heard first: evicted, so its hour ahead no longer counts.
    expect(mesh.view()).toMatchObject({ clocks: 3, offsetMs: 0 })
    mesh.forget('b')
    expect(mesh.view().clocks).toBe(2)
    expect(() => new MeshTime({ ...c, memoryMs: 0 })).toThrow(RangeError)
  })

  it('matches the median computed the slow way, whatever is recorded, forgotten, stepped or expired (property)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('record' as const), peer: fc.nat(6), aheadMs: fc.integer({ min: -2 * DAY, max: 2 * DAY }) }),
      fc.record({ kind: fc.constant('forget' as const), peer: fc.nat(6) }),
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 40 * MINUTE }) }),
      fc.record({ kind: fc.constant('step' as const), ms: fc.integer({ min: -DAY, max: DAY }) })
    )
    fc.assert(fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      const c = clocks()
      const mesh = new MeshTime({ ...c, maxPeers: 5 })
      // The slow way: every peer's clock now, kept while heard within the hour, the 5 newest.
      const model = new Map<string, { peerWall: number, heardAt: number }>()
      for (const o of ops) {
        if (o.kind === 'record') {
          mesh.record(`p${o.peer}`, c.true() + o.aheadMs)
          model.delete(`p${o.peer}`)
          model.set(`p${o.peer}`, { peerWall: c.true() + o.aheadMs, heardAt: c.true() })
          if (model.size > 5) model.delete(model.keys().next().value as string)
        } else if (o.kind === 'forget') {
          mesh.forget(`p${o.peer}`)
          model.delete(`p${o.peer}`)
        } else if (o.kind === 'advance') {
          c.advance(o.ms)
        } else {
          c.step(o.ms)
        }
        const live = [...model.values()].filter(p => c.true() - p.heardAt <= HOUR)
        const all = [c.wall.now(), ...live.map(p => p.peerWall + (c.true() - p.heardAt))].sort((x, y) => x - y)
        const view = mesh.view()
        expect(view.clocks).toBe(all.length)
        if (all.length > 1) expect(view.medianMs).toBe(all[(all.length - 1) >> 1])
      }
    }))
  })
})
