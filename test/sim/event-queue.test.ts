import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { EventQueue } from '../../simulations/model/heap.js'
import type { SimEvent } from '../../simulations/model/heap.js'

describe('EventQueue', () => {
  it('runs events in (time, scheduling order), skipping cancelled ones, and holds only live events', () => {
    // Random schedules and cancellations against a plain sorted list: same order, same size.
    fc.assert(fc.property(
      fc.array(fc.record({ at: fc.integer({ min: 0, max: 50 }), cancel: fc.boolean(), cancelTwice: fc.boolean() }), { maxLength: 200 }),
      (plan) => {
        const q = new EventQueue()
        const ran: number[] = []
        const events: SimEvent[] = plan.map((p, i) => q.at(p.at, () => { ran.push(i) }))
        plan.forEach((p, i) => {
          if (p.cancel) q.cancel(events[i])
          if (p.cancel && p.cancelTwice) q.cancel(events[i])
        })
        const live = plan.map((p, i) => ({ ...p, i })).filter(p => !p.cancel)
        expect(q.size).toBe(live.length)
        q.runUntil(Infinity)
        expect(ran).toEqual(live.sort((a, b) => a.at - b.at || a.i - b.i).map(p => p.i))
        expect(q.size).toBe(0)
      }
    ))
  })

  it('cancelling an event that already ran changes nothing', () => {
    const q = new EventQueue()
    const ran: string[] = []
    const first = q.at(1, () => { ran.push('first') })
    q.at(2, () => { q.cancel(first); ran.push('second') })
    q.at(3, () => { ran.push('third') })
    q.runUntil(Infinity)
    expect(ran).toEqual(['first', 'second', 'third'])
  })

  it('an event may cancel a later one due at the same instant', () => {
    const q = new EventQueue()
    const ran: string[] = []
    let later: SimEvent | undefined
    q.at(5, () => { ran.push('a'); if (later !== undefined) q.cancel(later) })
    later = q.at(5, () => { ran.push('b') })
    q.at(5, () => { ran.push('c') })
    q.runAt(5)
    expect(ran).toEqual(['a', 'c'])
  })
})
