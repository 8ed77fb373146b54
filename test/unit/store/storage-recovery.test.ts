import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { StorageHealth } from '../../../src/store/storage-health.js'
import { StorageRecovery } from '../../../src/store/storage-recovery.js'

const FULL = { kind: 'full' as const, reason: 'no space left on device', detail: 'IO error: x.log: No space left on device' }
const RESERVE = 1_000
const dirs: string[] = []

afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

/** A failed store over a db dir holding a 5,000-byte write-ahead log; free space is what the test says. */
async function failedStore (): Promise<{ recovery: StorageRecovery, health: StorageHealth, calls: string[], setFree: (n: number) => void, fail: { reopen?: Error, probe?: Error } }> {
  const dbDir = await mkdtemp(join(tmpdir(), 'fedmesh-recovery-'))
  dirs.push(dbDir)
  await writeFile(join(dbDir, '000003.log'), Buffer.alloc(5_000))
  await writeFile(join(dbDir, '000004.ldb'), Buffer.alloc(50_000))
  const health = new StorageHealth({ now: () => 0 }, dbDir)
  health.failed('put', FULL)
  const calls: string[] = []
  const fail: { reopen?: Error, probe?: Error } = {}
  let free = 0
  const recovery = new StorageRecovery({
    health,
    dbDir,
    reopen: async () => { calls.push('reopen'); if (fail.reopen != null) throw fail.reopen },
    probe: async () => { calls.push('probe'); if (fail.probe != null) throw fail.probe }
  }, { reserveBytes: RESERVE, freeBytes: async () => free })
  return { recovery, health, calls, setFree: (n) => { free = n }, fail }
}

describe('StorageRecovery', () => {
  it('waits for room to replay the write-ahead log before it reopens, then probes and recovers', async () => {
    const { recovery, health, calls, setFree } = await failedStore()
    setFree(5_000 + RESERVE - 1)
    expect(await recovery.attempt()).toBe(false)
    expect(calls).toEqual([])
    setFree(5_000 + RESERVE)
    expect(await recovery.attempt()).toBe(true)
    expect(calls).toEqual(['reopen', 'probe'])
    expect(health.condition()).toEqual({ ok: true, writesRefused: 0 })
    expect(health.reopens).toBe(1)
  })

  it('stays failed when the reopen or the probe fails, counting the reopen failure', async () => {
    const { recovery, health, calls, setFree, fail } = await failedStore()
    setFree(1e9)
    fail.reopen = Object.assign(new Error('Database is not open'), { code: 'LEVEL_DATABASE_NOT_OPEN', cause: Object.assign(new Error('IO error: MANIFEST: Input/output error'), { code: 'LEVEL_IO_ERROR' }) })
    expect(await recovery.attempt()).toBe(false)
    expect(health.errors.reopen).toBe(1)
    fail.reopen = undefined
    fail.probe = new Error('still full')
    expect(await recovery.attempt()).toBe(false)
    expect(health.ok).toBe(false)
    expect(health.condition().error).toBe('no space left on device')
    fail.probe = undefined
    expect(await recovery.attempt()).toBe(true)
    expect(calls).toEqual(['reopen', 'reopen', 'probe', 'reopen', 'probe'])
  })

  it('runs one attempt at a time', async () => {
    const { recovery, calls, setFree } = await failedStore()
    setFree(1e9)
    expect(await Promise.all([recovery.attempt(), recovery.attempt()])).toEqual([true, true])
    expect(calls).toEqual(['reopen', 'probe'])
  })
})
