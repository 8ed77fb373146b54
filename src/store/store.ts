import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { MemoryLevel } from 'memory-level'
import { StorageFaultError, StorageFullError, StoreLockedError, StoreVersionError } from '../util/errors.js'
import { systemClock } from '../util/time.js'
import { GuardedLevel } from './guarded-level.js'
import { ResilientDatastore } from './resilient-datastore.js'
import { StorageHealth, classifyStorageError } from './storage-health.js'
import { StorageRecovery } from './storage-recovery.js'
import type { StorageRecoveryInit } from './storage-recovery.js'
import type { Clock } from '../util/time.js'
import type { AbstractLevel, AbstractSublevel } from 'abstract-level'
import type { Level } from 'level'

/** Bumped when the on-disk layout changes incompatibly; checked at open. */
export const STORE_LAYOUT_VERSION = '1'

export type Bytes = Uint8Array

/** Write options for data that must survive a crash (classic-level passes `sync` to LevelDB). */
export const DURABLE: Record<string, unknown> = { sync: true }
export type Db = AbstractLevel<string | Bytes | Buffer, string, Bytes>
export type Sublevel = AbstractSublevel<Db, string | Bytes | Buffer, string, Bytes>

/** The sublevels, one per concern. Keep names stable: they are the on-disk layout. */
export const SUBLEVELS = ['meta', 'identity', 'libp2p', 'journal', 'results', 'cache', 'reputation', 'bans', 'executions', 'federation'] as const
export type SublevelName = typeof SUBLEVELS[number]

export interface FedStoreOptions extends StorageRecoveryInit {
  clock?: Clock
}

/**
 * One LevelDB per node with a sublevel per concern. The libp2p datastore (peer store, DHT
 * records) lives in its own sublevel so fedmesh's keys never collide with libp2p's.
 *
 * A full or failing disk is a condition, not a crash: every write, from any sublevel, goes
 * through one guard (GuardedLevel) that turns a disk error into StorageFullError /
 * StorageFaultError (HTTP 507) and refuses further writes until StorageRecovery has reopened
 * the database and a probe write succeeded. Reads keep working meanwhile. `health` says which.
 */
export class FedStore {
  readonly datastore: ResilientDatastore
  private readonly subs = new Map<SublevelName, Sublevel>()
  private readonly recovery: StorageRecovery | undefined
  private closing = false

  private constructor (readonly db: Db, readonly dir: string, readonly health: StorageHealth, init?: StorageRecoveryInit) {
    if (db instanceof GuardedLevel) {
      this.recovery = new StorageRecovery({
        health,
        dbDir: db.location,
        reopen: async () => { await this.reopen() },
        probe: async () => { await db.probe() }
      }, init)
      this.recovery.start()
    }
    for (const name of SUBLEVELS) {
      this.subs.set(name, db.sublevel<string, Bytes>(name, { valueEncoding: 'view' }))
    }
    // LevelDatastore only uses the Level API that a sublevel shares.
    this.datastore = new ResilientDatastore(this.sublevel('libp2p') as unknown as Level<string, Bytes>, health)
    health.onChange(event => { if (event.type === 'recovered') void this.datastore.flush() })
  }

  /** A store that keeps nothing on disk: simulations and in-process tests. */
  static async memory (): Promise<FedStore> {
    const db = new MemoryLevel<string, Bytes>({ valueEncoding: 'view' })
    await db.open()
    return new FedStore(db, ':memory:', new StorageHealth(systemClock, ':memory:'))
  }

  /** Open (creating if needed) the LevelDB store in `dir`/db. */
  static async open (dir: string, options: FedStoreOptions = {}): Promise<FedStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const path = join(dir, 'db')
    const health = new StorageHealth(options.clock ?? systemClock, path)
    const db = new GuardedLevel(path, health)
    try {
      await db.open()
    } catch (err: any) {
      if (err?.cause?.code === 'LEVEL_LOCKED' || err?.code === 'LEVEL_LOCKED') {
        throw new StoreLockedError(dir)
      }
      const fault = classifyStorageError(err)
      // Opening writes a new log and manifest: on a full disk the store cannot open at all.
      if (fault != null) {
        const message = `${fault.reason}: cannot open the store in ${path} (LevelDB writes a new log when it opens); free some space and start again`
        throw fault.kind === 'full' ? new StorageFullError(message) : new StorageFaultError(message)
      }
      throw err
    }
    const store = new FedStore(db as unknown as Db, dir, health, options)
    try {
      await store.checkVersion()
    } catch (err) {
      await store.close()
      throw err
    }
    return store
  }

  sublevel (name: SublevelName): Sublevel {
    const sub = this.subs.get(name)
    if (sub == null) throw new Error(`unknown sublevel ${name}`)
    return sub
  }

  async close (): Promise<void> {
    this.closing = true
    this.recovery?.stop()
    if (this.db.status === 'closed') return
    await this.db.close()
  }

  /**
   * Close and reopen the database in place (recovery). Sublevels are closed with their root and
   * reopened at once, so operations made while the root opens wait for it instead of failing.
   */
  private async reopen (): Promise<void> {
    // A recovery attempt still running when the daemon stops must not open the store again.
    if (this.closing) throw new Error('the store is closing')
    if (this.db.status === 'open') await this.db.close()
    if (this.closing) throw new Error('the store is closing')
    const root = this.db.open()
    const subs = [...this.subs.values()].map(async sub => { await sub.open() })
    await root
    await Promise.all(subs)
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
      throw new StoreVersionError(this.dir, text, STORE_LAYOUT_VERSION)
    }
  }
}
