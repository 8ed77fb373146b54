import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { dialAddressOf, hygienicPeerInfo, isPublicAddress, isRelayed, isWebRtc, ownAddresses, relayOf } from '../../../../src/services/nat/addresses.js'

const RELAY = '12D3KooWEzBpYNAvaKF74DVRxLu1TkGnRyLFN5Wz4GQiexLy46SU'
const PEER = '12D3KooW9xyiUfhKmQ2n6bmutaRva7ieSPcMuGF4YLf7YdiCXN91'
const circuit = multiaddr(`/ip4/30.0.0.1/tcp/4101/p2p/${RELAY}/p2p-circuit/p2p/${PEER}`)
const webrtc = multiaddr(`/ip4/30.0.0.1/tcp/4101/p2p/${RELAY}/p2p-circuit/webrtc/p2p/${PEER}`)

describe('NAT address classification', () => {
  it('tells public, private, relayed and WebRTC addresses apart', () => {
    expect(isPublicAddress(multiaddr('/ip4/30.0.0.1/tcp/4101'))).toBe(true)
    for (const a of ['/ip4/192.168.1.2/tcp/4101', '/ip4/127.0.0.1/tcp/1', '/ip4/203.0.113.5/tcp/1', '/ip6/::1/tcp/1']) expect(isPublicAddress(multiaddr(a))).toBe(false)
    expect(isPublicAddress(circuit)).toBe(false)
    expect(isRelayed(circuit)).toBe(true)
    expect(isWebRtc(circuit)).toBe(false)
    expect(isWebRtc(webrtc)).toBe(true)
    expect(isWebRtc(multiaddr(`/webrtc/p2p/${PEER}`))).toBe(true)
  })

  it('makes a stored address (no /p2p/ of the peer) dial the peer, not the relay it names', () => {
    const peer = peerIdFromString(PEER)
    const stored = multiaddr(`/ip4/30.0.0.1/tcp/4101/p2p/${RELAY}/p2p-circuit/webrtc`)
    expect(dialAddressOf(stored, peer).toString()).toBe(webrtc.toString())
    expect(dialAddressOf(webrtc, peer)).toBe(webrtc)
    expect(dialAddressOf(multiaddr('/ip4/30.0.0.3/tcp/5'), peer).toString()).toBe(`/ip4/30.0.0.3/tcp/5/p2p/${PEER}`)
  })

  it('finds the relay of a circuit address', () => {
    expect(relayOf(circuit)).toBe(RELAY)
    expect(relayOf(multiaddr('/ip4/30.0.0.1/tcp/4101'))).toBeUndefined()
  })

  it('maps the address manager view for the reachability judgement', () => {
    expect(ownAddresses([
      { multiaddr: multiaddr('/ip4/192.168.1.2/tcp/4101'), verified: true },
      { multiaddr: multiaddr('/ip4/30.0.0.1/tcp/4101'), verified: false },
      { multiaddr: circuit, verified: true }
    ])).toEqual([
      { host: '192.168.1.2', isPublic: false, verified: true, relayed: false },
      { host: '30.0.0.1', isPublic: true, verified: false, relayed: false },
      { host: '30.0.0.1', isPublic: false, verified: true, relayed: true }
    ])
  })

  it('the DHT hands out a NATed peer with its relayed addresses only, a LAN peer with all', () => {
    const id = peerIdFromString(PEER)
    const lan = multiaddr('/ip4/192.168.1.2/tcp/4101')
    expect(hygienicPeerInfo({ id, multiaddrs: [lan, circuit, webrtc] }).multiaddrs.map(String)).toEqual([circuit.toString(), webrtc.toString()])
    expect(hygienicPeerInfo({ id, multiaddrs: [lan, multiaddr('/ip4/127.0.0.1/tcp/4101')] }).multiaddrs).toHaveLength(2)
  })
})
