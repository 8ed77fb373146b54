import { TypedEventEmitter } from 'main-event'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ConnectivityService } from '../../../../src/services/connectivity/connectivity-service.js'
import { VirtualTime } from '../../../../simulations/model/virtual-time.js'

/**
 * Service-level behaviour around this process's own stalls, with stand-ins for libp2p's parts:
 * one connected peer whose heartbeats we feed by hand, a ping that always fails (a truly
 * silent peer), and a connection whose abort we watch. Time is virtual: a stall is time that
 * passes while nothing runs (every timer due meanwhile fires late, at its end).
 */
let time = new VirtualTime()
beforeEach(() => { time = new VirtualTime() })

function harness (livenessMs: number): { service: ConnectivityService, aborted: () => number, peer: string } {
  const peer = '12D3KooWStallTestPeer'
  let aborts = 0
  const connection = { remotePeer: { toString: () => peer }, abort: () => { aborts++ }, newStream: async () => { throw new Error('no answer') } }
  const service = new ConnectivityService({
    events: new TypedEventEmitter(),
    connectionManager: { getConnections: () => [connection] },
    logger: { forComponent: () => Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false, newScope: () => undefined }) }
  } as any, { clock: time.clock, timers: time.timers, livenessMs, confirmTimeoutMs: 50 })
  return { service, aborted: () => aborts, peer }
}

let stop: (() => void) | undefined
afterEach(() => { stop?.(); stop = undefined })

/** A running service (liveness 1 s, ticks every 250 ms from 0) that heard three heartbeats from its one peer, at 300 ms. */
async function federatedWithOnePeer (): Promise<ReturnType<typeof harness>> {
  const h = harness(1_000)
  h.service.start()
  stop = () => { h.service.stop() }
  for (let i = 0; i < 3; i++) { h.service.heartbeat(h.peer); await time.advance(100) }
  return h
}

describe('connectivity and this process\'s own stalls', () => {
  it('a heartbeat read right after a stall keeps the peer: its silence was ours', async () => {
    const { service, aborted, peer } = await federatedWithOnePeer()
    expect(service.mode).toBe('federated')
    time.q.stall(time.q.now + 2_500)
    // The heartbeat "arrived" during the stall: it is read after the late timers, before the judgment.
    time.q.at(time.q.now, () => { service.heartbeat(peer) })
    await time.advance(400)
    expect(aborted()).toBe(0)
    expect(service.mode).toBe('federated')
  })

  it('a peer that stays silent with this process running freely is still cut off', async () => {
    const { service, aborted } = await federatedWithOnePeer()
    await time.advance(1_800)
    expect(aborted()).toBeGreaterThan(0)
    expect(service.mode).toBe('solo')
  })

  it('a stop while a judgment is pending does not stop judging after the next start', async () => {
    const { service, aborted } = await federatedWithOnePeer()
    // Right after the tick at 500 ms (its judgment is pending until the next turn): stop, start.
    time.q.at(500, () => { service.stop(); service.start() })
    await time.advance(1_800)
    expect(aborted()).toBeGreaterThan(0)
    expect(service.mode).toBe('solo')
  })

  it('a silent peer is judged when its window ends, and a heartbeating mesh wakes the service about once per window', async () => {
    const h = harness(1_000)
    // Count the service's own timers (the virtual queue also runs the test's heartbeats).
    let timersSet = 0
    const timers = { ...time.timers, setTimeout: (fn: () => void, ms: number) => { timersSet++; return time.timers.setTimeout(fn, ms) } }
    const service = new ConnectivityService((h.service as any).components, { clock: time.clock, timers, livenessMs: 1_000, confirmTimeoutMs: 50 })
    service.start()
    stop = () => { service.stop() }
    // Nobody heard from: nothing to judge, no timer.
    await time.advance(5_000)
    expect(timersSet).toBe(0)
    // Heartbeats every 400 ms for 8 s: a polling tick every 250 ms would have set 32 timers.
    for (let i = 0; i < 20; i++) { service.heartbeat(h.peer); await time.advance(400) }
    expect(service.mode).toBe('federated')
    expect(timersSet).toBeLessThanOrEqual(14)
    // Then silence: the last heartbeat was 400 ms ago; the peer expires 1 s after it, is pinged (no answer, 50 ms) and cut.
    await time.advance(599)
    expect(service.mode).toBe('federated')
    await time.advance(2 + 50 + 10)
    expect(service.mode).toBe('solo')
    expect(h.aborted()).toBe(1)
  })
})
