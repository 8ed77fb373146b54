import { randomUUID } from 'node:crypto'
import { ErrorCode } from '../../wire/task.js'
import { sha256 } from './receipt.js'
import type { DispatchRequest, DispatchResult } from './dispatcher.js'
import type { Claim, Evidence } from '../../wire/evidence.js'

/**
 * Spot checks for deterministic kinds: a share of the tasks a peer answered runs again on a
 * different node, under a fresh id (a check looks like any other task). Outputs that agree are
 * the answer. Outputs that differ go to a third node (or, when this node ran one of them, its
 * own run decides): the output two runs agree on is returned and the peer whose output lost is
 * blamed (`wrong-result`); with no agreement nothing is returned (RESULT_DISPUTED) and nobody
 * is blamed. A wrong result from a checked task never reaches the user.
 */
export interface SpotCheckInit {
  /** Share of remotely answered tasks of a checked kind that run again elsewhere, 0-1. */
  fraction: number
  /** The kinds whose runs must agree (deterministic: same input, same output on every node). */
  kinds: ReadonlySet<string>
  selfId: string
  random: () => number
  /** Runs one task anywhere except `avoid` (the task service's dispatcher). */
  dispatch: (req: DispatchRequest & { avoid: readonly string[] }) => Promise<DispatchResult>
  /** A peer returned a result that other runs disproved. */
  blame: (peer: string) => void
  onChecked?: (check: SpotCheckReport) => void
  /**
   * A wrong result was found and its signer's receipt is at hand: the proof to share
   * (protocols/evidence.md). Only for inputs up to MAX_EVIDENCE_INPUT_BYTES.
   */
  onEvidence?: (evidence: Evidence) => void
}

/** Evidence carries the input: larger inputs are not shared (receivers would re-run them too). */
export const MAX_EVIDENCE_INPUT_BYTES = 64 * 1024

export type SpotCheckVerdict = 'agreed' | 'wrong-result' | 'disputed' | 'unchecked'

export interface SpotCheckReport {
  taskId: string
  kind: string
  verdict: SpotCheckVerdict
  /** Where each run went, the first answer first. */
  peers: string[]
  /** The peer whose output lost (verdict `wrong-result`). */
  wrong?: string
  /** Why a check could not decide (`unchecked`: no other node answered). */
  detail?: string
}

export class SpotChecker {
  constructor (private readonly init: SpotCheckInit) {}

  /** Whether to check this answer: a checked kind, answered by a peer, not pinned there, drawn. */
  wants (req: DispatchRequest, first: DispatchResult): boolean {
    return first.outcome.error === ErrorCode.NONE && req.peer == null && first.peer !== this.init.selfId &&
      this.init.kinds.has(req.kind) && this.init.fraction > 0 && this.init.random() < this.init.fraction
  }

  /** Run the task again elsewhere and return the answer runs agree on (see the class comment). */
  async check (req: DispatchRequest, first: DispatchResult, deadline: number, now: () => number): Promise<DispatchResult> {
    let failure = 'no time left'
    const again = async (avoid: string[]): Promise<DispatchResult | undefined> => {
      const left = deadline - now()
      if (left <= 0) return undefined
      const r = await this.init.dispatch({ ...req, taskId: randomUUID(), timeoutMs: left, avoid })
      if (r.outcome.error === ErrorCode.NONE) return r
      failure = `${r.outcome.error}: ${r.outcome.message}`
      return undefined
    }
    const report = (verdict: SpotCheckVerdict, peers: string[], extra: Partial<SpotCheckReport> = {}): void => {
      this.init.onChecked?.({ taskId: req.taskId, kind: req.kind, verdict, peers, ...extra })
    }
    const second = await again([first.peer])
    if (second == null) {
      report('unchecked', [first.peer], { detail: `no other node answered the check (${failure})` })
      return first
    }
    if (sameOutput(first, second)) {
      report('agreed', [first.peer, second.peer])
      return first
    }
    // This node's own run is the owner's ground truth: no third run needed.
    const third = second.peer === this.init.selfId ? second : await again([first.peer, second.peer])
    const peers = third === second ? [first.peer, second.peer] : [first.peer, second.peer, ...(third != null ? [third.peer] : [])]
    const right = third == null ? undefined : sameOutput(third, first) ? first : sameOutput(third, second) ? second : undefined
    if (right == null) {
      report('disputed', peers, { detail: third == null ? `no third node answered (${failure})` : 'three different outputs' })
      return disputed(req, first, second, third)
    }
    const wrong = right === first ? second : first
    this.init.blame(wrong.peer)
    report('wrong-result', peers, { wrong: wrong.peer })
    this.share(req, wrong, [first, second, ...(third != null && third !== second ? [third] : [])])
    return { ...right, attempts: first.attempts + second.attempts + (third != null && third !== second ? third.attempts : 0) }
  }

  /** The signed receipts of the runs, when the wrong one's is among them (else nothing is provable). */
  private share (req: DispatchRequest, wrong: DispatchResult, runs: DispatchResult[]): void {
    if (this.init.onEvidence == null || req.input.byteLength > MAX_EVIDENCE_INPUT_BYTES) return
    const claims: Claim[] = runs.filter(r => r.peer !== this.init.selfId && (r.outcome.receipt?.byteLength ?? 0) > 0).map(r => ({
      signer: r.peer,
      taskId: r.outcome.taskId,
      outputDigest: sha256(r.outcome.output) as Uint8Array<ArrayBuffer>,
      signature: r.outcome.receipt as Uint8Array<ArrayBuffer>
    }))
    if (!claims.some(c => c.signer === wrong.peer)) return
    this.init.onEvidence({ kind: req.kind, input: req.input as Uint8Array<ArrayBuffer>, claims })
  }
}

function sameOutput (a: DispatchResult, b: DispatchResult): boolean {
  return Buffer.compare(a.outcome.output, b.outcome.output) === 0
}

function disputed (req: DispatchRequest, first: DispatchResult, second: DispatchResult, third: DispatchResult | undefined): DispatchResult {
  const where = [first.peer, second.peer, ...(third != null ? [third.peer] : [])].join(', ')
  const message = `the runs of this deterministic kind disagree (${where}) and no two agree: no result is returned`
  return {
    outcome: { taskId: req.taskId, error: ErrorCode.RESULT_DISPUTED, output: new Uint8Array(0), message, queuedMs: 0, runMs: 0, deduped: false },
    peer: first.peer,
    attempts: first.attempts + second.attempts + (third?.attempts ?? 0)
  }
}
