import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { LatencyService } from '../../../../src/services/latency/latency-service.js'

/**
 * The background pings' pace with stand-ins for libp2p's ping and connection manager: which
 * peers get pinged when, under fake time. Each stand-in ping answers at once with the RTT the
 * test sets for that peer.
 */
const logger = { forComponent: () => Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false, newScope: () => undefined }) }

function harness (peers: string[]): { service: LatencyService, pings: Map<string, number>, rtt: Map<string, number> } {
  const pings = new Map<string, number>()
  const rtt = new Map<string, number>(peers.map(p => [p, 2]))
  const connections = peers.map(p => ({ remotePeer: { toString: () => p }, status: 'open', limits: undefined }))
  const service = new LatencyService({
    ping: {
      ping: async (peer: { toString: () => string }) => {
        pings.set(peer.toString(), (pings.get(peer.toString()) ?? 0) + 1)
        return rtt.get(peer.toString()) ?? 2
      }
    },
    connectionManager: { getConnections: () => connections },
    logger
  } as any, { intervalMs: 2_000, settledIntervalMs: 30_000, coordinateOf: () => undefined, random: Math.random, now: () => Date.now() })
  return { service, pings, rtt }
}

let service: LatencyService | undefined
beforeEach(() => { vi.useFakeTimers() })
afterEach(() => { service?.stop(); service = undefined; vi.useRealTimers() })

describe('latency service pace', () => {
  it('gives a new link quick pings, then one every settled interval', async () => {
    const h = harness(['a', 'b'])
    service = h.service
    service.afterStart()
    // First round at 500 ms, then every 2 s: five agreeing samples by ~8.5 s.
    await vi.advanceTimersByTimeAsync(9_000)
    expect(h.pings.get('a')).toBe(5)
    expect(service.rttTo('a')).toEqual({ rttMs: 2, source: 'ping' })
    // Settled: the next ping ~30 s after the fifth, not fifteen more.
    await vi.advanceTimersByTimeAsync(30_000)
    expect(h.pings.get('a')).toBe(6)
    expect(h.pings.get('b')).toBe(6)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(h.pings.get('a')).toBe(8)
  })

  it('watches a settled link closely again when its round trip moves', async () => {
    const h = harness(['a', 'b'])
    service = h.service
    service.afterStart()
    await vi.advanceTimersByTimeAsync(9_000 + 30_000)
    expect(h.pings.get('a')).toBe(6)
    h.rtt.set('a', 80)
    // The settled ping at ~68.5 s sees the change and puts 'a' back on quick pings (every 2 s
    // from then); 'b' stays settled.
    await vi.advanceTimersByTimeAsync(40_000)
    expect(h.pings.get('a')).toBeGreaterThanOrEqual(7 + 4)
    expect(h.pings.get('b')).toBe(7)
    expect(service.rttTo('a')?.rttMs).toBeGreaterThan(40)
  })
})
