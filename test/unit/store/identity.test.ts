import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { loadOrCreateIdentity } from '../../../src/store/identity.js'
import { FedStore } from '../../../src/store/store.js'
import { StoreLockedError } from '../../../src/util/errors.js'

describe('store and identity', () => {
  it('creates an Ed25519 identity once and reads the same one back after reopening', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fedmesh-id-'))
    try {
      const s1 = await FedStore.open(dir)
      const k1 = await loadOrCreateIdentity(s1.sublevel('identity'))
      expect(k1.type).toBe('Ed25519')
      await s1.close()
      const s2 = await FedStore.open(dir)
      const k2 = await loadOrCreateIdentity(s2.sublevel('identity'))
      expect(peerIdFromPrivateKey(k2).toString()).toBe(peerIdFromPrivateKey(k1).toString())
      await s2.close()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('refuses to open a store another holder has locked, with a clear error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fedmesh-lock-'))
    const s1 = await FedStore.open(dir)
    try {
      await expect(FedStore.open(dir)).rejects.toBeInstanceOf(StoreLockedError)
    } finally {
      await s1.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
