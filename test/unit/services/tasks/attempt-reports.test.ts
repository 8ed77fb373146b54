import { describe, expect, it } from 'vitest'
import { PromiseJudge } from '../../../../src/core/reputation/index.js'
import { CircuitBreakers, DEFAULT_BREAKER_PARAMS } from '../../../../src/core/routing/circuit-breaker.js'
import { CapacityTable } from '../../../../src/services/capacity/capacity-table.js'
import { attemptReports } from '../../../../src/services/tasks/attempt-reports.js'
import { ErrorCode } from '../../../../src/wire/task.js'
import { manualClock } from '../../../helpers/unit-tasks.js'
import type { AttemptEvent } from '../../../../src/services/tasks/dispatcher.js'

const ad = { seq: 1, name: '', cores: 4, freeMemoryMb: 0, load: 0, queueDepth: 0, running: 0, concurrency: 4, queueLimit: 16, kinds: ['echo'], meanRunMs: new Map(), intervalMs: 1_000, addrs: [], clamped: [] }

describe('attempt reports: a timeout from a peer that was up is "ignored"', () => {
  function setup () {
    const clock = manualClock()
    const table = new CapacityTable({ clock })
    const breakers = new CircuitBreakers(DEFAULT_BREAKER_PARAMS)
    const events: AttemptEvent[] = []
    const report = attemptReports({ breakers, judge: new PromiseJudge(clock), table: () => table, clock, onAttempt: (_peer, e) => { events.push(e) } })
    return { clock, table, breakers, events, report }
  }
  const detail = (reachedBy?: number) => ({ code: ErrorCode.TIMED_OUT, kind: 'echo', taskId: 't', reachedBy })

  it('an advert that arrived after the request reached the peer makes the timeout "ignored"; the breaker trips either way', () => {
    const { clock, table, breakers, events, report } = setup()
    const reachedBy = clock.now() + 20
    clock.advance(4_500)
    table.update('up', ad)
    clock.advance(500)
    report('up', 'timeout', detail(reachedBy))
    expect(events).toEqual(['ignored'])
    expect(breakers.isOpen('up', clock.now())).toBe(true)
  })

  it('stays a plain timeout when the advert since showed the peer busy (slower than its queue, not ignoring the task)', () => {
    const { clock, table, events, report } = setup()
    const reachedBy = clock.now() + 20
    clock.advance(4_500)
    table.update('full', { ...ad, running: 4 })
    table.update('queued', { ...ad, running: 3, queueDepth: 1 })
    table.update('one-left', { ...ad, running: 3 })
    // This node's own task sent since fills the one slot it advertised free.
    table.noteSent('one-left')
    clock.advance(500)
    for (const peer of ['full', 'queued', 'one-left']) report(peer, 'timeout', detail(reachedBy))
    expect(events).toEqual(['timeout', 'timeout', 'timeout'])
  })

  it('stays a plain timeout when the last advert came before the request reached the peer (the link may have died), with no advert, or without the time', () => {
    const { clock, table, events, report } = setup()
    table.update('cut', ad)
    const reachedBy = clock.now() + 20
    clock.advance(900)
    report('cut', 'timeout', detail(reachedBy))
    report('unknown', 'timeout', detail(reachedBy))
    table.update('up', ad)
    report('up', 'timeout')
    report('up', 'timeout', detail(undefined))
    expect(events).toEqual(['timeout', 'timeout', 'timeout', 'timeout'])
  })
})
