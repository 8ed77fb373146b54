import { defaultLogger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import { describe, expect, it, vi } from 'vitest'
import { RELAY_HOP_PROTOCOL, RESERVATION_GRACE_MS, ReservationWatch } from '../../../../src/services/nat/reservation-watch.js'
import type { PeerId } from '@libp2p/interface'

/**
 * A private node without a relay reservation asks connected relays again: libp2p's relay
 * transport asks each relay once, and a RESERVE that took a connection closing under it (the
 * AutoNAT dial-back) is never retried there.
 */

const RELAY = peerIdFromString('12D3KooWEzBpYNAvaKF74DVRxLu1TkGnRyLFN5Wz4GQiexLy46SU')
const PLAIN = peerIdFromString('12D3KooW9xyiUfhKmQ2n6bmutaRva7ieSPcMuGF4YLf7YdiCXN91')

function setup (opts: { member?: boolean, addRelay?: (peer: PeerId) => Promise<unknown>, limited?: boolean } = {}) {
  let now = 1_000
  const addRelay = vi.fn(opts.addRelay ?? (async () => ({})))
  const relayTransport = { [Symbol.toStringTag]: '@libp2p/circuit-relay-v2-transport', reservationStore: { addRelay } }
  const conn = (peer: PeerId) => ({ remotePeer: peer, status: 'open', limits: opts.limited === true ? { bytes: 1n } : undefined })
  const protocols = new Map([[RELAY.toString(), [RELAY_HOP_PROTOCOL, '/ipfs/id/1.0.0']], [PLAIN.toString(), ['/ipfs/id/1.0.0']]])
  const watch = new ReservationWatch({
    transportManager: { getTransports: () => [{ [Symbol.toStringTag]: '@libp2p/tcp' }, relayTransport] } as any,
    connectionManager: { getConnections: () => [conn(PLAIN), conn(RELAY), conn(RELAY)] } as any,
    peerStore: { get: async (peer: PeerId) => ({ protocols: protocols.get(peer.toString()) ?? [] }) } as any,
    log: defaultLogger().forComponent('test'),
    isMember: () => opts.member ?? true,
    clock: { now: () => now },
    random: () => 0.5
  })
  return { watch, addRelay, advance: (ms: number) => { now += ms }, now: () => now }
}

describe('relay reservation watch', () => {
  it('waits out the grace, then asks the connected relay once (not plain peers)', async () => {
    const { watch, addRelay, advance, now } = setup()
    watch.tick(now(), true, false)
    advance(RESERVATION_GRACE_MS - 1)
    watch.tick(now(), true, false)
    expect(addRelay).not.toHaveBeenCalled()
    advance(1)
    watch.tick(now(), true, false)
    await vi.waitFor(() => { expect(addRelay).toHaveBeenCalledTimes(1) })
    expect(addRelay).toHaveBeenCalledWith(RELAY, 'discovered')
  })

  it('retries a failed reservation with backoff, and stops once reserved', async () => {
    const { watch, addRelay, advance, now } = setup({ addRelay: async () => { throw new Error('stream closed while reading') } })
    watch.tick(now(), true, false)
    advance(RESERVATION_GRACE_MS)
    watch.tick(now(), true, false)
    await vi.waitFor(() => { expect(addRelay).toHaveBeenCalledTimes(1) })
    await new Promise(resolve => setTimeout(resolve, 0))
    // Backoff after one failure: 2 s nominal doubled = 4 s, equal jitter at 0.5 → 3 s.
    advance(2_999)
    watch.tick(now(), true, false)
    expect(addRelay).toHaveBeenCalledTimes(1)
    advance(1)
    watch.tick(now(), true, false)
    await vi.waitFor(() => { expect(addRelay).toHaveBeenCalledTimes(2) })
    // Reserved (by libp2p or by us): nothing more.
    advance(60_000)
    watch.tick(now(), true, true)
    watch.tick(now(), true, true)
    expect(addRelay).toHaveBeenCalledTimes(2)
  })

  it('does nothing while not private, for non-members, or over relayed connections', async () => {
    for (const opts of [{ member: false }, { limited: true }]) {
      const { watch, addRelay, advance, now } = setup(opts)
      watch.tick(now(), true, false)
      advance(RESERVATION_GRACE_MS)
      watch.tick(now(), true, false)
      await new Promise(resolve => setTimeout(resolve, 10))
      expect(addRelay).not.toHaveBeenCalled()
    }
    const { watch, addRelay, advance, now } = setup()
    for (let i = 0; i < 5; i++) {
      watch.tick(now(), false, false)
      advance(RESERVATION_GRACE_MS)
    }
    expect(addRelay).not.toHaveBeenCalled()
  })
})
