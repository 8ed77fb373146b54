import fc from 'fast-check'
import { Key } from 'interface-datastore'
import { MemoryLevel } from 'memory-level'
import { describe, expect, it } from 'vitest'
import { ResilientDatastore } from '../../../src/store/resilient-datastore.js'
import { StorageHealth } from '../../../src/store/storage-health.js'
import { StorageFullError } from '../../../src/util/errors.js'
import type { Level } from 'level'

const FULL = { kind: 'full' as const, reason: 'no space left on device', detail: 'test' }

async function setup (maxHeldBytes?: number): Promise<{ ds: ResilientDatastore, health: StorageHealth, db: MemoryLevel<string, Uint8Array> }> {
  const db = new MemoryLevel<string, Uint8Array>({ valueEncoding: 'view' })
  await db.open()
  const health = new StorageHealth({ now: () => 0 }, ':memory:')
  return { ds: new ResilientDatastore(db as unknown as Level<string, Uint8Array>, health, { maxHeldBytes }), health, db }
}

async function all (ds: ResilientDatastore, prefix?: string): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = []
  for await (const { key, value } of ds.query({ prefix })) out.push([key.toString(), Buffer.from(value).toString()])
  return out
}

const op = fc.oneof(
  fc.record({ type: fc.constant('put' as const), key: fc.constantFrom('/a', '/a/1', '/a/2', '/b', '/b/x', '/c'), value: fc.string({ maxLength: 4 }) }),
  fc.record({ type: fc.constant('delete' as const), key: fc.constantFrom('/a', '/a/1', '/a/2', '/b', '/b/x', '/c') }),
  fc.record({ type: fc.constant('fail' as const) }),
  fc.record({ type: fc.constant('recover' as const) })
)

describe('ResilientDatastore', () => {
  it('holds writes while the store refuses them and reads, queries and flushes as if they were on disk', async () => {
    await fc.assert(fc.asyncProperty(fc.array(op, { maxLength: 40 }), fc.constantFrom(undefined, '/a', '/b'), async (ops, prefix) => {
      const { ds, health } = await setup()
      const model = new Map<string, string>()
      for (const o of ops) {
        if (o.type === 'fail') health.failed('put', FULL)
        else if (o.type === 'recover') { health.recovered(); await ds.flush() } else if (o.type === 'put') { await ds.put(new Key(o.key), Buffer.from(o.value)); model.set(o.key, o.value) } else { await ds.delete(new Key(o.key)); model.delete(o.key) }
        for (const [k, v] of model) expect(Buffer.from(await ds.get(new Key(k))).toString()).toBe(v)
      }
      const expected = [...model.entries()]
        .filter(([k]) => prefix == null || k.startsWith(prefix))
        .sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
      expect(await all(ds, prefix)).toEqual(expected)
      health.recovered()
      await ds.flush()
      expect(ds.heldWrites).toBe(0)
      expect(await all(ds, prefix)).toEqual(expected)
    }), { numRuns: 200 })
  })

  it('writes what it held once the store recovers, and batches too', async () => {
    const { ds, health, db } = await setup()
    health.failed('put', FULL)
    await ds.put(new Key('/peers/1'), Buffer.from('one'))
    const batch = ds.batch()
    batch.put(new Key('/peers/2'), Buffer.from('two'))
    batch.delete(new Key('/peers/1'))
    await batch.commit()
    expect(await db.keys().all()).toEqual([])
    expect(await ds.has(new Key('/peers/1'))).toBe(false)
    expect(ds.heldWrites).toBe(2)
    health.recovered()
    await ds.flush()
    expect(await db.keys().all()).toEqual(['/peers/2'])
    expect(ds.heldWrites).toBe(0)
  })

  it('holds a bounded amount, then refuses like the store', async () => {
    const { ds, health } = await setup(64)
    health.failed('put', FULL)
    await ds.put(new Key('/k1'), new Uint8Array(40))
    await expect(ds.put(new Key('/k2'), new Uint8Array(40))).rejects.toBeInstanceOf(StorageFullError)
  })
})
