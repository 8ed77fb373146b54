import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  VivaldiClient, estimateRttMs, isValidCoordinate, originCoordinate,
  DEFAULT_DIMENSIONALITY, DEFAULT_ERROR_MAX, MAX_RTT_MS, type Coordinate
} from '../../../src/core/vivaldi.js'

/** mulberry32: a small seeded PRNG, so every run of these tests sees the same "network". */
function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

/**
 * A synthetic network: nodes at points in a plane plus an access-link height each, so true RTTs
 * are Euclidean distance + both heights, 5-150 ms. Measurements add jitter (0-10%) and now and
 * then a delayed ping (2-4x), which the latency filter should ride out.
 */
function syntheticNetwork (n: number, random: () => number): { rtt: (i: number, j: number) => number, measure: (i: number, j: number) => number } {
  const side = 92 // diagonal ~130 ms, plus up to 2 x 10 ms of height
  const pos = Array.from({ length: n }, () => [random() * side, random() * side])
  const height = Array.from({ length: n }, () => 2.5 + random() * 7.5)
  const rtt = (i: number, j: number): number => Math.hypot(pos[i][0] - pos[j][0], pos[i][1] - pos[j][1]) + height[i] + height[j]
  const measure = (i: number, j: number): number => {
    const jitter = 1 + random() * 0.1
    const outlier = random() < 0.03 ? 2 + random() * 2 : 1
    return rtt(i, j) * jitter * outlier
  }
  return { rtt, measure }
}

describe('Vivaldi coordinates', () => {
  it('starts at the origin with maximal error', () => {
    const client = new VivaldiClient({ random: prng(1) })
    const c = client.coordinate()
    expect(c).toEqual(originCoordinate())
    expect(c.vec).toHaveLength(DEFAULT_DIMENSIONALITY)
    expect(c.error).toBe(DEFAULT_ERROR_MAX)
    // The copy is the caller's: mutating it does not move the client.
    c.vec[0] = 1e9
    expect(client.coordinate().vec[0]).toBe(0)
  })

  it('converges on a synthetic 80-node network to a median relative error within 15%', () => {
    const random = prng(0xfed)
    const n = 80
    const net = syntheticNetwork(n, random)
    const clients = Array.from({ length: n }, () => new VivaldiClient({ random }))
    const rounds = 250
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < n; i++) {
        let j = Math.floor(random() * (n - 1))
        if (j >= i) j++
        clients[i].update(`n${j}`, clients[j].coordinate(), net.measure(i, j))
      }
    }
    const errors: number[] = []
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const truth = net.rtt(i, j)
        const est = estimateRttMs(clients[i].coordinate(), clients[j].coordinate())
        errors.push(Math.abs(est - truth) / truth)
      }
    }
    const med = median(errors)
    const p90 = [...errors].sort((a, b) => a - b)[Math.floor(errors.length * 0.9)]
    console.info(`vivaldi: ${n} nodes, ${n * rounds} updates: median relative error ${(med * 100).toFixed(1)}%, p90 ${(p90 * 100).toFixed(1)}%`)
    expect(med).toBeLessThanOrEqual(0.15)
    // The client's own estimate agrees with the free function, and errors settled well below max.
    expect(clients[0].estimateRttMs(clients[1].coordinate())).toBeCloseTo(estimateRttMs(clients[0].coordinate(), clients[1].coordinate()), 9)
    expect(median(clients.map(c => c.coordinate().error))).toBeLessThan(0.5)
  })

  it('learns a single link quickly and ignores one delayed ping', () => {
    const random = prng(7)
    const a = new VivaldiClient({ random })
    const b = new VivaldiClient({ random })
    for (let k = 0; k < 30; k++) {
      a.update('b', b.coordinate(), 40)
      b.update('a', a.coordinate(), 40)
    }
    expect(a.estimateRttMs(b.coordinate())).toBeCloseTo(40, 0)
    const before = a.estimateRttMs(b.coordinate())
    a.update('b', b.coordinate(), 400)
    expect(Math.abs(a.estimateRttMs(b.coordinate()) - before)).toBeLessThan(1)
  })

  describe('isValidCoordinate', () => {
    const good = originCoordinate()
    it('accepts a well-formed coordinate and rejects garbage', () => {
      expect(isValidCoordinate(good)).toBe(true)
      expect(isValidCoordinate({ ...good, vec: [1, 2, 3] })).toBe(false)
      expect(isValidCoordinate(good, 4)).toBe(false)
      expect(isValidCoordinate({ ...good, vec: [...good.vec.slice(1), Number.NaN] })).toBe(false)
      expect(isValidCoordinate({ ...good, vec: [...good.vec.slice(1), Infinity] })).toBe(false)
      expect(isValidCoordinate({ ...good, vec: [...good.vec.slice(1), 1e12] })).toBe(false)
      expect(isValidCoordinate({ ...good, vec: [...good.vec.slice(1), '1'] })).toBe(false)
      expect(isValidCoordinate({ ...good, error: -1 })).toBe(false)
      expect(isValidCoordinate({ ...good, error: Number.NaN })).toBe(false)
      expect(isValidCoordinate({ ...good, height: -5 })).toBe(false)
      expect(isValidCoordinate({ ...good, adjustment: -Infinity })).toBe(false)
      expect(isValidCoordinate({ vec: good.vec })).toBe(false)
      expect(isValidCoordinate(null)).toBe(false)
      expect(isValidCoordinate('coordinate')).toBe(false)
    })

    it('never throws on arbitrary input', () => {
      fc.assert(fc.property(fc.anything(), (x) => { isValidCoordinate(x) }))
    })
  })

  it('refuses garbage updates and stays where it was', () => {
    const random = prng(3)
    const a = new VivaldiClient({ random })
    const b = new VivaldiClient({ random })
    for (let k = 0; k < 10; k++) a.update('b', b.coordinate(), 20)
    const before = a.coordinate()
    const bad: Array<[Coordinate, number]> = [
      [{ ...b.coordinate(), vec: b.coordinate().vec.map(() => Number.NaN) }, 20],
      [{ ...b.coordinate(), vec: [1, 2] }, 20],
      [{ ...b.coordinate(), height: 1e15 }, 20],
      [b.coordinate(), Number.NaN],
      [b.coordinate(), -1],
      [b.coordinate(), Infinity],
      [b.coordinate(), MAX_RTT_MS + 1]
    ]
    for (const [coord, rtt] of bad) expect(a.update('b', coord, rtt)).toEqual(before)
    expect(a.stats).toEqual({ rejected: bad.length, resets: 0 })
  })

  it('stays finite and bounded when fed arbitrary valid-but-hostile coordinates and RTTs', () => {
    const extreme = fc.oneof(fc.constant(0), fc.constant(1e6), fc.constant(-1e6), fc.double({ min: -1e6, max: 1e6, noNaN: true }))
    const coordinate = fc.record({
      vec: fc.array(extreme, { minLength: DEFAULT_DIMENSIONALITY, maxLength: DEFAULT_DIMENSIONALITY }),
      error: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 10, noNaN: true })),
      adjustment: extreme,
      height: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1e6, noNaN: true }))
    })
    const rtt = fc.oneof(fc.constant(0), fc.constant(MAX_RTT_MS), fc.double({ min: 0, max: MAX_RTT_MS, noNaN: true }))
    fc.assert(fc.property(fc.array(fc.tuple(fc.constantFrom('p', 'q', 'r'), coordinate, rtt), { maxLength: 100 }), fc.integer(), (steps, seed) => {
      const client = new VivaldiClient({ random: prng(seed) })
      for (const [peer, coord, ms] of steps) {
        const c = client.update(peer, coord, ms)
        expect(isValidCoordinate(c)).toBe(true)
        expect(Number.isFinite(client.estimateRttMs(coord))).toBe(true)
        expect(client.estimateRttMs(coord)).toBeGreaterThanOrEqual(0)
      }
    }))
  })

  it('spreads nodes that start on top of each other, even with a degenerate random source', () => {
    const a = new VivaldiClient({ random: () => 0.5 })
    const b = new VivaldiClient({ random: () => 0.5 })
    for (let k = 0; k < 20; k++) {
      a.update('b', b.coordinate(), 10)
      b.update('a', a.coordinate(), 10)
    }
    expect(a.estimateRttMs(b.coordinate())).toBeCloseTo(10, 0)
  })

  it('bounds and forgets the per-peer latency samples', () => {
    const random = prng(9)
    const client = new VivaldiClient({ random, maxTrackedPeers: 5 })
    const other = new VivaldiClient({ random }).coordinate()
    for (let i = 0; i < 50; i++) client.update(`p${i}`, other, 10)
    const samples = (client as unknown as { latencySamples: Map<string, number[]> }).latencySamples
    expect([...samples.keys()]).toEqual(['p45', 'p46', 'p47', 'p48', 'p49'])
    client.forget('p49')
    expect(samples.has('p49')).toBe(false)
  })

  it('refuses to estimate across dimensionalities and to build a zero-dimensional client', () => {
    expect(() => estimateRttMs(originCoordinate(8), originCoordinate(4))).toThrow(RangeError)
    expect(() => new VivaldiClient({ random: Math.random, dimensionality: 0 })).toThrow(RangeError)
  })
})
