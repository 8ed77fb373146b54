import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { WRITE_BUFFER_BYTES } from '../../../src/store/guarded-level.js'
import { FedStore } from '../../../src/store/store.js'

/**
 * The store's LevelDB holds at most WRITE_BUFFER_BYTES of writes in memory (its memtable), not
 * LevelDB's default 4 MiB: past it, the writes go to a table file on disk.
 */

const dirs: string[] = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

const tables = async (dir: string): Promise<string[]> => (await readdir(join(dir, 'db'))).filter(f => f.endsWith('.ldb'))

describe('the store write buffer', () => {
  it('writes a table file once twice the write buffer of incompressible data was written', async () => {
    expect(WRITE_BUFFER_BYTES).toBeLessThan(4 * 1024 * 1024)
    const dir = await mkdtemp(join(tmpdir(), 'fedmesh-write-buffer-'))
    dirs.push(dir)
    const store = await FedStore.open(dir)
    try {
      expect(await tables(dir)).toEqual([])
      const cache = store.sublevel('cache')
      // Twice the buffer, below LevelDB's default (4 MiB): with the default nothing is flushed yet.
      for (let i = 0; i < (2 * WRITE_BUFFER_BYTES) / 16_384; i++) await cache.put(`k${i}`, randomBytes(16_384))
      const end = Date.now() + 5_000
      while ((await tables(dir)).length === 0 && Date.now() < end) await new Promise(resolve => setTimeout(resolve, 50))
      expect((await tables(dir)).length).toBeGreaterThan(0)
    } finally {
      await store.close()
    }
  })
})
