/**
 * Can peers on the internet dial this node? Pure decisions over what the node knows of its own
 * addresses (protocols/nat.md "Reachability"). No libp2p, no I/O: the NAT service feeds them.
 */

export type Reachability = 'public' | 'private' | 'unknown'

/** One of this node's addresses, as the address manager knows it. */
export interface OwnAddress {
  /** The IP (or host) of the address. */
  host: string
  /** A globally routable IP (not private, loopback, link-local or reserved). */
  isPublic: boolean
  /** Confirmed dialable from outside (AutoNAT v2 dial-back, a UPnP mapping, or configured `announce`). */
  verified: boolean
  /** A `/p2p-circuit` address (through a relay). */
  relayed: boolean
}

export interface ReachabilityInput {
  addresses: readonly OwnAddress[]
  /**
   * Public IPs that connected peers (identify) saw this node's connections come from. An IP that
   * is none of this node's own means a NAT rewrote the source: the node is behind one.
   */
  observedIps: readonly string[]
}

/**
 * `public`: some public address of this node was confirmed dialable from outside. `private`: the
 * node talks to the internet through a NAT (peers see it at an IP it does not have) and none of
 * its addresses is confirmed. `unknown`: neither (a LAN, loopback, or not yet measured), which is
 * treated like public: the node behaves as it always did.
 */
export function judgeReachability (input: ReachabilityInput): Reachability {
  if (input.addresses.some(a => a.isPublic && a.verified && !a.relayed)) return 'public'
  const own = new Set(input.addresses.filter(a => !a.relayed).map(a => a.host))
  if (input.observedIps.some(ip => !own.has(ip))) return 'private'
  return 'unknown'
}

/** A private node answers no DHT queries (peers could not dial it back): client mode. */
export function dhtModeFor (reachability: Reachability): 'client' | 'server' {
  return reachability === 'private' ? 'client' : 'server'
}

/** What the DHT hands out about a peer: its addresses, each judged public/private/relayed. */
export interface AdvertisedAddress<A> {
  addr: A
  isPublic: boolean
  relayed: boolean
}

/**
 * Address hygiene for DHT answers: a peer reachable from the internet (a public or a relayed
 * address) is handed out with those only — its private and loopback addresses mean nothing to a
 * peer elsewhere and would be dialled into that peer's own LAN. A peer with nothing but private
 * addresses (a LAN federation, daemons on one host) keeps them all: that is how it is reached.
 */
export function addressesToShare<A> (addrs: ReadonlyArray<AdvertisedAddress<A>>): A[] {
  const wide = addrs.filter(a => a.isPublic || a.relayed)
  return (wide.length > 0 ? wide : addrs).map(a => a.addr)
}

/**
 * Of two peers joined through a relay, the one that starts the direct (hole-punched) dial: the
 * smaller peer id. Both ends decide alike without a word, so they never punch at each other twice.
 */
export function startsDirectDial (self: string, remote: string): boolean {
  return self < remote
}

/** What one member of a pair joined through a relay does about a hole punch. */
export type PunchTurn = 'punch' | 'wait for the peer to punch' | 'wait for the peer to dial our public address'

export interface PunchTurnInput {
  self: string
  remote: string
  /** This node is publicly reachable (reachability `public`): the other can dial it without a punch. */
  selfPublic: boolean
  /** This node dialled the other's public addresses and the dial failed. */
  remotePublicFailed: boolean
  /** Attempts this node already gave up waiting (its direct-dial retries so far). */
  attempts: number
}

/**
 * Which end of a relayed pair punches, so that exactly one does. A public member waits once for
 * the other to dial its public address (a plain TCP connection beats a WebRTC data channel, and
 * otherwise it punched first, faster than the other's dial, every time its id was the smaller);
 * an end that tried the other's public address and failed punches (the public end waits for it);
 * otherwise the smaller peer id punches (startsDirectDial).
 */
export function punchTurn (input: PunchTurnInput): PunchTurn {
  if (input.remotePublicFailed) return 'punch'
  if (input.selfPublic && input.attempts === 0) return 'wait for the peer to dial our public address'
  return startsDirectDial(input.self, input.remote) ? 'punch' : 'wait for the peer to punch'
}
