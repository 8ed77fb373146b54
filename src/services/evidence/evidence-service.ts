import { TopicValidatorResult } from '@libp2p/gossipsub'
import { Evidence } from '../../wire/evidence.js'
import { isValidKind } from '../tasks/frame-limits.js'
import { sha256, verifyClaim } from '../tasks/receipt.js'
import { MAX_EVIDENCE_INPUT_BYTES } from '../tasks/spot-check.js'
import { SECOND } from '../../util/time.js'
import { EVIDENCE_TOPIC } from './topic.js'
import type { Clock } from '../../util/time.js'
import type { GossipSub, Message } from '@libp2p/gossipsub'
import type { ComponentLogger, Logger, PeerId, Startable } from '@libp2p/interface'

export { EVIDENCE_TOPIC }

/** One message at most: the input, up to four claims and the framing. */
const MAX_MESSAGE_BYTES = MAX_EVIDENCE_INPUT_BYTES + 16 * 1024
const MIN_CLAIMS = 1
const MAX_CLAIMS = 4
/** Evidence examined per sender at most once in this long: each one may cost a local run. */
const DEFAULT_MIN_INTERVAL_MS = 10 * SECOND

export type EvidenceVerdict = 'applied' | 'refuted' | 'unverifiable'

export interface EvidenceReport {
  /** Who published it. */
  from: string
  kind: string
  verdict: EvidenceVerdict
  /** Signers this node's own run disproved (charged `wrong-result`). */
  wrong: string[]
  detail?: string
}

export interface EvidenceServiceInit {
  clock: Clock
  /**
   * This node's own output for `kind` on `input`, when it serves the kind and its owner marked it
   * deterministic (undefined: it cannot tell). Runs as this node's own task.
   */
  runHere: (kind: string, input: Uint8Array) => Promise<Uint8Array | undefined>
  /** Whether `runHere` could answer for `kind` (checked before any signature work). */
  canRun: (kind: string) => boolean
  /** A signer lied (`wrong-result`), or a sender forwarded a forged claim (`invalid-message`). */
  charge: (peer: string, why: 'wrong-result' | 'invalid-message') => void
  onReport?: (report: EvidenceReport) => void
  /** Default 10 s. */
  minIntervalMs?: number
}

export interface EvidenceServiceComponents {
  pubsub: GossipSub
  logger: ComponentLogger
}

/**
 * Shares proof of wrong results and checks what others share: a report is believed only as far
 * as this node can see for itself (signed claims, and its own run of the same input).
 */
export class EvidenceService implements Startable {
  private readonly log: Logger
  private readonly lastExamined = new Map<string, number>()
  private readonly minIntervalMs: number
  private started = false

  constructor (private readonly components: EvidenceServiceComponents, private readonly init: EvidenceServiceInit) {
    this.log = components.logger.forComponent('fedmesh:evidence')
    this.minIntervalMs = init.minIntervalMs ?? DEFAULT_MIN_INTERVAL_MS
    this.validate = this.validate.bind(this)
  }

  readonly [Symbol.toStringTag] = 'fedmesh:evidence'

  async start (): Promise<void> {}

  // Gossipsub is another service: usable once every service has started.
  afterStart (): void {
    if (this.started) return
    this.started = true
    this.components.pubsub.topicValidators.set(EVIDENCE_TOPIC, this.validate)
    this.components.pubsub.subscribe(EVIDENCE_TOPIC)
  }

  beforeStop (): void {
    if (!this.started) return
    this.started = false
    this.components.pubsub.topicValidators.delete(EVIDENCE_TOPIC)
    this.components.pubsub.unsubscribe(EVIDENCE_TOPIC)
  }

  async stop (): Promise<void> {}

  /** Tell the mesh (a spot check here found a wrong result). */
  publish (evidence: Evidence): void {
    if (!this.started) return
    this.components.pubsub.publish(EVIDENCE_TOPIC, Evidence.encode(evidence)).catch(err => {
      // No peer subscribed yet: nothing to do, the result was kept from the user anyway.
      this.log('evidence not published - %e', err)
    })
  }

  /**
   * Decode, rate-limit, check the signatures; forward what holds up. The local run happens after
   * (it may take the kind's whole run time) and only changes this node's own judgement.
   */
  private async validate (_source: PeerId, msg: Message): Promise<TopicValidatorResult> {
    if (msg.type !== 'signed') return TopicValidatorResult.Reject
    const from = msg.from.toString()
    if (msg.data.byteLength > MAX_MESSAGE_BYTES) return TopicValidatorResult.Reject
    let e: Evidence
    try {
      e = Evidence.decode(msg.data, { limits: { claims: MAX_CLAIMS } })
    } catch {
      return TopicValidatorResult.Reject
    }
    if (!isValidKind(e.kind) || e.input.byteLength > MAX_EVIDENCE_INPUT_BYTES || e.claims.length < MIN_CLAIMS) return TopicValidatorResult.Reject
    const now = this.init.clock.now()
    if (now - (this.lastExamined.get(from) ?? -Infinity) < this.minIntervalMs) return TopicValidatorResult.Ignore
    this.lastExamined.set(from, now)
    if (this.lastExamined.size > 4096) this.lastExamined.clear()
    const inputDigest = sha256(e.input)
    const valid = []
    for (const claim of e.claims) {
      if (await verifyClaim(claim, e.kind, inputDigest)) valid.push(claim)
    }
    if (valid.length < e.claims.length) {
      this.init.charge(from, 'invalid-message')
      this.log('evidence from %s carries a forged claim', from)
      return TopicValidatorResult.Reject
    }
    void this.examine(from, e, valid).catch(err => { this.log.error('examining evidence failed - %e', err) })
    return TopicValidatorResult.Accept
  }

  private async examine (from: string, e: Evidence, claims: Evidence['claims']): Promise<void> {
    const report = (verdict: EvidenceVerdict, wrong: string[], detail?: string): void => {
      this.init.onReport?.({ from, kind: e.kind, verdict, wrong, ...(detail != null ? { detail } : {}) })
    }
    if (!this.init.canRun(e.kind)) { report('unverifiable', [], 'this node does not run the kind as deterministic'); return }
    const output = await this.init.runHere(e.kind, e.input)
    if (output == null) { report('unverifiable', [], 'the run here did not succeed'); return }
    const mine = sha256(output)
    const wrong = [...new Set(claims.filter(c => Buffer.compare(c.outputDigest, mine) !== 0).map(c => c.signer))]
    for (const peer of wrong) this.init.charge(peer, 'wrong-result')
    report(wrong.length > 0 ? 'applied' : 'refuted', wrong)
  }
}

export function evidence (init: EvidenceServiceInit): (components: EvidenceServiceComponents) => EvidenceService {
  return (components) => new EvidenceService(components, init)
}
