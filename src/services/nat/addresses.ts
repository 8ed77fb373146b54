/**
 * Multiaddr classification for NAT traversal: what is public, what goes through a relay, what a
 * WebRTC (hole-punched) dial needs. The decisions themselves live in core/reachability.ts.
 */
import { circuitRelayAddressesLast, isPrivate, loopbackAddressLast, publicAddressesFirst, reliableTransportsFirst } from '@libp2p/utils'
import { Circuit, WebRTC } from '@multiformats/multiaddr-matcher'
import { addressesToShare } from '../../core/reachability.js'
import type { OwnAddress } from '../../core/reachability.js'
import type { Address, PeerId, PeerInfo } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Through a relay (`/p2p-circuit`), WebRTC over a relay included. */
export function isRelayed (ma: Multiaddr): boolean {
  return ma.getComponents().some(c => c.name === 'p2p-circuit')
}

/** A WebRTC address signalled through a relay (`…/p2p-circuit/webrtc/p2p/<peer>`): the hole-punched path. */
export function isWebRtc (ma: Multiaddr): boolean {
  return WebRTC.matches(ma) || ma.getComponents().some(c => c.name === 'webrtc')
}

/** An address peers on the internet could dial: a global IP, not through a relay. */
export function isPublicAddress (ma: Multiaddr): boolean {
  if (isRelayed(ma)) return false
  const host = hostOf(ma)
  if (host == null) return false
  try {
    return isPrivate(ma) !== true
  } catch {
    return false
  }
}

export function hostOf (ma: Multiaddr): string | undefined {
  const c = ma.getComponents().find(c => c.name === 'ip4' || c.name === 'ip6' || c.name === 'dns4' || c.name === 'dns6' || c.name === 'dns')
  return c?.value
}

/** This node's addresses as the address manager sees them, for `judgeReachability`. */
export function ownAddresses (list: ReadonlyArray<{ multiaddr: Multiaddr, verified: boolean }>): OwnAddress[] {
  const out: OwnAddress[] = []
  for (const a of list) {
    const relayed = isRelayed(a.multiaddr) || Circuit.matches(a.multiaddr)
    const host = hostOf(a.multiaddr)
    if (host == null && !relayed) continue
    out.push({ host: host ?? '', isPublic: !relayed && isPublicAddress(a.multiaddr), verified: a.verified, relayed })
  }
  return out
}

/**
 * The DHT's peer-info mapper: a peer reachable from the internet is handed out with its public
 * and relayed addresses only; a LAN-only peer keeps its private ones (core/reachability.ts).
 */
export function hygienicPeerInfo (peer: PeerInfo): PeerInfo {
  const multiaddrs = addressesToShare(peer.multiaddrs.map(addr => ({ addr, isPublic: isPublicAddress(addr), relayed: isRelayed(addr) })))
  return { ...peer, multiaddrs }
}

/**
 * `ma` as a dial address of `peer`: ending in `/p2p/<peer>`. The peer store keeps addresses
 * without it, and a relayed one then names only the relay (`…/p2p/<relay>/p2p-circuit`): dialled
 * as it is, it reaches the relay, not the peer.
 */
export function dialAddressOf (ma: Multiaddr, peer: PeerId): Multiaddr {
  const last = ma.getComponents().at(-1)
  return last?.name === 'p2p' && last.value === peer.toString() ? ma : ma.encapsulate(`/p2p/${peer.toString()}`)
}

/** The relay peer id of one of this node's `/p2p-circuit` addresses. */
export function relayOf (ma: Multiaddr): string | undefined {
  const parts = ma.getComponents()
  const circuit = parts.findIndex(c => c.name === 'p2p-circuit')
  if (circuit < 0) return undefined
  return parts.slice(0, circuit).findLast(c => c.name === 'p2p')?.value
}

/**
 * The order libp2p's dial queue tries a peer's addresses in (one at a time): libp2p's default
 * (loopback last, public first, relayed last, certified first, reliable transports first), but a
 * WebRTC address through a relay after everything else. Dialled by peer id, such an address
 * costs a signalling round and, where ICE cannot connect (symmetric NATs), the whole dial timeout
 * before the plain relayed address is tried, and it leaves the listener with a WebRTC connection
 * that carries nothing. The NAT service dials WebRTC addresses itself, and checks them.
 */
export function dialOrder (a: Address, b: Address): -1 | 0 | 1 {
  const webRtcLast = Number(isWebRtc(a.multiaddr) && isRelayed(a.multiaddr)) - Number(isWebRtc(b.multiaddr) && isRelayed(b.multiaddr))
  if (webRtcLast !== 0) return webRtcLast as -1 | 1
  return loopbackAddressLast(a.multiaddr, b.multiaddr) ||
    publicAddressesFirst(a.multiaddr, b.multiaddr) ||
    circuitRelayAddressesLast(a.multiaddr, b.multiaddr) ||
    (a.isCertified === b.isCertified ? 0 : a.isCertified ? -1 : 1) ||
    reliableTransportsFirst(a.multiaddr, b.multiaddr)
}
