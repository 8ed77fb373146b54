import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { afterAll, describe, expect, it } from 'vitest'
import { startDaemon, stopAll, waitFor } from '../helpers/daemon.js'
import type { Daemon } from '../helpers/daemon.js'

/**
 * Issue 14: a peer that restarts on a new port is found again by the peers that knew only its old
 * address (their re-dial fails, they look it up by peer id in the DHT and dial what they find).
 * B runs no DHT (so no walk of C's finds it in A's routing table) and C knows it only as a
 * bootstrap address. B restarts with its identity but nothing else (it knows only A): it cannot be
 * the one that reconnects, so only C's lookup (A answers from its peer store) can bring them back.
 * Three daemons on 127.0.0.1.
 */

interface PeerDoc { peerId: string, connected: boolean, discoveredVia: string[], addresses: string[] }

afterAll(stopAll)

/** Keep only the identity in a stopped daemon's store: the peer store, roster and the rest go. */
async function forgetAllButIdentity (dataDir: string): Promise<void> {
  const db = new ClassicLevel<Buffer, Buffer>(join(dataDir, 'db'), { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  await db.open()
  const keep = Buffer.from('!identity!')
  const drop: Buffer[] = []
  for await (const key of db.keys()) if (!key.subarray(0, keep.length).equals(keep)) drop.push(key)
  await db.batch(drop.map(key => ({ type: 'del' as const, key })))
  await db.close()
}

async function peerOf (d: Daemon, id: string): Promise<PeerDoc | undefined> {
  return (await d.json<PeerDoc[]>('peers')).find(p => p.peerId === id)
}

describe('re-dial by peer id (three daemons on 127.0.0.1)', () => {
  it('a peer restarted on a new port is reconnected by a peer that knew only its old address, within 10 s', async () => {
    const a = await startDaemon({ name: 'a' })
    const addrA = await a.address()
    let b = await startDaemon({ name: 'b', args: ['--bootstrap', addrA, '--no-dht'] })
    const idB = await b.peerId()
    const oldAddrB = await b.address()
    const c = await startDaemon({ name: 'c', args: ['--bootstrap', addrA, '--bootstrap', oldAddrB] })
    await waitFor(async () => (await peerOf(c, idB))?.connected === true, 15_000, 'C to connect to B')

    const dataDirB = b.dataDir
    await b.stop()
    await waitFor(async () => (await peerOf(c, idB))?.connected === false, 10_000, 'C to see B gone')
    await forgetAllButIdentity(dataDirB)
    b = await startDaemon({ name: 'b', dataDir: dataDirB, args: ['--bootstrap', addrA, '--no-dht'] })
    const answeredAt = Date.now()
    expect(await b.peerId()).toBe(idB)
    expect(await b.address()).not.toBe(oldAddrB)

    await waitFor(async () => (await peerOf(c, idB))?.connected === true, 10_000, 'C to reconnect to B on its new port')
    const ms = Date.now() - answeredAt
    // B knew nobody but A and ran no DHT: C dialled it.
    const cAtB = await peerOf(b, await c.peerId())
    expect(cAtB?.discoveredVia).toEqual(['inbound'])
    console.info(`[redial] C reconnected to B on its new port ${ms} ms after B answered again`)
  })
})
