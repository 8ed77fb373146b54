import { TypedEventEmitter } from '@libp2p/interface'
import { eventLevel, eventMessage } from './event-messages.js'
import type { Clock } from '../util/time.js'
import type { SpotCheckVerdict } from '../services/tasks/spot-check.js'
import type { EvidenceVerdict } from '../services/evidence/evidence-service.js'

/**
 * The node's event stream: what happened, one typed record per happening (docs/CONTRACT.md
 * "Events"). Services do not know about it: the node wires their callbacks here
 * (event-wiring.ts). The daemon logs every event as one line, streams them on `GET /v1/events`
 * and counts them in /metrics; library users subscribe with `node.events.addEventListener`.
 */

export type EventLevel = 'debug' | 'info' | 'warn' | 'error'

/** How a connection reaches the peer: straight, or through a relay (circuit relay address). */
export type ConnectionKind = 'direct' | 'relayed'

/** What each event type carries, beyond the common fields of `NodeEvent`. */
export interface EventFields {
  /** A peer proved membership (any peer in an open mesh) and is connected. */
  'peer:connected': { peer: string, name?: string, direction: 'inbound' | 'outbound', connection: ConnectionKind, address: string }
  /** The last connection to a member closed. */
  'peer:disconnected': { peer: string, name?: string }
  /** A peer failed the membership handshake (it is not dialled again by discovery). */
  'peer:refused': { peer: string, reason: string }
  /** A peer's reputation fell below the ban line: disconnected and refused until `until`. */
  'peer:banned': { peer: string, name?: string, score: number, until?: string }
  /** A member's certificate was revoked (here or by another admin): it is cut off. */
  'member:revoked': { peer: string }
  /** federated (a live peer) ↔ solo (none). */
  'mode:changed': { from: 'federated' | 'solo', to: 'federated' | 'solo' }
  /** A task was accepted here (journaled): it waits for a slot in the mesh. */
  'task:submitted': { taskId: string, kind: string, pinnedPeer?: string }
  /** A task submitted here left the admission queue and is being placed. */
  'task:started': { taskId: string, kind: string, waitedMs: number }
  /**
   * Where one attempt of a task goes and why: `free-slot` (a peer predicted idle), `local`
   * (this node is idle), `late-binding` (everyone busy: reserve on a few, first ready wins),
   * `only-candidate`, `pinned` (`--peer`), `no-candidate`.
   */
  'task:routed': { taskId: string, kind: string, attempt: number, reason: RoutingReason, peers: string[] }
  /** An attempt did not settle the task (refused, failed, timed out, unreachable, slow): it is tried elsewhere. */
  'task:failed-over': { taskId: string, kind: string, attempt: number, from: string[] }
  /** A task submitted here finished (ok or error) and was recorded. */
  'task:finished': { taskId: string, kind: string, status: 'ok' | 'error', peer: string, peerName?: string, attempts: number, durationMs: number, errorCode?: string, error?: string }
  /**
   * A task of a deterministic kind ran again on another node: `agreed`, `wrong-result` (the
   * output two runs agree on was returned; `wrong` returned the other and is blamed), `disputed`
   * (no two agree: no result returned) or `unchecked` (no other node answered the check).
   */
  'task:spot-checked': { taskId: string, kind: string, verdict: SpotCheckVerdict, peers: string[], wrong?: string, detail?: string }
  /**
   * A member shared proof of a wrong result and this node checked it: `applied` (its own run
   * disproved the signers in `wrong`, charged `wrong-result`), `refuted` (its run agreed with
   * every claim: nobody charged) or `unverifiable` (it does not run the kind as deterministic).
   */
  'evidence:examined': { from: string, kind: string, verdict: EvidenceVerdict, wrong: string[], detail?: string }
  /** This node ran a task, for itself (`origin` "local") or for a peer. */
  'task:served': { taskId: string, kind: string, origin: string, originName?: string, status: 'ok' | 'error', errorCode?: string, queuedMs: number, runMs: number }
  /** A cache key held with one writer's version now holds another writer's (last writer wins). */
  'cache:conflict': { key: string, winner: string, loser: string, path: string }
  /** A cache entry or write was refused by authorization (roles, owned keys) or a writer's quota. */
  'cache:refused': { key: string, writer: string, from?: string, path: string, reason: string, detail?: string }
  /** The store stopped taking writes (disk full or failing). */
  'storage:failed': { error: string, op: string, detail?: string }
  /** The store takes writes again. */
  'storage:recovered': { downMs: number, writesRefused: number }
  /** This node takes no work from peers now (its owner paused it, quiet hours, a low battery, the owner's load). */
  'host:paused': { reason: string, detail?: string, until?: string }
  /** It serves fewer slots than it has (on battery, someone at the machine, the owner's load). */
  'host:capped': { slots: number, of: number, reason: string, detail?: string }
  /** It serves every slot again; `after` is what limited it. */
  'host:resumed': { slots: number, after: string }
}

export type EventType = keyof EventFields

export type RoutingReason = 'free-slot' | 'local' | 'late-binding' | 'only-candidate' | 'pinned' | 'no-candidate'

/** One event as subscribers, the log and `GET /v1/events` see it. */
export type NodeEvent<T extends EventType = EventType> = T extends EventType ? {
  /** Increases by one per event, from 1, for as long as the bus lives (SSE `id`, `?since=`). */
  id: number
  type: T
  /** Epoch ms. */
  time: number
  level: EventLevel
  /** One readable sentence. */
  message: string
} & EventFields[T] : never

/** An event before the bus stamps it (id, time, level, message). */
export type EventDraft = { [T in EventType]: { type: T } & EventFields[T] }[EventType]

/** Every event type, for `fedmesh monitor --types` and the docs. */
export const EVENT_TYPES: readonly EventType[] = [
  'peer:connected', 'peer:disconnected', 'peer:refused', 'peer:banned', 'member:revoked', 'mode:changed',
  'task:submitted', 'task:started', 'task:routed', 'task:failed-over', 'task:finished', 'task:served', 'task:spot-checked', 'evidence:examined',
  'cache:conflict', 'cache:refused', 'storage:failed', 'storage:recovered',
  'host:paused', 'host:capped', 'host:resumed'
]

/** Listeners get each type on its own name, and every event on `event`. */
export type NodeEventMap = { [T in EventType]: CustomEvent<NodeEvent<T>> } & { event: CustomEvent<NodeEvent> }

export interface NodeEventsInit {
  /** Events kept for late subscribers (`recent`, SSE replay, the dashboard). Default 500. */
  recentLimit?: number
  clock?: Clock
}

export const DEFAULT_RECENT_EVENTS = 500

/** An event nobody listened to when it happened, kept as it came until it is read. */
class UnreadEvent {
  constructor (readonly id: number, readonly type: EventType, readonly time: number, readonly fields: EventFields[EventType]) {}
}

/**
 * A typed EventTarget with a bounded memory of recent events. Listeners must not throw: an
 * EventTarget reports a listener's exception as an uncaught exception.
 */
export class NodeEvents extends TypedEventEmitter<NodeEventMap> {
  /** The newest `recentLimit` events, a ring: `ring[(start + i) % limit]` is the i-th oldest. */
  private readonly ring: Array<NodeEvent | UnreadEvent> = []
  private start = 0
  private readonly recentLimit: number
  private readonly clock: Clock
  private nextId = 1
  /** This node's peer id, so messages say "this node" (set by createFederationNode). */
  self: string | undefined
  /** Peers' names for messages, when known (set by createFederationNode: names from capacity ads). */
  nameOf: ((peer: string) => string | undefined) | undefined

  constructor (init: NodeEventsInit = {}) {
    super()
    this.recentLimit = init.recentLimit ?? DEFAULT_RECENT_EVENTS
    this.clock = init.clock ?? { now: () => Date.now() }
  }

  /** The id the next event will get (`recent(lastId)` after reading up to `lastId`). */
  get lastId (): number {
    return this.nextId - 1
  }

  emit<T extends EventType> (type: T, fields: EventFields[T]): NodeEvent<T> {
    const event = this.stamp(this.nextId++, type, this.clock.now(), fields)
    this.remember(event as NodeEvent)
    this.deliver(event)
    return event
  }

  /**
   * `emit` for a caller that does not need the event back (the node's own wiring): while nobody
   * listens for the type, it is remembered as it came and stamped only if it is read
   * (`recent`). A busy node's events (four per task) are mostly never read.
   */
  record<T extends EventType> (type: T, fields: EventFields[T]): void {
    if (this.listenerCount(type) > 0 || this.listenerCount('event') > 0) {
      this.emit(type, fields)
      return
    }
    this.remember(new UnreadEvent(this.nextId++, type, this.clock.now(), fields))
  }

  private stamp<T extends EventType> (id: number, type: T, time: number, fields: EventFields[T]): NodeEvent<T> {
    // The sentence is written when first read (log line, SSE, dashboard). Names are looked up
    // then, as they are known then. One object (the event is its own draft), its getter in the
    // literal: no property redefined.
    const { self, nameOf } = this
    let message: string | undefined
    const event: NodeEvent<T> = {
      id,
      type,
      time,
      level: 'info',
      get message (): string { return (message ??= eventMessage(event as unknown as EventDraft, self, nameOf)) },
      ...fields
    } as unknown as NodeEvent<T>
    event.level = eventLevel(event as unknown as EventDraft)
    return event
  }

  private remember (entry: NodeEvent | UnreadEvent): void {
    if (this.ring.length < this.recentLimit) {
      this.ring.push(entry)
    } else if (this.recentLimit > 0) {
      this.ring[this.start] = entry
      this.start = (this.start + 1) % this.recentLimit
    }
  }

  private deliver (event: NodeEvent): void {
    if (this.listenerCount(event.type) > 0) this.dispatchEvent(new CustomEvent(event.type, { detail: event }))
    if (this.listenerCount('event') > 0) this.dispatchEvent(new CustomEvent('event', { detail: event }))
  }

  /** Events still remembered with an id above `afterId` (all remembered ones by default), oldest first. */
  recent (afterId = 0): NodeEvent[] {
    const limit = this.ring.length
    // Ids are consecutive: the ones after `afterId` are the tail.
    const newer = afterId <= 0 ? limit : Math.max(0, Math.min(limit, this.lastId - afterId))
    const events: NodeEvent[] = []
    for (let i = limit - newer; i < limit; i++) {
      const at = (this.start + i) % limit
      const entry = this.ring[at]
      if (entry instanceof UnreadEvent) {
        // Stamped once, on its first read.
        const event = this.stamp(entry.id, entry.type, entry.time, entry.fields as never) as NodeEvent
        this.ring[at] = event
        events.push(event)
      } else {
        events.push(entry)
      }
    }
    return events
  }

  /** Subscribe to every event; returns the unsubscribe function. */
  subscribe (listener: (event: NodeEvent) => void): () => void {
    const handler = (evt: CustomEvent<NodeEvent>): void => { listener(evt.detail) }
    this.addEventListener('event', handler)
    return () => { this.removeEventListener('event', handler) }
  }
}
