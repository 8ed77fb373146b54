import { randomUUID } from 'node:crypto'
import { ErrorCode } from '../../wire/task.js'
import { sha256, verifyClaim } from './receipt.js'
import type { DispatchRequest, DispatchResult } from './dispatcher.js'
import type { Receipt } from './receipt.js'
import type { Claim, Evidence } from '../../wire/evidence.js'

/**
 * Spot checks for deterministic kinds: a share of the tasks a peer answered runs again on a
 * different node, under a fresh id (a check looks like any other task). Outputs that agree are
 * the answer. Outputs that differ go to a third node (or, when this node ran one of them, its
 * own run decides): the output two runs agree on is returned and the peer whose output lost is
 * blamed (`wrong-result`); with no agreement nothing is returned (RESULT_DISPUTED) and nobody
 * is blamed. A wrong result from a checked task never reaches the user.
 *
 * "Deterministic" means the same program on every member: a member running another version of
 * the kind cannot be told from one that lies.
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
   * A wrong result was found and its signer's receipt holds: the proof to share
   * (protocols/evidence.md). Only for inputs up to MAX_EVIDENCE_INPUT_BYTES.
   */
  onEvidence?: (evidence: Evidence) => void
  /** Sign this node's own run (its claim, when its run decided). */
  sign?: (taskId: string, kind: string, input: Uint8Array, output: Uint8Array) => Promise<Receipt>
}

/** Evidence carries the input: larger inputs are not shared (receivers would re-run them too). */
export const MAX_EVIDENCE_INPUT_BYTES = 64 * 1024
/** A check waits at most this long, or 4 × the first run's time and 2 s more when that is longer. */
export const MIN_CHECK_BUDGET_MS = 5_000

export type SpotCheckVerdict = 'agreed' | 'wrong-result' | 'disputed' | 'unchecked'

export interface SpotCheckReport {
  taskId: string
  kind: string
  verdict: SpotCheckVerdict
  /** Where each run went, the first answer first. */
  peers: string[]
  /** The peer whose output lost (verdict `wrong-result`). */
  wrong?: string
  /** Why a check could not decide (`unchecked`: no other node answered, or the task was cancelled). */
  detail?: string
}

/** One run and the task id this node sent it under (a receipt signs that id, not an echo of it). */
interface Run {
  result: DispatchResult
  taskId: string
}

export class SpotChecker {
  constructor (private readonly init: SpotCheckInit) {}

  /**
   * Whether to check this answer: a checked kind, answered by a peer, not pinned there, and
   * drawn at `fraction` — or carrying no receipt that verifies under the peer's key. An unsigned
   * answer could not be proven wrong to the others (no evidence without the liar's signature),
   * so a peer that does not sign gets every answer checked: refusing to sign buys nothing.
   * `fraction` 0 checks nothing.
   */
  async wants (req: DispatchRequest, first: DispatchResult): Promise<boolean> {
    if (first.outcome.error !== ErrorCode.NONE || req.peer != null || first.peer === this.init.selfId) return false
    if (!this.init.kinds.has(req.kind) || this.init.fraction <= 0) return false
    if (this.init.random() < this.init.fraction) return true
    return !await signedByPeer(req, first)
  }

  /** Run the task again elsewhere and return the answer runs agree on (see the class comment). */
  async check (req: DispatchRequest, answer: DispatchResult, deadline: number, now: () => number): Promise<DispatchResult> {
    const first: Run = { result: answer, taskId: req.taskId }
    // A check has its own budget: a slow or hung checker must not hold a good answer to the deadline.
    const checkEnd = Math.min(deadline, now() + Math.max(MIN_CHECK_BUDGET_MS, 4 * answer.outcome.runMs + 2_000))
    let failure = 'no time left'
    // Read afresh each time: the submitter may cancel while a run is out.
    const cancelled = (): boolean => req.signal?.aborted === true
    const again = async (avoid: string[]): Promise<Run | undefined> => {
      const left = checkEnd - now()
      if (left <= 0 || cancelled()) return undefined
      const taskId = randomUUID()
      const r = await this.init.dispatch({ ...req, taskId, timeoutMs: left, avoid, acceptedAt: now() })
      if (r.outcome.error === ErrorCode.NONE) return { result: r, taskId }
      failure = `${r.outcome.error}: ${r.outcome.message}`
      return undefined
    }
    const report = (verdict: SpotCheckVerdict, runs: Run[], extra: Partial<SpotCheckReport> = {}): void => {
      this.init.onChecked?.({ taskId: req.taskId, kind: req.kind, verdict, peers: runs.map(r => r.result.peer), ...extra })
    }
    const unchecked = (runs: Run[]): DispatchResult => {
      report('unchecked', runs, { detail: cancelled() ? 'the task was cancelled' : `no other node answered the check (${failure})` })
      return answer
    }

    const second = await again([answer.peer])
    if (second == null || cancelled()) return unchecked([first])
    if (sameOutput(first, second)) {
      report('agreed', [first, second])
      return answer
    }
    // This node's own run is the owner's ground truth: no third run needed.
    const ownRun = second.result.peer === this.init.selfId
    const third = ownRun ? second : await again([answer.peer, second.result.peer])
    const runs = ownRun || third == null ? [first, second] : [first, second, third]
    if (third == null && cancelled()) return unchecked(runs)
    const right = third == null ? undefined : sameOutput(third, first) ? first : sameOutput(third, second) ? second : undefined
    if (right == null) {
      report('disputed', runs, { detail: third == null ? `no third node answered (${failure})` : 'three different outputs' })
      return disputed(req, runs)
    }
    const wrong = right === first ? second : first
    this.init.blame(wrong.result.peer)
    report('wrong-result', runs, { wrong: wrong.result.peer })
    void this.share(req, wrong, runs).catch(() => {})
    return { ...right.result, attempts: runs.reduce((n, r) => n + r.result.attempts, 0) }
  }

  /**
   * Publish the signed receipts of the runs when they prove the wrong one: its receipt must
   * verify, and at least one other signer must claim a different output (this node signs its
   * own run for that). Claims that do not verify are left out, never forwarded.
   */
  private async share (req: DispatchRequest, wrong: Run, runs: Run[]): Promise<void> {
    if (this.init.onEvidence == null || req.input.byteLength > MAX_EVIDENCE_INPUT_BYTES) return
    const inputDigest = sha256(req.input)
    const claims: Claim[] = []
    for (const run of runs) {
      const claim = await this.claimOf(req, run)
      if (claim != null && await verifyClaim(claim, req.kind, inputDigest)) claims.push(claim)
    }
    const wrongClaim = claims.find(c => c.signer === wrong.result.peer)
    const against = claims.some(c => c.signer !== wrong.result.peer && Buffer.compare(c.outputDigest, wrongClaim?.outputDigest ?? new Uint8Array()) !== 0)
    if (wrongClaim == null || !against) return
    this.init.onEvidence({ kind: req.kind, input: req.input as Uint8Array<ArrayBuffer>, claims })
  }

  private async claimOf (req: DispatchRequest, run: Run): Promise<Claim | undefined> {
    const { output } = run.result.outcome
    const own = run.result.peer === this.init.selfId
    const receipt = own
      ? await this.init.sign?.(run.taskId, req.kind, req.input, output)
      : (run.result.outcome.receipt?.byteLength ?? 0) > 0 ? { signature: run.result.outcome.receipt as Uint8Array, at: run.result.outcome.receiptAt ?? 0 } : undefined
    if (receipt == null) return undefined
    return { signer: run.result.peer, taskId: run.taskId, outputDigest: sha256(output) as Uint8Array<ArrayBuffer>, signature: receipt.signature as Uint8Array<ArrayBuffer>, issuedAt: receipt.at }
  }
}

/** Whether the answer carries a receipt its peer signed for this task, kind, input and output. */
async function signedByPeer (req: DispatchRequest, answer: DispatchResult): Promise<boolean> {
  const { receipt, receiptAt, output } = answer.outcome
  if (receipt == null || receipt.byteLength === 0) return false
  const claim = { signer: answer.peer, taskId: req.taskId, outputDigest: sha256(output) as Uint8Array<ArrayBuffer>, signature: receipt as Uint8Array<ArrayBuffer>, issuedAt: receiptAt ?? 0 }
  return await verifyClaim(claim, req.kind, sha256(req.input))
}

function sameOutput (a: Run, b: Run): boolean {
  return Buffer.compare(a.result.outcome.output, b.result.outcome.output) === 0
}

function disputed (req: DispatchRequest, runs: Run[]): DispatchResult {
  const message = `the runs of this deterministic kind disagree (${runs.map(r => r.result.peer).join(', ')}) and no two agree: no result is returned`
  return {
    outcome: { taskId: req.taskId, error: ErrorCode.RESULT_DISPUTED, output: new Uint8Array(0), message, queuedMs: 0, runMs: 0, deduped: false },
    peer: runs[0].result.peer,
    attempts: runs.reduce((n, r) => n + r.result.attempts, 0)
  }
}
