/** Test helpers: run a reconciliation session between two in-memory indexes. */
import { Reconciler } from '../../../../src/core/reconcile/reconciler.js'
import { messageSize } from '../../../../src/core/reconcile/message.js'
import type { ItemIndex } from '../../../../src/core/reconcile/item-index.js'
import type { Message } from '../../../../src/core/reconcile/message.js'
import type { ReconcilerInit } from '../../../../src/core/reconcile/reconciler.js'

export interface SessionReport {
  /** Keys A must send to B, and B to A. */
  haveA: string[]
  haveB: string[]
  /** Messages exchanged (initiate included). */
  messages: number
  /** Sum of messageSize over all messages. */
  bytes: number
  /** Ranges in the largest message. */
  maxRanges: number
}

/** A initiates; messages alternate until one side has no reply. */
export function runSession (a: ItemIndex, b: ItemIndex, init: ReconcilerInit = {}): SessionReport {
  const sides = [new Reconciler(a, init), new Reconciler(b, init)]
  const haves: string[][] = [[], []]
  let msg: Message | undefined = sides[0].initiate()
  let messages = 0
  let bytes = 0
  let maxRanges = 0
  let turn = 1
  while (msg !== undefined) {
    messages++
    bytes += messageSize(msg)
    maxRanges = Math.max(maxRanges, msg.ranges.length)
    const { reply, have } = sides[turn].respond(msg)
    haves[turn].push(...have)
    msg = reply
    turn = 1 - turn
  }
  return { haveA: haves[0], haveB: haves[1], messages, bytes, maxRanges }
}

/** Deterministic PRNG (mulberry32) for seeded test data. */
export function prng (seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

export function randomBytes (random: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = Math.floor(random() * 256)
  return out
}
