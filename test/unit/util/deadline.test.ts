import { describe, expect, it } from 'vitest'
import { deadlineOn } from '../../../src/util/timers.js'
import { VirtualTime } from '../../../simulations/model/virtual-time.js'

const LATE = new DOMException('late', 'TimeoutError')

describe('deadlineOn', () => {
  it('aborts with its reason when the time is up', async () => {
    const time = new VirtualTime()
    const d = deadlineOn(time.timers, 50, LATE)
    await time.advance(49)
    expect(d.signal.aborted).toBe(false)
    await time.advance(1)
    expect(d.signal.reason).toBe(LATE)
  })

  it('aborts with the linked signal\'s reason, at once when it already aborted', () => {
    const time = new VirtualTime()
    const linked = new AbortController()
    const d = deadlineOn(time.timers, 50, LATE, linked.signal)
    linked.abort(new Error('answered elsewhere'))
    expect((d.signal.reason as Error).message).toBe('answered elsewhere')
    expect(deadlineOn(time.timers, 50, LATE, linked.signal).signal.aborted).toBe(true)
  })

  it('once cleared, leaves no timer behind and ignores the linked signal', async () => {
    const time = new VirtualTime()
    const linked = new AbortController()
    const d = deadlineOn(time.timers, 50, LATE, linked.signal)
    d.clear()
    expect(time.q.size).toBe(0)
    linked.abort()
    await time.advance(100)
    expect(d.signal.aborted).toBe(false)
  })
})
