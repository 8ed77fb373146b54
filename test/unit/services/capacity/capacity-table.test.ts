import { describe, expect, it } from 'vitest'
import { CapacityTable } from '../../../../src/services/capacity/capacity-table.js'
import { validateAd } from '../../../../src/services/capacity/validate-ad.js'
import { CapacityAd } from '../../../../src/wire/capacity.js'
import { manualClock } from '../../../helpers/unit-tasks.js'
import type { ValidatedAd } from '../../../../src/services/capacity/validate-ad.js'

function vad (seq: number, over: Partial<CapacityAd> = {}): ValidatedAd {
  const v = validateAd({
    ...CapacityAd.decode(new Uint8Array(0)), // every field at its default
    seq, name: 'n', cores: 4, freeMemoryMb: 1024, load: 0, queueDepth: 0, running: 0, concurrency: 4, queueLimit: 128,
    kinds: ['echo'], stats: [], intervalMs: 1000, ...over
  })
  if (typeof v === 'string') throw new Error(v)
  return v
}

describe('CapacityTable', () => {
  it('holds the latest ad per peer while it is fresh', () => {
    const clock = manualClock()
    const table = new CapacityTable({ clock })
    expect(table.update('a', vad(1, { queueDepth: 5 }))).toBe(true)
    expect(table.get('a')).toMatchObject({ peerId: 'a', receivedAtMs: clock.now(), sentSinceAd: 0 })
    expect(table.get('a')?.ad.queueDepth).toBe(5)
    expect(table.get('b')).toBeUndefined()
  })

  it('refuses a stale or replayed seq and keeps the newer ad', () => {
    const table = new CapacityTable({ clock: manualClock() })
    table.update('a', vad(5, { queueDepth: 5 }))
    expect(table.update('a', vad(5, { queueDepth: 99 }))).toBe(false)
    expect(table.update('a', vad(4, { queueDepth: 99 }))).toBe(false)
    expect(table.get('a')?.ad.queueDepth).toBe(5)
    expect(table.update('a', vad(6, { queueDepth: 6 }))).toBe(true)
    expect(table.get('a')?.ad.queueDepth).toBe(6)
  })

  it('expires an entry after expiryIntervals × intervalMs without a new ad (reads ignore it, prune drops it)', () => {
    const clock = manualClock()
    const table = new CapacityTable({ clock, expiryIntervals: 3 })
    table.update('a', vad(1, { intervalMs: 1000 }))
    table.update('b', vad(1, { intervalMs: 2000 }))
    clock.advance(3000)
    expect(table.get('a')).toBeDefined()
    clock.advance(1)
    expect(table.get('a')).toBeUndefined()
    expect(table.fresh().map(e => e.peerId)).toEqual(['b'])
    expect(table.last('a')).toBeDefined() // still shown
    expect(table.size).toBe(2)
    table.prune()
    expect(table.size).toBe(1)
    expect(table.last('a')).toBeUndefined()
    clock.advance(3000)
    expect(table.get('b')).toBeUndefined()
  })

  it('a new ad refreshes the expiry', () => {
    const clock = manualClock()
    const table = new CapacityTable({ clock }) // default 3.5 intervals
    table.update('a', vad(1))
    clock.advance(3000)
    table.update('a', vad(2))
    clock.advance(3000)
    expect(table.get('a')).toBeDefined()
    clock.advance(501)
    expect(table.get('a')).toBeUndefined()
  })

  describe('sentSinceAd = our outstanding tasks there now − when its ad arrived', () => {
    it('counts tasks sent since the ad', () => {
      const table = new CapacityTable({ clock: manualClock() })
      table.update('a', vad(1))
      table.noteSent('a')
      table.noteSent('a')
      expect(table.get('a')?.sentSinceAd).toBe(2)
    })

    it('a new ad already counts what is outstanding; tasks finishing after it make the correction negative', () => {
      const table = new CapacityTable({ clock: manualClock() })
      table.noteSent('a')
      table.noteSent('a') // sent before any ad from a
      table.update('a', vad(1))
      expect(table.get('a')?.sentSinceAd).toBe(0)
      table.noteDone('a')
      expect(table.get('a')?.sentSinceAd).toBe(-1)
      table.noteDone('a')
      expect(table.get('a')?.sentSinceAd).toBe(-2)
      table.noteSent('a')
      expect(table.get('a')?.sentSinceAd).toBe(-1)
      // The next ad resets the baseline to what is outstanding then (1).
      table.update('a', vad(2))
      expect(table.get('a')?.sentSinceAd).toBe(0)
      table.noteDone('a')
      expect(table.get('a')?.sentSinceAd).toBe(-1)
    })

    it('more answers than sends never drive outstanding below zero', () => {
      const table = new CapacityTable({ clock: manualClock() })
      table.update('a', vad(1))
      table.noteDone('a')
      table.noteDone('a')
      expect(table.get('a')?.sentSinceAd).toBe(0)
      table.noteSent('a')
      expect(table.get('a')?.sentSinceAd).toBe(1)
    })

    it('a stale ad does not reset the correction', () => {
      const table = new CapacityTable({ clock: manualClock() })
      table.update('a', vad(5))
      table.noteSent('a')
      table.update('a', vad(4))
      expect(table.get('a')?.sentSinceAd).toBe(1)
    })

    it('delete forgets the peer and its counts', () => {
      const table = new CapacityTable({ clock: manualClock() })
      table.update('a', vad(1))
      table.noteSent('a')
      table.delete('a')
      expect(table.last('a')).toBeUndefined()
      table.update('a', vad(2))
      table.noteDone('a') // nothing was outstanding after the delete
      expect(table.get('a')?.sentSinceAd).toBe(0)
    })
  })

  it('when full, a new peer evicts the one whose last ad is oldest', () => {
    const clock = manualClock()
    const table = new CapacityTable({ clock, maxPeers: 2 })
    table.update('a', vad(1))
    clock.advance(10)
    table.update('b', vad(1))
    clock.advance(10)
    table.update('a', vad(2)) // a is now fresher than b
    table.update('c', vad(1))
    expect(table.size).toBe(2)
    expect(table.last('b')).toBeUndefined()
    expect(table.fresh().map(e => e.peerId).sort()).toEqual(['a', 'c'])
    // Updating a known peer never evicts anyone.
    table.update('c', vad(2))
    expect(table.size).toBe(2)
    expect(table.last('a')).toBeDefined()
  })
})
