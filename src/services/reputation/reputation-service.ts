import { ReputationLedger } from '../../core/reputation/index.js'
import { SECOND } from '../../util/time.js'
import type { PeerReputation, ReputationAction, ReputationUpdate } from '../../core/reputation/index.js'
import type { Sublevel } from '../../store/store.js'
import type { Clock } from '../../util/time.js'
import type { ComponentLogger, CounterGroup, Logger, Metrics, Startable } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

const SNAPSHOT_KEY = 'snapshot'

export interface ReputationInit {
  ledger: ReputationLedger
  /** Where the ledger (and its bans) persist; none = memory only. */
  store?: Sublevel
  /** How often the ledger is written, ms. Default 30 s (and on stop). */
  persistIntervalMs?: number
  /** A peer was just banned (membership stops dialling it). */
  onBan?: (peer: string) => void
}

export interface ReputationComponents {
  connectionManager: ConnectionManager
  logger: ComponentLogger
  metrics?: Metrics
}

/** Restore the persisted ledger (bans survive restarts), or start a fresh one. */
export async function loadLedger (store: Sublevel | undefined, init: { clock: Clock }): Promise<ReputationLedger> {
  const bytes = store == null ? undefined : await store.get(SNAPSHOT_KEY)
  if (bytes == null) return new ReputationLedger(init)
  try {
    return ReputationLedger.restore(JSON.parse(new TextDecoder().decode(bytes)), init)
  } catch {
    return new ReputationLedger(init)
  }
}

/**
 * The node's reputation ledger as a service: every subsystem reports what peers did; a peer that
 * falls below the ban line is disconnected and refused (the connection gater consults the same
 * ledger) for the ban's duration, across restarts.
 */
export class ReputationService implements Startable {
  readonly ledger: ReputationLedger
  private readonly log: Logger
  private timer: NodeJS.Timeout | undefined
  private readonly actions?: CounterGroup

  constructor (private readonly components: ReputationComponents, private readonly init: ReputationInit) {
    this.ledger = init.ledger
    this.log = components.logger.forComponent('fedmesh:reputation')
    this.actions = components.metrics?.registerCounterGroup('fedmesh_reputation_actions_total', {
      label: 'action',
      help: 'Reputation actions reported, by kind'
    })
    components.metrics?.registerMetricGroup('fedmesh_reputation_peers', {
      label: 'state',
      help: 'Peers in the ledger by state',
      calculate: () => {
        const counts = { healthy: 0, avoid: 0, banned: 0 }
        for (const p of this.ledger.list()) counts[p.state]++
        return counts
      }
    })
  }

  readonly [Symbol.toStringTag] = 'fedmesh:reputation'

  start (): void {
    this.timer = setInterval(() => { void this.persist() }, this.init.persistIntervalMs ?? 30 * SECOND)
  }

  async stop (): Promise<void> {
    clearInterval(this.timer)
    await this.persist()
  }

  report (peer: string, action: ReputationAction, count = 1): ReputationUpdate {
    const update = this.ledger.apply(peer, action, count)
    this.actions?.increment(actionLabel(action))
    if (update.state === 'banned' && update.previousState !== 'banned') this.ban(peer, update)
    return update
  }

  describe (peer: string): PeerReputation {
    return this.ledger.describe(peer)
  }

  isBanned (peer: string): boolean {
    return this.ledger.isBanned(peer)
  }

  private ban (peer: string, update: ReputationUpdate): void {
    this.log('banning %s (score %d)', peer, update.score)
    this.init.onBan?.(peer)
    for (const c of this.components.connectionManager.getConnections()) {
      if (c.remotePeer.toString() === peer) c.abort(new Error('peer banned for bad reputation'))
    }
    void this.persist()
  }

  private async persist (): Promise<void> {
    if (this.init.store == null) return
    try {
      await this.init.store.put(SNAPSHOT_KEY, new TextEncoder().encode(JSON.stringify(this.ledger.snapshot())))
    } catch (err) {
      this.log.error('could not persist the reputation ledger - %e', err)
    }
  }
}

export function reputation (init: ReputationInit): (components: ReputationComponents) => ReputationService {
  return (components) => new ReputationService(components, init)
}

/** The counter label of each action, made once (a computed-key literal per report is a new object each time). */
const ACTION_LABELS = new Map<ReputationAction, Record<string, true>>()

function actionLabel (action: ReputationAction): Record<string, true> {
  let label = ACTION_LABELS.get(action)
  if (label == null) {
    label = { [action]: true }
    ACTION_LABELS.set(action, label)
  }
  return label
}
