import { Membership } from './membership.js'
import type { MembershipComponents, MembershipInit } from './membership.js'

export type { KnownPeer, MembershipInit } from './membership.js'
export type { Via } from './via.js'
export { Membership }

/** libp2p service factory: `services: { membership: membership({ ... }) }`. */
export function membership (init: MembershipInit = {}): (components: MembershipComponents) => Membership {
  return (components) => new Membership(components, init)
}
