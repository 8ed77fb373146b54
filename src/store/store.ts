import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { LevelDatastore } from 'datastore-level'
import { Level } from 'level'
import { MemoryLevel } from 'memory-level'
import { StoreLockedError, StoreVersionError } from '../util/errors.js'
import type { AbstractLevel, AbstractSublevel } from 'abstract-level'

/** Bumped when the on-disk layout changes incompatibly; checked at open. */
export const STORE_LAYOUT_VERSION = '1'

export type Bytes = Uint8Array

/** Write options for data that must survive a crash (classic-level passes `sync` to LevelDB). */
export const DURABLE: Record<string, unknown> = { sync: true }
export type Db = AbstractLevel<string | Bytes | Buffer, string, Bytes>
export type Sublevel = AbstractSublevel<Db, string | Bytes | Buffer, string, Bytes>

/** The sublevels, one per concern. Keep names stable: they are the on-disk layout. */
export const SUBLEVELS = ['meta', 'identity', 'libp2p', 'journal', 'results', 'cache', 'reputation', 'bans', 'executions'] as const
export type SublevelName = typeof SUBLEVELS[number]

/**
 * One LevelDB per node with a sublevel per concern. The libp2p datastore (peer store, DHT
 * records) lives in its own sublevel so fedmesh's keys never collide with libp2p's.
 */
export class FedStore {
  readonly datastore: LevelDatastore
  private readonly subs = new Map<SublevelName, Sublevel>()

  private constructor (readonly db: Db, readonly dir: string) {
    for (const name of SUBLEVELS) {
      this.subs.set(name, db.sublevel<string, Bytes>(name, { valueEncoding: 'view' }))
    }
    // LevelDatastore only uses the Level API that a sublevel shares.
    this.datastore = new LevelDatastore(this.sublevel('libp2p') as unknown as Level<string, Bytes>)
  }

  /** A store that keeps nothing on disk: simulations and in-process tests. */
  static async memory (): Promise<FedStore> {
    const db = new MemoryLevel<string, Bytes>({ valueEncoding: 'view' })
    await db.open()
    return new FedStore(db, ':memory:')
  }

  /** Open (creating if needed) the LevelDB store in `dir`/db. */
  static async open (dir: string): Promise<FedStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const path = join(dir, 'db')
    const db = new Level<string, Bytes>(path, { valueEncoding: 'view' })
    try {
      await db.open()
    } catch (err: any) {
      if (err?.cause?.code === 'LEVEL_LOCKED' || err?.code === 'LEVEL_LOCKED') {
        throw new StoreLockedError(dir)
      }
      throw err
    }
    const store = new FedStore(db, dir)
    await store.checkVersion()
    return store
  }

  sublevel (name: SublevelName): Sublevel {
    const sub = this.subs.get(name)
    if (sub == null) throw new Error(`unknown sublevel ${name}`)
    return sub
  }

  async close (): Promise<void> {
    if (this.db.status === 'closed') return
    await this.db.close()
  }

  private async checkVersion (): Promise<void> {
    const meta = this.sublevel('meta')
    const found = await meta.get('layout-version')
    if (found == null) {
      await meta.put('layout-version', new TextEncoder().encode(STORE_LAYOUT_VERSION), DURABLE)
      return
    }
    const text = new TextDecoder().decode(found)
    if (text !== STORE_LAYOUT_VERSION) {
      await this.close()
      throw new StoreVersionError(this.dir, text, STORE_LAYOUT_VERSION)
    }
  }
}
