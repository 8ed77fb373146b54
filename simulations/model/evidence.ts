/**
 * Shared evidence of wrong results in model mode, as the evidence service shares it
 * (src/services/evidence): an honest node whose check caught a wrong answer publishes the proof
 * (the wrong peer's receipt and its own), and every other honest node examines what its
 * allowance per sender admits, one at a time (up to 16 waiting): unless it already bans
 * one of the two signers, it runs the input itself (a slot on its own executor, a batch task
 * from the sender) and charges the wrong peer `wrong-result` when its run disagrees. The model's
 * wrong-result peers sign their receipts and always answer wrongly: a completed run disagrees.
 * Gossipsub's flood is modelled as one relay: two one-way delays from the publisher. Malicious
 * nodes neither publish nor examine (what they believe changes nothing measured).
 */
import { ReputationAction } from '../../src/core/reputation/index.js'
import { ErrorCode } from '../../src/wire/task.js'
import { joinLine } from '../../src/services/evidence/fair-line.js'
import { EVIDENCE_ALLOWANCE } from '../../src/services/evidence/topic.js'
import { takeAllowance } from '../../src/util/allowance.js'
import { CHECK_KIND } from './sim-node.js'
import { HONEST } from './world.js'
import type { SimNode } from './sim-node.js'
import type { VirtualTime } from './virtual-time.js'
import type { World } from './world.js'

export interface EvidenceModelInit {
  vt: VirtualTime
  w: World
  nodes: readonly SimNode[]
  ids: readonly string[]
  /** Budget of an examination's own run, ms (the kind's timeout). */
  runTimeoutMs: number
  count: (what: string) => void
}

export class EvidenceModel {
  private runs = 0

  constructor (private readonly init: EvidenceModelInit) {}

  /** Honest node `from` caught peer `wrong` answering task `task` wrongly: tell everyone. */
  published (from: number, wrong: number, task: number): void {
    const { w, vt, nodes } = this.init
    if (w.malice[from] !== HONEST) return
    this.init.count('evidence-published')
    for (let y = 0; y < nodes.length; y++) {
      if (y === from || y === wrong || w.malice[y] !== HONEST) continue
      vt.q.after(2 * w.net.oneWay(from, y), () => { this.examine(nodes[y], from, wrong, task) })
    }
  }

  private examine (node: SimNode, from: number, wrong: number, task: number): void {
    const executor = node.executor
    const ledger = node.ledger
    if (!node.alive || executor === undefined || ledger === undefined) return
    const now = this.init.vt.q.now
    if (!takeAllowance(node.evidenceAllowance, from, now, EVIDENCE_ALLOWANCE)) {
      this.init.count('evidence-rate-limited')
      return
    }
    const examination = { from, wrong, task }
    if (this.bansASigner(node, examination)) this.init.count('evidence-banned-signer')
    else if (!node.examining) this.run(node, examination)
    else this.wait(node, examination)
  }

  /** Into the line (the service's rule when it is full: fair-line.ts). */
  private wait (node: SimNode, e: Examination): void {
    const { joined, displaced } = joinLine(node.evidenceWaiting, e)
    if (!joined || displaced !== undefined) this.init.count('evidence-busy')
  }

  /** Examine one piece of evidence on `node`, then the next one waiting. */
  private run (node: SimNode, e: Examination): void {
    const executor = node.executor
    const ledger = node.ledger
    if (executor === undefined || ledger === undefined) return
    const { ids } = this.init
    if (this.bansASigner(node, e)) {
      this.init.count('evidence-banned-signer')
      this.next(node)
      return
    }
    node.examining = true
    const inc = node.life.incarnation
    const input = new Uint8Array(4)
    new DataView(input.buffer).setUint32(0, e.task)
    const taskId = `check-${node.index}-${this.runs++}`
    const done = (applied: boolean): void => {
      if (node.life.incarnation !== inc) return
      if (applied) ledger.apply(ids[e.wrong], ReputationAction.WrongResult)
      this.init.count(applied ? 'evidence-applied' : 'evidence-unverifiable')
      this.next(node)
    }
    executor.submit({ taskId, kind: CHECK_KIND, input, deadlineMs: this.init.runTimeoutMs, origin: ids[e.from], priority: 'batch' })
      .then(outcome => { done(outcome.error === ErrorCode.NONE) }, () => { done(false) })
  }

  /** The evidence service's `banned` (as the daemon wires it): a signer already banned here is not run for. */
  private bansASigner (node: SimNode, e: Examination): boolean {
    const now = this.init.vt.q.now
    const { ids } = this.init
    return node.ledger !== undefined && (node.ledger.state(ids[e.wrong], now) === 'banned' || node.ledger.state(ids[e.from], now) === 'banned')
  }

  private next (node: SimNode): void {
    node.examining = false
    const e = node.evidenceWaiting.shift()
    if (e !== undefined) this.run(node, e)
  }
}

export interface Examination {
  /** Who published it, whom it proves wrong, and the task whose input it carries. */
  from: number
  wrong: number
  task: number
}
