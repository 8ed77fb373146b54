import { LevelDatastore } from 'datastore-level'
import { Key } from 'interface-datastore'
import { NotFoundError } from '@libp2p/interface'
import type { StorageHealth } from './storage-health.js'
import type { AbortOptions } from '@libp2p/interface'
import type { Batch, Pair } from 'interface-datastore'
import type { Level } from 'level'

export interface ResilientDatastoreInit {
  /** Bytes of writes held in memory while the store refuses writes. Default 16 MiB. */
  maxHeldBytes?: number
}

export const DEFAULT_MAX_HELD_BYTES = 16 * 1024 * 1024

/** A held delete. */
const DELETED = null

/**
 * libp2p's datastore (peer store, DHT records) over the store's `libp2p` sublevel, which keeps
 * working while the disk is full: writes the store refuses are held in memory (reads see them)
 * and written out once it takes writes again.
 *
 * Why: libp2p keeps the peer store only in its datastore, and tells protocols about a peer's
 * protocols only after storing them; with every write refused, a peer connecting during a full
 * disk was connected but never exchanged capacity or cache traffic. This is soft state (addresses,
 * protocols, records peers re-announce), so holding it in memory for a while is sound; a restart
 * before the disk recovers forgets what was held, as a restart without a disk would.
 */
export class ResilientDatastore extends LevelDatastore {
  private readonly held = new Map<string, Uint8Array | typeof DELETED>()
  private heldBytes = 0
  private readonly maxHeldBytes: number
  private flushing: Promise<void> | undefined

  constructor (db: Level<string, Uint8Array>, private readonly health: StorageHealth, init: ResilientDatastoreInit = {}) {
    super(db)
    this.maxHeldBytes = init.maxHeldBytes ?? DEFAULT_MAX_HELD_BYTES
  }

  /** Writes held in memory now. */
  get heldWrites (): number {
    return this.held.size
  }

  override async put (key: Key, value: Uint8Array, options?: AbortOptions): Promise<Key> {
    const k = key.toString()
    if (this.health.ok && !this.held.has(k)) {
      try {
        return await super.put(key, value, options)
      } catch (err) {
        if (this.health.ok) throw err
      }
    }
    this.hold(k, value)
    return key
  }

  override async get (key: Key, options?: AbortOptions): Promise<Uint8Array> {
    const k = key.toString()
    if (!this.held.has(k)) return super.get(key, options)
    const value = this.held.get(k)
    if (value == null) throw new NotFoundError(`no value for ${k}`)
    return value
  }

  override async has (key: Key, options?: AbortOptions): Promise<boolean> {
    const k = key.toString()
    if (this.held.has(k)) return this.held.get(k) != null
    return super.has(key, options)
  }

  override async delete (key: Key, options?: AbortOptions): Promise<void> {
    const k = key.toString()
    if (this.health.ok && !this.held.has(k)) {
      try {
        await super.delete(key, options)
        return
      } catch (err) {
        if (this.health.ok) throw err
      }
    }
    this.hold(k, DELETED)
  }

  override batch (): Batch {
    const ops: Array<[string, Uint8Array | typeof DELETED]> = []
    return {
      put: (key, value) => { ops.push([key.toString(), value]) },
      delete: (key) => { ops.push([key.toString(), DELETED]) },
      commit: async (options) => {
        if (this.health.ok && !ops.some(([k]) => this.held.has(k))) {
          const batch = super.batch()
          for (const [k, v] of ops) v == null ? batch.delete(new Key(k, false)) : batch.put(new Key(k, false), v)
          try {
            await batch.commit(options)
            return
          } catch (err) {
            if (this.health.ok) throw err
          }
        }
        for (const [k, v] of ops) this.hold(k, v)
      }
    }
  }

  /** Level order (bytes of the key) with held writes laid over what is on disk. */
  override async * _query (opts: { values: boolean, prefix?: string }): AsyncIterable<Pair> {
    if (this.held.size === 0) {
      yield * super._query(opts)
      return
    }
    const overlay = [...this.held.entries()]
      .filter(([k]) => opts.prefix == null || k.startsWith(opts.prefix))
      .sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    let i = 0
    const emitHeldBefore = function * (bound: Buffer | undefined): Generator<Pair> {
      for (; i < overlay.length && (bound == null || Buffer.compare(Buffer.from(overlay[i][0]), bound) < 0); i++) {
        const [k, v] = overlay[i]
        if (v != null) yield { key: new Key(k, false), value: opts.values ? v : undefined as unknown as Uint8Array }
      }
    }
    for await (const pair of super._query(opts)) {
      const k = pair.key.toString()
      const bytes = Buffer.from(k)
      yield * emitHeldBefore(bytes)
      if (i < overlay.length && overlay[i][0] === k) {
        const v = overlay[i++][1]
        if (v != null) yield { key: pair.key, value: opts.values ? v : pair.value }
        continue
      }
      yield pair
    }
    yield * emitHeldBefore(undefined)
  }

  /** Write out what was held (the store takes writes again). What fails stays held. */
  async flush (): Promise<void> {
    this.flushing ??= this.writeHeld().finally(() => { this.flushing = undefined })
    await this.flushing
  }

  private async writeHeld (): Promise<void> {
    while (this.held.size > 0 && this.health.ok) {
      const ops = [...this.held.entries()].slice(0, 500)
      const batch = super.batch()
      for (const [k, v] of ops) v == null ? batch.delete(new Key(k, false)) : batch.put(new Key(k, false), v)
      try {
        await batch.commit()
      } catch {
        return
      }
      for (const [k, v] of ops) {
        // A newer write held meanwhile stays for the next round.
        if (this.held.get(k) === v) this.release(k)
      }
    }
  }

  private hold (key: string, value: Uint8Array | typeof DELETED): void {
    const size = key.length + (value?.byteLength ?? 0)
    if (!this.held.has(key) && this.heldBytes + size > this.maxHeldBytes) {
      // Bounded: past it, libp2p sees the store's refusal (and logs it) as it would without us.
      throw this.health.refuse()
    }
    this.release(key)
    this.held.set(key, value)
    this.heldBytes += size
    // Held while the store is healthy: only to keep it ordered behind an unfinished flush.
    if (this.health.ok) void this.flush()
  }

  private release (key: string): void {
    if (!this.held.has(key)) return
    const value = this.held.get(key)
    this.heldBytes -= key.length + (value?.byteLength ?? 0)
    this.held.delete(key)
  }
}
