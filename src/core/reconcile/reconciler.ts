/**
 * Range-based set reconciliation (Aljoscha Meyer, "Range-Based Set Reconciliation", 2022; the
 * scheme of Negentropy and iroh-docs): two peers find which cache entries differ by comparing
 * fingerprints of key ranges and splitting only the ranges that differ, so the bytes spent grow
 * with the differences, not with the cache.
 *
 * One Reconciler per peer per session, on each side; the protocol is symmetric. The initiator
 * calls initiate() and sends the message; each side feeds every message it receives to
 * respond() and sends back the reply; the session ends when respond() has no reply.
 *
 * Every difference is found by the side that learns both item lists of a small range, which
 * pushes its own entries the other lacks (`have`) and asks for the other's by bitfield (the
 * other then reports them as `have`). So each side just sends the entries of its `have` keys;
 * nothing is fetched by key and no key crosses the wire during reconciliation. A key held in
 * different versions is reported on both sides (the hashes cannot tell which version is newer),
 * and the cache merge keeps the newer one on each.
 */
import { ItemIndex } from './item-index.js'
import { ITEM_HASH_BYTES } from './item.js'
import { boundBetween } from './bounds.js'
import { InvalidReconcileMessageError, ReconcileRoundLimitError } from './errors.js'
import { MAX_RANGES_PER_MESSAGE, validateMessage } from './message.js'
import type { Message, Range } from './message.js'

export interface ReconcilerInit {
  /**
   * Sub-ranges a differing range is split into. More means fewer rounds but more fingerprints
   * sent for sub-ranges that turn out equal. Default 16 (Negentropy's choice).
   */
  branching?: number
  /**
   * A range where we hold at most this many items is answered with their hashes instead of
   * being split further; below ~32 a fingerprint round trip costs about what the hashes do.
   * Default 32.
   */
  itemThreshold?: number
  /**
   * Ranges per message we send, at most; when a reply would exceed it, the rest of the key
   * space is sent as one fingerprint and is reconciled in later rounds. Must be at least
   * branching + 3. Default 512 (a message stays under ~20 KB, plus items).
   */
  maxRangesPerMessage?: number
  /**
   * Messages this side handles (initiate and respond calls) before the session fails with
   * ReconcileRoundLimitError. Reconciling 100,000 items against 10,000 differences takes about
   * a dozen; the bound is for a peer that never lets the session end. Default 1,000.
   */
  maxRounds?: number
}

export const DEFAULT_BRANCHING = 16
export const DEFAULT_ITEM_THRESHOLD = 32
export const DEFAULT_MAX_RANGES_PER_MESSAGE = 512
export const DEFAULT_MAX_ROUNDS = 1_000

export interface RespondResult {
  /** What to send back; undefined: nothing left to do on our side, the session is over. */
  reply?: Message
  /** Keys whose entries we must send to the peer (it lacks them or holds another version). */
  have: string[]
}

export class Reconciler {
  private readonly index: ItemIndex
  private readonly branching: number
  private readonly itemThreshold: number
  private readonly maxRanges: number
  private readonly maxRounds: number
  private roundCount = 0
  /** Keys of the items ranges in our last message, by range lower bound: need bitfields index them. */
  private sentItems = new Map<string, string[]>()
  /** Keys already reported in `have`, so a range reconciled twice (after a cut) is not pushed twice. */
  private readonly reported = new Set<string>()

  constructor (index: ItemIndex, init: ReconcilerInit = {}) {
    this.index = index
    this.branching = init.branching ?? DEFAULT_BRANCHING
    this.itemThreshold = init.itemThreshold ?? DEFAULT_ITEM_THRESHOLD
    this.maxRanges = init.maxRangesPerMessage ?? DEFAULT_MAX_RANGES_PER_MESSAGE
    this.maxRounds = init.maxRounds ?? DEFAULT_MAX_ROUNDS
    if (!Number.isSafeInteger(this.branching) || this.branching < 2) throw new RangeError('branching must be an integer >= 2')
    if (!Number.isSafeInteger(this.itemThreshold) || this.itemThreshold < 1) throw new RangeError('itemThreshold must be an integer >= 1')
    if (!Number.isSafeInteger(this.maxRanges) || this.maxRanges < this.branching + 3) throw new RangeError('maxRangesPerMessage must be an integer >= branching + 3')
    if (this.maxRanges > MAX_RANGES_PER_MESSAGE) throw new RangeError(`maxRangesPerMessage must be <= ${MAX_RANGES_PER_MESSAGE}`)
    if (!Number.isSafeInteger(this.maxRounds) || this.maxRounds < 1) throw new RangeError('maxRounds must be an integer >= 1')
  }

  /** Messages handled so far (initiate counts as one). */
  get rounds (): number {
    return this.roundCount
  }

  /** The first message of a session: one range over the whole key space. */
  initiate (): Message {
    this.countRound()
    const out = new RangeList()
    this.sentItems = new Map()
    this.describe('', undefined, out)
    return out.message() as Message
  }

  /**
   * Handle a message from the peer.
   *
   * @throws InvalidReconcileMessageError when the message breaks the protocol
   * @throws ReconcileRoundLimitError after maxRounds messages
   */
  respond (msg: Message): RespondResult {
    this.countRound()
    validateMessage(msg)
    const sentItems = this.sentItems
    this.sentItems = new Map()
    const out = new RangeList()
    const have: string[] = []
    const ranges = msg.ranges
    // active[i]: ranges from i on that may need an answer; part of the budget is kept for them.
    const active = new Array<number>(ranges.length + 1).fill(0)
    for (let i = ranges.length - 1; i >= 0; i--) active[i] = active[i + 1] + (isActive(ranges[i]) ? 1 : 0)
    const tailReserve = Math.floor((this.maxRanges - this.branching - 3) / 2)
    let lower = ''
    let cut = false

    for (let i = 0; i < ranges.length; i++) {
      const range = ranges[i]
      const { upper } = range
      if (range.mode === 'need') {
        this.answerNeed(range.bitfield, sentItems.get(lower), have)
        if (!cut) out.skip(upper)
      } else if (range.mode === 'skip') {
        if (!cut) out.skip(upper)
      } else if (!cut) {
        const from = this.index.rank(lower)
        const to = Math.max(from, this.index.rank(upper))
        // Room left once a skip before this answer, the later ranges and a final cut are paid for.
        const room = this.maxRanges - out.length - 2 - Math.min(active[i + 1], tailReserve)
        if (range.mode === 'items') {
          if (room >= 1) this.answerItems(range.hashes, from, to, upper, out, have)
          else cut = true
        } else {
          const answer = this.judgeFingerprint(range.fingerprint, range.count, from, to)
          const cost = answer === 'split' ? Math.min(this.branching, to - from) : answer === 'skip' || answer === 'push' ? 0 : 1
          if (cost <= room) this.answerFingerprint(answer, lower, upper, from, to, out, have)
          // No room to split: bounce our fingerprint, the peer splits it next round.
          else if (room >= 1) this.sendFingerprint(upper, from, to, out)
          else cut = true
        }
        if (cut) this.describeTail(ranges, i, lower, out)
      }
      if (upper !== undefined) lower = upper
    }
    return { reply: out.message(), have }
  }

  /**
   * Out of room at range `first`: describe the rest of the message's key space with the ranges
   * left, in groups of the peer's ranges (each group our fingerprint, or our hashes when few).
   * Groups grow geometrically (1, 2, 4, ... ranges) up to an even share of what is left, so the
   * next round resumes right where this one stopped at the peer's granularity, and only the far
   * tail is summarised coarsely.
   */
  private describeTail (ranges: readonly Range[], first: number, lower: string, out: RangeList): void {
    let groups = Math.max(1, this.maxRanges - out.length - 1)
    let next = first
    let groupLower = lower
    for (let size = 1; next < ranges.length; size *= 2, groups--) {
      const left = ranges.length - next
      next += groups === 1 ? left : Math.min(size, Math.ceil(left / groups))
      const groupUpper = ranges[next - 1].upper
      this.describe(groupLower, groupUpper, out)
      if (groupUpper === undefined) break
      groupLower = groupUpper
    }
  }

  private countRound (): void {
    if (this.roundCount >= this.maxRounds) throw new ReconcileRoundLimitError(this.maxRounds)
    this.roundCount++
  }

  /** Our view of [lower, upper): our hashes when we hold few items, else our fingerprint. */
  private describe (lower: string, upper: string | undefined, out: RangeList): void {
    const from = this.index.rank(lower)
    const to = Math.max(from, this.index.rank(upper))
    if (to - from <= this.itemThreshold) this.sendItems(lower, upper, from, to, out)
    else this.sendFingerprint(upper, from, to, out)
  }

  /** What to do with a range where the peer sent a fingerprint. */
  private judgeFingerprint (theirs: Uint8Array, theirCount: number, from: number, to: number): FingerprintAnswer {
    const ours = this.index.fingerprintAt(from, to)
    if (ours.count === theirCount && equalBytes(ours.xor, theirs)) return 'skip'
    // They hold nothing here: everything we hold goes, no need to talk about it.
    if (theirCount === 0) return 'push'
    if (ours.count <= this.itemThreshold) return 'items'
    // They hold few: bounce our fingerprint so they answer with their hashes, cheaper than a split.
    if (theirCount <= this.itemThreshold) return 'bounce'
    return 'split'
  }

  private answerFingerprint (answer: FingerprintAnswer, lower: string, upper: string | undefined, from: number, to: number, out: RangeList, have: string[]): void {
    switch (answer) {
      case 'skip': out.skip(upper); break
      case 'push':
        for (let i = from; i < to; i++) this.report(this.index.keyAt(i), have)
        out.skip(upper)
        break
      case 'items': this.sendItems(lower, upper, from, to, out); break
      case 'bounce': this.sendFingerprint(upper, from, to, out); break
      case 'split': this.split(upper, from, to, out); break
    }
  }

  /** Split our items [from, to) into equal-count sub-ranges, each sent as a fingerprint. */
  private split (upper: string | undefined, from: number, to: number, out: RangeList): void {
    const count = to - from
    const parts = Math.min(this.branching, count)
    let start = from
    for (let p = 1; p <= parts; p++) {
      const end = from + Math.floor(count * p / parts)
      const bound = p === parts ? upper : boundBetween(this.index.keyAt(end - 1), this.index.keyAt(end))
      this.sendFingerprint(bound, start, end, out)
      start = end
    }
  }

  /** They sent their hashes for a range: push ours they lack, ask for theirs we lack. */
  private answerItems (hashes: Uint8Array, from: number, to: number, upper: string | undefined, out: RangeList, have: string[]): void {
    const theirs = new Set<string>()
    for (let o = 0; o < hashes.length; o += ITEM_HASH_BYTES) theirs.add(hashKey(hashes, o))
    const ours = new Set<string>()
    for (const { key, hash } of this.index.itemsAt(from, to)) {
      const id = hashKey(hash, 0)
      ours.add(id)
      if (!theirs.has(id)) this.report(key, have)
    }
    const n = hashes.length / ITEM_HASH_BYTES
    const bitfield = new Uint8Array(Math.ceil(n / 8))
    let needed = false
    for (let i = 0; i < n; i++) {
      if (!ours.has(hashKey(hashes, i * ITEM_HASH_BYTES))) {
        bitfield[i >> 3] |= 1 << (i & 7)
        needed = true
      }
    }
    if (needed) out.add({ mode: 'need', upper, bitfield })
    else out.skip(upper)
  }

  /** They answered one of our items ranges: the marked items are ours to push. */
  private answerNeed (bitfield: Uint8Array, sent: string[] | undefined, have: string[]): void {
    if (sent === undefined) throw new InvalidReconcileMessageError('a need range answers no items range of ours')
    if (bitfield.length !== Math.ceil(sent.length / 8)) throw new InvalidReconcileMessageError('a need bitfield does not match the items range it answers')
    for (let i = 0; i < sent.length; i++) {
      if ((bitfield[i >> 3] & (1 << (i & 7))) !== 0) this.report(sent[i], have)
    }
  }

  private sendItems (lower: string, upper: string | undefined, from: number, to: number, out: RangeList): void {
    const items = this.index.itemsAt(from, to)
    const hashes = new Uint8Array(items.length * ITEM_HASH_BYTES)
    items.forEach((item, i) => { hashes.set(item.hash, i * ITEM_HASH_BYTES) })
    this.sentItems.set(lower, items.map(item => item.key))
    out.add({ mode: 'items', upper, hashes })
  }

  private sendFingerprint (upper: string | undefined, from: number, to: number, out: RangeList): void {
    const { xor, count } = this.index.fingerprintAt(from, to)
    out.add({ mode: 'fingerprint', upper, fingerprint: xor, count })
  }

  private report (key: string, have: string[]): void {
    if (this.reported.has(key)) return
    this.reported.add(key)
    have.push(key)
  }
}

type FingerprintAnswer = 'skip' | 'push' | 'items' | 'bounce' | 'split'

/** True for the ranges that may need an answer with ranges of its own. */
function isActive (range: Range): boolean {
  return range.mode === 'fingerprint' || range.mode === 'items'
}

/** Ranges of an outgoing message, with adjacent skips merged and a trailing skip dropped. */
class RangeList {
  private readonly ranges: Range[] = []

  get length (): number {
    return this.ranges.length
  }

  skip (upper: string | undefined): void {
    const last = this.ranges[this.ranges.length - 1]
    if (last?.mode === 'skip') this.ranges[this.ranges.length - 1] = { mode: 'skip', upper }
    else this.ranges.push({ mode: 'skip', upper })
  }

  add (range: Range): void {
    this.ranges.push(range)
  }

  /** The message, or undefined when every range is settled. */
  message (): Message | undefined {
    const ranges = this.ranges
    while (ranges.length > 0 && ranges[ranges.length - 1].mode === 'skip') ranges.pop()
    return ranges.length === 0 ? undefined : { ranges }
  }
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** A hash as a string, to use as a Set member. */
function hashKey (bytes: Uint8Array, offset: number): string {
  return String.fromCharCode(...bytes.subarray(offset, offset + ITEM_HASH_BYTES))
}
