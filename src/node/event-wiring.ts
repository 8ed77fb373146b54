import type { ConnectionKind, NodeEvents, RoutingReason } from './events.js'
import type { Plan } from '../core/routing/plan.js'
import type { ConnectivityTransition } from '../core/connectivity.js'
import type { StoredEntry } from '../services/cache/entry.js'
import type { IntakeContext } from '../services/cache/intake.js'
import type { TaskLifecycle } from '../services/tasks/task-service.js'
import type { SpotCheckReport } from '../services/tasks/spot-check.js'
import type { EvidenceReport } from '../services/evidence/evidence-service.js'
import type { RunReport } from '../services/tasks/executor.js'
import type { Serving } from '../core/host-policy.js'
import type { StorageEvent, StorageHealth } from '../store/storage-health.js'
import type { Connection, Libp2p, PeerId } from '@libp2p/interface'

/** What the wiring looks up to make events readable: names from capacity ads, ban details. */
export interface EventLookups {
  /** A peer's advertised name, if an ad arrived. */
  name: (peer: string) => string | undefined
  /** Its reputation score and, when banned, until when (epoch ms). */
  ban: (peer: string) => { score: number, until?: number }
  /** Is this connection a direct path (the NAT service's judgement)? Default: not through a relay. */
  isDirect?: (conn: Connection) => boolean
}

/** Tasks whose last placement is remembered for `task:failed-over` (the oldest are forgotten). */
const PLACEMENTS_KEPT = 10_000

/** A relayed connection is limited (circuit relay v2) or dialled through a `/p2p-circuit` address. */
export function connectionKind (conn: Pick<Connection, 'remoteAddr' | 'limits'>): ConnectionKind {
  return conn.limits != null || conn.remoteAddr.toString().includes('/p2p-circuit') ? 'relayed' : 'direct'
}

/**
 * Turns the services' callbacks into node events. Services stay unaware of the bus: the node
 * (create-node.ts) passes these methods as their callbacks, and `attach` follows libp2p's and the
 * store's own events while the node runs.
 */
export class EventWiring {
  /** Members a `peer:connected` was emitted for: only they get a `peer:disconnected`. */
  private readonly connected = new Set<string>()
  /** Where each task's latest attempt went, so a failover says where it moved from. */
  private readonly placements = new Map<string, string[]>()

  constructor (readonly events: NodeEvents, private readonly lookups: EventLookups) {}

  memberConnected (conn: Connection): void {
    const peer = conn.remotePeer.toString()
    this.connected.add(peer)
    this.events.record('peer:connected', { peer, name: this.lookups.name(peer), direction: conn.direction, connection: this.lookups.isDirect == null ? connectionKind(conn) : this.lookups.isDirect(conn) ? 'direct' : 'relayed', address: conn.remoteAddr.toString() })
  }

  refused (peer: PeerId, reason: string): void {
    this.events.record('peer:refused', { peer: peer.toString(), reason })
  }

  revoked (peer: string): void {
    this.events.record('member:revoked', { peer })
  }

  banned (peer: string): void {
    const { score, until } = this.lookups.ban(peer)
    this.events.record('peer:banned', { peer, name: this.lookups.name(peer), score: Math.round(score * 10) / 10, until: until != null ? new Date(until).toISOString() : undefined })
  }

  modeChanged (t: ConnectivityTransition): void {
    this.events.record('mode:changed', { from: t.from, to: t.to })
  }

  /** An entry replaced a version of its key by another writer. */
  cacheApplied (entry: StoredEntry, source: string, replaced?: StoredEntry): void {
    if (replaced == null || replaced.version.origin === entry.version.origin || source === 'redate') return
    this.events.record('cache:conflict', { key: entry.key, winner: entry.version.origin, loser: replaced.version.origin, path: source })
  }

  /** The node's cache authorization (roles, owned keys, quotas) refused an entry or a write. */
  cacheRefused (entry: StoredEntry, ctx: IntakeContext, refusal: { reason: string, detail?: string }): void {
    this.events.record('cache:refused', { key: entry.key, writer: entry.version.origin, from: ctx.from?.toString(), path: ctx.path, reason: refusal.reason, detail: refusal.detail })
  }

  spotChecked (r: SpotCheckReport): void {
    this.events.record('task:spot-checked', { taskId: r.taskId, kind: r.kind, verdict: r.verdict, peers: r.peers, wrong: r.wrong, detail: r.detail })
  }

  evidenceExamined (r: EvidenceReport): void {
    this.events.record('evidence:examined', { from: r.from, kind: r.kind, verdict: r.verdict, wrong: r.wrong, detail: r.detail })
  }

  task (e: TaskLifecycle): void {
    switch (e.type) {
      case 'submitted':
        this.events.record('task:submitted', { taskId: e.record.taskId, kind: e.record.kind, pinnedPeer: e.record.peer })
        return
      case 'started':
        this.events.record('task:started', { taskId: e.record.taskId, kind: e.record.kind, waitedMs: e.waitedMs })
        return
      case 'routed': {
        const { taskId, kind } = e.request
        const peers = planTargets(e.plan)
        const before = e.attempt > 1 ? this.placements.get(taskId) : undefined
        if (before != null) this.events.record('task:failed-over', { taskId, kind, attempt: e.attempt, from: before })
        this.events.record('task:routed', { taskId, kind, attempt: e.attempt, reason: routingReason(e.plan, e.request.peer != null), peers })
        this.placements.delete(taskId)
        this.placements.set(taskId, peers)
        if (this.placements.size > PLACEMENTS_KEPT) this.placements.delete(this.placements.keys().next().value as string)
        return
      }
      case 'finished': {
        const r = e.record
        this.placements.delete(r.taskId)
        this.events.record('task:finished', { taskId: r.taskId, kind: r.kind, status: r.status, peer: r.peer, peerName: this.lookups.name(r.peer), attempts: r.attempts, durationMs: r.durationMs, errorCode: r.errorCode, error: r.error })
      }
    }
  }

  served (run: RunReport): void {
    const origin = run.origin
    this.events.record('task:served', {
      taskId: run.taskId,
      kind: run.kind,
      origin,
      originName: origin === 'local' ? undefined : this.lookups.name(origin),
      status: run.error == null ? 'ok' : 'error',
      errorCode: run.error,
      queuedMs: run.queuedMs,
      runMs: run.runMs
    })
  }

  /** The host policy's decision changed (services/host): paused, capped, or every slot again. */
  serving (next: Serving, previous: Serving, of: number): void {
    if (next.paused) {
      this.events.record('host:paused', { reason: next.reason ?? 'paused', detail: next.detail, until: next.until != null ? new Date(next.until).toISOString() : undefined })
    } else if (next.reason != null) {
      this.events.record('host:capped', { slots: next.slots, of, reason: next.reason, detail: next.detail })
    } else if (previous.reason != null) {
      this.events.record('host:resumed', { slots: next.slots, after: previous.reason })
    }
  }

  /** Follow libp2p's disconnections and the store's condition while the node runs; returns the detach. */
  attach (libp2p: Pick<Libp2p, 'addEventListener' | 'removeEventListener'>, storage: StorageHealth): () => void {
    const onDisconnect = (evt: CustomEvent<PeerId>): void => {
      const peer = evt.detail.toString()
      if (!this.connected.delete(peer)) return
      this.events.record('peer:disconnected', { peer, name: this.lookups.name(peer) })
    }
    libp2p.addEventListener('peer:disconnect', onDisconnect)
    const removeStorage = storage.onChange((event: StorageEvent) => {
      if (event.type === 'failed') this.events.record('storage:failed', { error: event.fault.reason, op: event.op, detail: event.fault.detail })
      else this.events.record('storage:recovered', { downMs: event.downMs, writesRefused: event.writesRefused })
    })
    return () => {
      libp2p.removeEventListener('peer:disconnect', onDisconnect)
      removeStorage()
      this.connected.clear()
    }
  }
}

function planTargets (plan: Plan): string[] {
  if (plan.mode === 'direct') return [plan.target.peerId]
  if (plan.mode === 'reserve') return plan.targets.map(t => t.peerId)
  return []
}

/** Why a plan goes where it goes, in the words of `task:routed` and `fedmesh_routing_decisions_total`. */
export function routingReason (plan: Plan, pinned: boolean): RoutingReason {
  if (plan.mode === 'none') return 'no-candidate'
  if (pinned) return 'pinned'
  if (plan.mode === 'reserve') return 'late-binding'
  if (plan.target.local && plan.maxWaitMs === 0 && plan.target.queueWaitMs === 0) return 'local'
  return plan.maxWaitMs > 0 ? 'free-slot' : 'only-candidate'
}
