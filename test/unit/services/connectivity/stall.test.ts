import { TypedEventEmitter } from 'main-event'
import { afterEach, describe, expect, it } from 'vitest'
import { ConnectivityService } from '../../../../src/services/connectivity/connectivity-service.js'
import { systemClock } from '../../../../src/util/time.js'

/**
 * Service-level behaviour around this process's own stalls, with stand-ins for libp2p's parts:
 * one connected peer whose heartbeats we feed by hand, a ping that always fails (a truly
 * silent peer), and a connection whose abort we watch.
 */
function harness (livenessMs: number): { service: ConnectivityService, aborted: () => number, peer: string } {
  const peer = '12D3KooWStallTestPeer'
  let aborts = 0
  const connection = { remotePeer: { toString: () => peer }, abort: () => { aborts++ } }
  const service = new ConnectivityService({
    ping: { ping: async () => { throw new Error('no answer') } },
    events: new TypedEventEmitter(),
    connectionManager: { getConnections: () => [connection] },
    logger: { forComponent: () => Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false, newScope: () => undefined }) }
  } as any, { clock: systemClock, livenessMs, confirmTimeoutMs: 50 })
  return { service, aborted: () => aborts, peer }
}

function blockFor (ms: number): void {
  const end = Date.now() + ms
  while (Date.now() < end) { /* this process stalls */ }
}

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

let stop: (() => void) | undefined
afterEach(() => { stop?.(); stop = undefined })

/** A running service (liveness 1 s) that has heard three heartbeats from its one peer. */
async function federatedWithOnePeer (): Promise<ReturnType<typeof harness>> {
  const h = harness(1_000)
  h.service.start()
  stop = () => { h.service.stop() }
  for (let i = 0; i < 3; i++) { h.service.heartbeat(h.peer); await sleep(100) }
  return h
}

describe('connectivity and this process\'s own stalls', () => {
  it('a heartbeat read right after a stall keeps the peer: its silence was ours', async () => {
    const { service, aborted, peer } = await federatedWithOnePeer()
    expect(service.mode).toBe('federated')
    // The heartbeat "arrives" during the stall: it is read after timers, in the I/O phase.
    setImmediate(() => { service.heartbeat(peer) })
    blockFor(2_500)
    await sleep(400)
    expect(aborted()).toBe(0)
    expect(service.mode).toBe('federated')
  })

  it('a peer that stays silent with this process running freely is still cut off', async () => {
    const { service, aborted, peer } = await federatedWithOnePeer()
    await sleep(1_800)
    expect(aborted()).toBeGreaterThan(0)
    expect(service.mode).toBe('solo')
  })

  it('a stop while a judgment is pending does not stop judging after the next start', async () => {
    const { service, aborted, peer } = await federatedWithOnePeer()
    ;(service as unknown as { tick: () => void }).tick() // a judgment is now pending
    service.stop()
    service.start()
    await sleep(1_800)
    expect(aborted()).toBeGreaterThan(0)
    expect(service.mode).toBe('solo')
  })
})
