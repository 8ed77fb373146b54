import { describe, expect, it } from 'vitest'
import { CircuitBreakers, DEFAULT_BREAKER_PARAMS } from '../../../../src/core/routing/circuit-breaker.js'
import { MINUTE, SECOND } from '../../../../src/util/time.js'

const T0 = 1_000_000

describe('CircuitBreakers', () => {
  it('stays closed below the threshold and opens at it, for the cooldown', () => {
    const b = new CircuitBreakers()
    b.failure('p', T0)
    b.failure('p', T0)
    expect(b.isOpen('p', T0)).toBe(false)
    b.failure('p', T0)
    expect(b.isOpen('p', T0)).toBe(true)
    expect(b.isOpen('p', T0 + 5 * SECOND - 1)).toBe(true)
    // Half-open after the cooldown: a task may try again.
    expect(b.isOpen('p', T0 + 5 * SECOND)).toBe(false)
  })

  it('counts consecutive failures only: a success in between closes and resets', () => {
    const b = new CircuitBreakers()
    b.failure('p', T0)
    b.failure('p', T0)
    b.success('p')
    b.failure('p', T0)
    b.failure('p', T0)
    expect(b.isOpen('p', T0)).toBe(false)
  })

  it('a failed half-open trial re-opens at once, the cooldown doubling up to the maximum', () => {
    const b = new CircuitBreakers()
    let now = T0
    for (let i = 0; i < 3; i++) b.failure('p', now)
    const cooldowns: number[] = []
    for (let round = 0; round < 8; round++) {
      // Find when it half-opens: the first ms at which isOpen turns false.
      let lo = now
      let hi = now + 10 * MINUTE
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2)
        if (b.isOpen('p', mid)) lo = mid + 1
        else hi = mid
      }
      cooldowns.push(lo - now)
      now = lo
      b.failure('p', now) // the one trial fails
      expect(b.isOpen('p', now)).toBe(true)
    }
    expect(cooldowns).toEqual([5, 10, 20, 40, 80, 120, 120, 120].map(s => s * SECOND))
  })

  it('a successful half-open trial closes it and the next opening starts from the first cooldown again', () => {
    const b = new CircuitBreakers()
    for (let i = 0; i < 3; i++) b.failure('p', T0)
    const t1 = T0 + 5 * SECOND
    b.failure('p', t1) // re-open for 10 s
    expect(b.isOpen('p', t1 + 9 * SECOND)).toBe(true)
    b.success('p')
    expect(b.isOpen('p', t1)).toBe(false)
    b.failure('p', t1) // one failure after closing does not open it
    expect(b.isOpen('p', t1)).toBe(false)
    b.failure('p', t1)
    b.failure('p', t1)
    expect(b.isOpen('p', t1 + 5 * SECOND - 1)).toBe(true)
    expect(b.isOpen('p', t1 + 5 * SECOND)).toBe(false)
  })

  it('keeps peers apart', () => {
    const b = new CircuitBreakers()
    for (let i = 0; i < 3; i++) b.failure('a', T0)
    b.failure('b', T0)
    expect(b.isOpen('a', T0)).toBe(true)
    expect(b.isOpen('b', T0)).toBe(false)
    expect(b.isOpen('never-seen', T0)).toBe(false)
  })

  it('tracks at most maxPeers, forgetting the oldest first', () => {
    const b = new CircuitBreakers({ ...DEFAULT_BREAKER_PARAMS, threshold: 2, maxPeers: 2 })
    b.failure('a', T0)
    b.failure('b', T0)
    b.failure('c', T0) // a is forgotten
    b.failure('b', T0) // b was kept: its second failure opens it
    expect(b.isOpen('b', T0)).toBe(true)
    b.failure('a', T0) // a starts over from one failure
    expect(b.isOpen('a', T0)).toBe(false)
  })

  it('follows its parameters', () => {
    const b = new CircuitBreakers({ threshold: 1, cooldownMs: 100, maxCooldownMs: 150, maxPeers: 10 })
    b.failure('p', 0)
    expect(b.isOpen('p', 99)).toBe(true)
    expect(b.isOpen('p', 100)).toBe(false)
    b.failure('p', 100)
    expect(b.isOpen('p', 100 + 149)).toBe(true)
    expect(b.isOpen('p', 100 + 150)).toBe(false)
  })
})
