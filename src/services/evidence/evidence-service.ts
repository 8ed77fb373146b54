import { TopicValidatorResult } from '@libp2p/gossipsub'
import { LRUCache } from 'lru-cache'
import { Evidence } from '../../wire/evidence.js'
import { isValidKind } from '../tasks/frame-limits.js'
import { sha256, verifyClaim } from '../tasks/receipt.js'
import { MAX_EVIDENCE_INPUT_BYTES } from '../tasks/spot-check.js'
import { takeAllowance } from '../../util/allowance.js'
import type { AllowanceRule, AllowanceState } from '../../util/allowance.js'
import { joinLine, LINE_LENGTH } from './fair-line.js'
import { EVIDENCE_ALLOWANCE, EVIDENCE_TOPIC } from './topic.js'
import type { Clock } from '../../util/time.js'
import type { PeerState } from '../../core/reputation/score.js'
import type { GossipSub, Message } from '@libp2p/gossipsub'
import type { ComponentLogger, Logger, PeerId, Startable } from '@libp2p/interface'

export { EVIDENCE_TOPIC }

/** One message at most: the input, up to four claims and the framing. */
const MAX_MESSAGE_BYTES = MAX_EVIDENCE_INPUT_BYTES + 16 * 1024
const MAX_CLAIMS = 4
/** Receipts older than this (or signed this far in the future) are not evidence any more. */
const MAX_CLAIM_AGE_S = 60 * 60
const MAX_CLAIM_FUTURE_S = 5 * 60
/** Senders remembered for the rate limit, receipts already charged, inputs already run here. */
const MEMORY_ENTRIES = 4_096

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
  /** This node's peer id: its own claims are never charged. */
  selfId: string
  /**
   * This node's own output for `kind` on `input`, when it serves the kind and its owner marked
   * it deterministic (undefined: it cannot tell). Runs as a task `from` the evidence's sender,
   * so the kind's allow list, pauses and fair shares apply as to any task from that member.
   */
  runHere: (kind: string, input: Uint8Array, from: string) => Promise<Uint8Array | undefined>
  /** Whether `runHere` could answer for `kind` (checked before any signature work). */
  canRun: (kind: string) => boolean
  /** A signer lied (`wrong-result`), or a sender forwarded a forged claim (`invalid-message`). */
  charge: (peer: string, why: 'wrong-result' | 'invalid-message') => void
  /**
   * This node's reputation state of a peer. Evidence naming a signer it bans is not run: the ban
   * already cuts that signer off, so a run (a slot for a whole run of the kind) would change
   * nothing. A signer merely avoided is still run against: one proof avoids a liar and the next
   * bans it, and an honest peer may be avoided for load alone. Default: every peer healthy.
   */
  stateOf?: (peer: string) => PeerState
  onReport?: (report: EvidenceReport) => void
  /** How much evidence per sender is examined. Default `EVIDENCE_ALLOWANCE`: 3 at once, then one per 10 s. */
  allowance?: AllowanceRule
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
  private readonly examinedPerSender = new LRUCache<string, AllowanceState>({ max: MEMORY_ENTRIES })
  /** `signer taskId` of receipts already charged here: a republished proof costs nothing twice. */
  private readonly charged = new LRUCache<string, true>({ max: MEMORY_ENTRIES })
  /** This node's own output digest per `kind digest(input)`: one run per input. */
  private readonly ownOutputs = new LRUCache<string, Uint8Array>({ max: MEMORY_ENTRIES })
  private readonly allowance: AllowanceRule
  /** One examination at a time: each may run a command here. */
  private examining = false
  /** Examinations waiting for the one running, oldest first: each is woken holding the turn (true) or turned away (false). */
  private readonly waiting: Array<{ from: string, wake: (go: boolean) => void }> = []
  private started = false

  constructor (private readonly components: EvidenceServiceComponents, private readonly init: EvidenceServiceInit) {
    this.log = components.logger.forComponent('fedmesh:evidence')
    this.allowance = init.allowance ?? EVIDENCE_ALLOWANCE
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
    if (!isValidKind(e.kind) || e.input.byteLength > MAX_EVIDENCE_INPUT_BYTES) return TopicValidatorResult.Reject
    // A proof needs two signers who claim different outputs: one claim alone proves nothing
    // (and would buy a free run here).
    if (new Set(e.claims.map(c => c.signer)).size < 2 || new Set(e.claims.map(c => Buffer.from(c.outputDigest).toString('hex'))).size < 2) return TopicValidatorResult.Reject
    const nowS = this.init.clock.now() / 1000
    if (e.claims.some(c => c.issuedAt < nowS - MAX_CLAIM_AGE_S || c.issuedAt > nowS + MAX_CLAIM_FUTURE_S)) return TopicValidatorResult.Ignore
    const now = this.init.clock.now()
    if (!takeAllowance(this.examinedPerSender, from, now, this.allowance)) return TopicValidatorResult.Ignore
    const inputDigest = sha256(e.input)
    for (const claim of e.claims) {
      if (await verifyClaim(claim, e.kind, inputDigest)) continue
      this.init.charge(from, 'invalid-message')
      this.log('evidence from %s carries a forged claim', from)
      return TopicValidatorResult.Reject
    }
    void this.examine(from, e, inputDigest).catch(err => { this.log.error('examining evidence failed - %e', err) })
    return TopicValidatorResult.Accept
  }

  private async examine (from: string, e: Evidence, inputDigest: Uint8Array): Promise<void> {
    const report = (verdict: EvidenceVerdict, wrong: string[], detail?: string): void => {
      this.init.onReport?.({ from, kind: e.kind, verdict, wrong, ...(detail != null ? { detail } : {}) })
    }
    if (!this.init.canRun(e.kind)) { report('unverifiable', [], 'this node does not run the kind as deterministic'); return }
    const key = `${e.kind} ${Buffer.from(inputDigest).toString('hex')}`
    const banned = (): string | undefined => e.claims.find(c => c.signer !== this.init.selfId && this.init.stateOf?.(c.signer) === 'banned')?.signer
    const notRun = (signer: string): void => { report('unverifiable', [], `not run: this node already bans signer ${signer}`) }
    let mine = this.ownOutputs.get(key)
    if (mine == null) {
      // Before waiting (evidence that would not be run takes no place in the line) and after it.
      const before = banned()
      if (before != null) { notRun(before); return }
      if (!await this.takeTurn(from)) { report('unverifiable', [], `busy: ${LINE_LENGTH} pieces of evidence already wait for a run here`); return }
      try {
        // Stopped while this waited: nothing more runs for the mesh (stop does not wait for the line).
        if (!this.started) return
        // Read again after the wait: an earlier examination may have run this input, or charged a
        // signer (charges happen before the turn passes on: see the end of this method).
        mine = this.ownOutputs.get(key)
        const after = banned()
        if (mine == null && after != null) { notRun(after); return }
        if (mine == null) {
          const output = await this.init.runHere(e.kind, e.input, from)
          if (output == null) { report('unverifiable', [], 'the run here did not succeed (or the kind\'s allow list does not admit the sender)'); return }
          mine = sha256(output)
          this.ownOutputs.set(key, mine)
        }
      } finally {
        this.passTurn()
      }
    }
    if (!this.started) return
    // Synchronous from passTurn to here: the next waiter reads the charges below.
    const own = mine
    const wrong = [...new Set(e.claims.filter(c => c.signer !== this.init.selfId && Buffer.compare(c.outputDigest, own) !== 0 && !this.charged.has(`${c.signer} ${c.taskId}`)).map(c => {
      this.charged.set(`${c.signer} ${c.taskId}`, true)
      return c.signer
    }))]
    for (const peer of wrong) this.init.charge(peer, 'wrong-result')
    report(wrong.length > 0 ? 'applied' : 'refuted', wrong)
  }

  /** Wait for the one examination that may run here (false: too many wait already). */
  private async takeTurn (from: string): Promise<boolean> {
    if (!this.examining) {
      this.examining = true
      return true
    }
    return await new Promise<boolean>(resolve => {
      // A full line makes room by its fair rule (fair-line.ts), or turns this one away.
      const { joined, displaced } = joinLine(this.waiting, { from, wake: resolve })
      displaced?.wake(false)
      if (!joined) resolve(false)
    })
  }

  /** The turn goes to the oldest waiting examination, if any. */
  private passTurn (): void {
    const next = this.waiting.shift()
    if (next != null) next.wake(true)
    else this.examining = false
  }
}

export function evidence (init: EvidenceServiceInit): (components: EvidenceServiceComponents) => EvidenceService {
  return (components) => new EvidenceService(components, init)
}
