/**
 * What healing a partition costs the cache: two peers from opposite sides run the real
 * range-based reconciliation (`src/core/reconcile`) over their item sets, a shared base plus
 * `divergent` entries written during the cut (half on each side), and we count the messages and
 * bytes. The time model:
 *
 *   reconciledAfterMs = reconnect (the first advert across the healed cut: ≤ one advert interval
 *                       + one-way latency; a real node also needs its re-dial, not modelled)
 *                     + messages × one-way latency (each message waits for the previous one)
 *                     + (reconciliation bytes + entry bytes) / bandwidth
 *
 * The full-state transfer it is compared with sends every entry of one side to the other.
 */
import { ItemIndex, Reconciler, itemHash, messageSize } from '../../src/core/reconcile/index.js'
import type { Message } from '../../src/core/reconcile/index.js'

export interface ReconcileModel {
  divergent: number
  base: number
  messages: number
  reconcileBytes: number
  entryBytes: number
  /** Bytes a full-state transfer of the larger side would move. */
  fullStateBytes: number
  /** (reconcile + entries) / divergent entry bytes: the target is ≤ 2. */
  bytesOverDivergent: number
  reconnectMs: number
  sessionMs: number
  reconciledAfterMs: number
  /** Set when the reconciler threw (the figures are then a formula estimate). */
  error?: string
}

export interface ReconcileInput {
  divergent: number
  /** Entries both sides held before the cut. Default 10,000. */
  base?: number
  /** Mean bytes of an entry on the wire (key, value, version, signature). Default 200. */
  entryBytes?: number
  oneWayMs: number
  adIntervalMs: number
  /** Link bandwidth, bytes per ms. Default 12,500 (100 Mbit/s). */
  bytesPerMs?: number
}

export function modelReconcile (input: ReconcileInput): ReconcileModel {
  const base = input.base ?? 10_000
  const entryBytes = input.entryBytes ?? 200
  const bytesPerMs = input.bytesPerMs ?? 12_500
  const half = Math.floor(input.divergent / 2)
  const reconnectMs = input.adIntervalMs + input.oneWayMs
  const version = new Uint8Array([1])
  const common = Array.from({ length: base }, (_, i) => ({ key: `k${String(i).padStart(7, '0')}`, hash: itemHash(`k${i}`, version) }))
  const sideA = Array.from({ length: half }, (_, i) => ({ key: `a${String(i).padStart(7, '0')}`, hash: itemHash(`a${i}`, version) }))
  const sideB = Array.from({ length: input.divergent - half }, (_, i) => ({ key: `b${String(i).padStart(7, '0')}`, hash: itemHash(`b${i}`, version) }))
  const fullStateBytes = (base + Math.max(half, input.divergent - half)) * entryBytes
  const divergentBytes = Math.max(1, input.divergent * entryBytes)
  try {
    const a = new Reconciler(new ItemIndex([...common, ...sideA]))
    const b = new Reconciler(new ItemIndex([...common, ...sideB]))
    let msg: Message | undefined = a.initiate()
    let messages = 0
    let bytes = 0
    let pushed = 0
    let turn: Reconciler = b
    while (msg !== undefined && messages < 1_000) {
      messages++
      bytes += messageSize(msg)
      const r = turn.respond(msg)
      pushed += r.have.length
      msg = r.reply
      turn = turn === a ? b : a
    }
    const total = bytes + pushed * entryBytes
    const sessionMs = messages * input.oneWayMs + total / bytesPerMs
    return {
      divergent: input.divergent,
      base,
      messages,
      reconcileBytes: bytes,
      entryBytes: pushed * entryBytes,
      fullStateBytes,
      bytesOverDivergent: total / divergentBytes,
      reconnectMs,
      sessionMs,
      reconciledAfterMs: reconnectMs + sessionMs
    }
  } catch (err) {
    // Estimate: log16 rounds of fingerprints, then the entries themselves.
    const messages = 2 * Math.ceil(Math.log(Math.max(2, base + input.divergent)) / Math.log(16)) + 2
    const total = input.divergent * entryBytes * 1.1
    const sessionMs = messages * input.oneWayMs + total / bytesPerMs
    return {
      divergent: input.divergent, base, messages, reconcileBytes: total - input.divergent * entryBytes, entryBytes: input.divergent * entryBytes,
      fullStateBytes, bytesOverDivergent: total / divergentBytes, reconnectMs, sessionMs, reconciledAfterMs: reconnectMs + sessionMs,
      error: (err as Error).message
    }
  }
}
