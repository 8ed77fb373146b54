import type { StoredEntry } from './entry.js'

/** What one writer may keep in this node's cache. */
export interface WriterQuota {
  /** Entries (tombstones included) at most. Default 10,000. */
  entries: number
  /** Bytes of keys and values at most. Default 16 MiB. */
  bytes: number
}

export const DEFAULT_WRITER_QUOTA: WriterQuota = { entries: 10_000, bytes: 16 * 1024 * 1024 }

interface Usage { entries: number, bytes: number }

/**
 * How much of this node's cache each writer (an entry's origin) holds now, kept exactly: built
 * from the store at start, moved by every applied entry (and the one it replaced) and every
 * removal. A writer over its quota gets no new entry stored here.
 */
export class WriterUsage {
  private readonly byKey = new Map<string, { origin: string, bytes: number }>()
  private readonly byWriter = new Map<string, Usage>()
  private totalBytes = 0

  constructor (readonly quota: WriterQuota = DEFAULT_WRITER_QUOTA) {}

  /** Count every entry held now (at start). */
  async load (entries: AsyncIterable<StoredEntry>): Promise<number> {
    this.byKey.clear()
    this.byWriter.clear()
    this.totalBytes = 0
    let n = 0
    for await (const e of entries) {
      this.add(e)
      n++
    }
    return n
  }

  /** `entry` is now what the node holds for its key. */
  applied (entry: StoredEntry): void {
    this.removed(entry.key)
    this.add(entry)
  }

  /** The key is no longer held (collected). */
  removed (key: string): void {
    const held = this.byKey.get(key)
    if (held == null) return
    this.byKey.delete(key)
    this.totalBytes -= held.bytes
    const u = this.byWriter.get(held.origin)
    if (u == null) return
    u.entries--
    u.bytes -= held.bytes
    if (u.entries <= 0) this.byWriter.delete(held.origin)
  }

  /** Would storing `entry` take its writer past the quota? Why, as a sentence, or undefined. */
  overQuota (entry: StoredEntry): string | undefined {
    const writer = entry.version.origin
    const u = this.byWriter.get(writer) ?? { entries: 0, bytes: 0 }
    const held = this.byKey.get(entry.key)
    const own = held?.origin === writer
    const entries = u.entries + (own ? 0 : 1)
    const bytes = u.bytes + sizeOf(entry) - (own ? (held?.bytes ?? 0) : 0)
    if (entries > this.quota.entries) return `the writer holds ${u.entries} entries here, its quota is ${this.quota.entries}`
    if (bytes > this.quota.bytes) return `the writer holds ${u.bytes} bytes here, its quota is ${this.quota.bytes}`
    return undefined
  }

  /** Everything held, all writers together (keys and values, bytes). */
  total (): Usage {
    return { entries: this.byKey.size, bytes: this.totalBytes }
  }

  of (writer: string): Usage {
    return { ...(this.byWriter.get(writer) ?? { entries: 0, bytes: 0 }) }
  }

  private add (e: StoredEntry): void {
    const bytes = sizeOf(e)
    this.byKey.set(e.key, { origin: e.version.origin, bytes })
    this.totalBytes += bytes
    const u = this.byWriter.get(e.version.origin) ?? { entries: 0, bytes: 0 }
    u.entries++
    u.bytes += bytes
    this.byWriter.set(e.version.origin, u)
  }
}

function sizeOf (e: StoredEntry): number {
  return Buffer.byteLength(e.key) + e.value.byteLength
}
