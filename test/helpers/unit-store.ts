/** Helpers for the store unit tests. */
import { vi } from 'vitest'
import type { FedStore } from '../../src/store/store.js'

/** Count batch writes on the root db and the options each was written with. */
export function spyOnBatches (fed: FedStore): Array<{ ops: number, options: unknown }> {
  const writes: Array<{ ops: number, options: unknown }> = []
  const original = fed.db.batch.bind(fed.db) as (...args: unknown[]) => any
  vi.spyOn(fed.db, 'batch').mockImplementation(((...args: unknown[]) => {
    if (args.length > 0) return original(...args) // array form: not what group commit uses
    const chained = original()
    const write = chained.write.bind(chained)
    chained.write = async (options?: unknown) => {
      writes.push({ ops: chained.length, options })
      return write(options)
    }
    return chained
  }) as any)
  return writes
}
