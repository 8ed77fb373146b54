/**
 * The sorted set of items one peer holds, answering range fingerprints in O(log n).
 *
 * Layout: keys sorted (compareKeys order), their hashes in one typed array in the same order,
 * and a prefix XOR over the hashes, so the XOR of any position range is prefix[hi] ^ prefix[lo]
 * and a fingerprint costs two binary searches. Writes are cheap and settle lazily:
 * - a new hash for a key already present is written in place and only invalidates the prefix
 *   from that position (recomputed on the next read, O(n - position) XORs);
 * - inserts and deletes wait in a pending map and are merged in on the next read, O(n + m log m)
 *   for a batch of m, which suits a cache that takes bursts of gossip between syncs.
 * Building from 110,000 items is one sort (none when the input is already in key order, as a
 * LevelDB scan nearly is).
 *
 * XOR is linear: it detects accidental differences with certainty short of a 2^-128 fluke, but
 * someone who can get ~129 entries of their choosing into a cache can make a range's XOR equal
 * any value, and so hide differences between two honest peers in that range from anti-entropy
 * (gossip still carries new writes). Cheap hardening if that matters: hash items with a
 * per-session key, so hashes cannot be chosen in advance.
 */
import { ITEM_HASH_BYTES } from './item.js'
import { InvalidItemError } from './errors.js'
import type { Item } from './item.js'

/** XOR of the item hashes of a range, with how many items it holds. */
export interface Fingerprint {
  /** ITEM_HASH_BYTES bytes; all zero for an empty range. */
  readonly xor: Uint8Array
  readonly count: number
}

/** A hash as uint32 words; XOR is bytewise, so the platform's byte order does not matter. */
const WORDS = ITEM_HASH_BYTES / 4

export class ItemIndex {
  private keys: string[] = []
  /** Hash of keys[i] at words[i * WORDS ..]; capacity may exceed keys.length. */
  private words = new Uint32Array(0)
  /** prefix[i * WORDS ..] = XOR of the hashes of keys[0 .. i); rows up to prefixValid are current. */
  private prefix = new Uint32Array(WORDS)
  private prefixValid = 0
  /** Inserts (a hash) and deletes (null) not merged into `keys` yet. */
  private readonly pending = new Map<string, Uint8Array | null>()

  /** Index the items; a key given twice keeps its last hash. Hashes are copied. */
  constructor (items: Iterable<Item> = []) {
    this.load(items)
  }

  get size (): number {
    this.flush()
    return this.keys.length
  }

  has (key: string): boolean {
    return this.get(key) !== undefined
  }

  /** A copy of the item hash stored for key, or undefined. */
  get (key: string): Uint8Array | undefined {
    const pending = this.pending.get(key)
    if (pending !== undefined) return pending === null ? undefined : pending.slice()
    const pos = this.search(key)
    return pos < 0 ? undefined : this.hashBytes(pos)
  }

  /** Insert or replace the hash of key (the hash is copied). */
  upsert (key: string, hash: Uint8Array): void {
    checkItem(key, hash)
    const pos = this.pending.has(key) ? -1 : this.search(key)
    if (pos >= 0) {
      new Uint8Array(this.words.buffer, pos * ITEM_HASH_BYTES, ITEM_HASH_BYTES).set(hash)
      this.prefixValid = Math.min(this.prefixValid, pos)
    } else {
      this.pending.set(key, hash.slice())
    }
  }

  /** Remove key; false when it was not there. */
  delete (key: string): boolean {
    if (!this.has(key)) return false
    this.pending.set(key, null)
    return true
  }

  /** Number of keys below bound (undefined: the end of the key space, i.e. size). */
  rank (bound: string | undefined): number {
    this.flush()
    return bound === undefined ? this.keys.length : lowerBound(this.keys, bound, 0)
  }

  /** The key at sorted position i (0 <= i < size). */
  keyAt (i: number): string {
    this.flush()
    return this.keys[i]
  }

  /** Fingerprint of the items at sorted positions [from, to). */
  fingerprintAt (from: number, to: number): Fingerprint {
    this.flush()
    this.updatePrefix()
    const xor = new Uint32Array(WORDS)
    for (let w = 0; w < WORDS; w++) xor[w] = this.prefix[to * WORDS + w] ^ this.prefix[from * WORDS + w]
    return { xor: new Uint8Array(xor.buffer), count: to - from }
  }

  /** Fingerprint of the items with lower <= key < upper (upper undefined: no upper bound). */
  fingerprint (lower: string, upper?: string): Fingerprint {
    const from = this.rank(lower)
    return this.fingerprintAt(from, Math.max(from, this.rank(upper)))
  }

  /** The items at sorted positions [from, to), in key order. */
  itemsAt (from: number, to: number): Item[] {
    this.flush()
    const out: Item[] = []
    for (let i = from; i < to; i++) out.push({ key: this.keys[i], hash: this.hashBytes(i) })
    return out
  }

  /** The items with lower <= key < upper, in key order. */
  items (lower: string, upper?: string): Item[] {
    const from = this.rank(lower)
    return this.itemsAt(from, Math.max(from, this.rank(upper)))
  }

  private load (items: Iterable<Item>): void {
    const keys: string[] = []
    let bytes = new Uint8Array(1024 * ITEM_HASH_BYTES)
    let sorted = true
    for (const { key, hash } of items) {
      checkItem(key, hash)
      if (keys.length * ITEM_HASH_BYTES === bytes.length) bytes = grow(bytes, bytes.length * 2)
      bytes.set(hash, keys.length * ITEM_HASH_BYTES)
      if (sorted && keys.length > 0 && !(keys[keys.length - 1] < key)) sorted = false
      keys.push(key)
    }
    if (sorted) {
      this.keys = keys
      this.words = new Uint32Array(bytes.buffer)
    } else {
      // One native sort of the distinct keys, then each hash is looked up by key.
      const slot = new Map<string, number>()
      keys.forEach((key, i) => slot.set(key, i))
      this.keys = [...slot.keys()].sort()
      const out = new Uint8Array(this.keys.length * ITEM_HASH_BYTES)
      this.keys.forEach((key, i) => {
        const from = (slot.get(key) as number) * ITEM_HASH_BYTES
        out.set(bytes.subarray(from, from + ITEM_HASH_BYTES), i * ITEM_HASH_BYTES)
      })
      this.words = new Uint32Array(out.buffer)
    }
    this.prefixValid = 0
  }

  /** Merge pending inserts and deletes into the sorted arrays. */
  private flush (): void {
    if (this.pending.size === 0) return
    const changes = [...this.pending.keys()].sort()
    const old = this.keys
    const oldBytes = new Uint8Array(this.words.buffer)
    const keys: string[] = []
    const bytes = new Uint8Array((old.length + changes.length) * ITEM_HASH_BYTES)
    let firstChange = -1
    let i = 0
    for (const key of changes) {
      // Unchanged items up to this change keep their hashes: copy them as one block.
      const pos = lowerBound(old, key, i)
      bytes.set(oldBytes.subarray(i * ITEM_HASH_BYTES, pos * ITEM_HASH_BYTES), keys.length * ITEM_HASH_BYTES)
      for (; i < pos; i++) keys.push(old[i])
      const hash = this.pending.get(key) as Uint8Array | null
      const existed = pos < old.length && old[pos] === key
      if (existed) i++
      if (firstChange < 0 && (existed || hash !== null)) firstChange = keys.length
      if (hash !== null) {
        bytes.set(hash, keys.length * ITEM_HASH_BYTES)
        keys.push(key)
      }
    }
    bytes.set(oldBytes.subarray(i * ITEM_HASH_BYTES, old.length * ITEM_HASH_BYTES), keys.length * ITEM_HASH_BYTES)
    for (; i < old.length; i++) keys.push(old[i])
    this.keys = keys
    this.words = new Uint32Array(bytes.buffer)
    this.pending.clear()
    if (firstChange >= 0) this.prefixValid = Math.min(this.prefixValid, firstChange)
  }

  private updatePrefix (): void {
    const n = this.keys.length
    if (this.prefix.length < (n + 1) * WORDS) {
      const prefix = new Uint32Array((n + 1) * WORDS)
      prefix.set(this.prefix.subarray(0, (this.prefixValid + 1) * WORDS))
      this.prefix = prefix
    }
    const { prefix, words } = this
    for (let i = this.prefixValid; i < n; i++) {
      const row = i * WORDS
      for (let w = 0; w < WORDS; w++) prefix[row + WORDS + w] = prefix[row + w] ^ words[row + w]
    }
    this.prefixValid = n
  }

  /** Position of key in the sorted keys, or -1. */
  private search (key: string): number {
    const pos = lowerBound(this.keys, key, 0)
    return pos < this.keys.length && this.keys[pos] === key ? pos : -1
  }

  private hashBytes (pos: number): Uint8Array {
    return new Uint8Array(this.words.buffer, pos * ITEM_HASH_BYTES, ITEM_HASH_BYTES).slice()
  }
}

/** First position in sorted keys[from ..] whose key is >= bound. */
function lowerBound (keys: string[], bound: string, from: number): number {
  let lo = from
  let hi = keys.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (keys[mid] < bound) lo = mid + 1
    else hi = mid
  }
  return lo
}

function grow (bytes: Uint8Array, length: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length)
  out.set(bytes)
  return out
}

function checkItem (key: string, hash: Uint8Array): void {
  if (typeof key !== 'string' || !key.isWellFormed()) throw new InvalidItemError('an item key must be a well-formed string (no lone surrogates)')
  if (!(hash instanceof Uint8Array) || hash.length !== ITEM_HASH_BYTES) throw new InvalidItemError(`an item hash must be ${ITEM_HASH_BYTES} bytes`)
}
