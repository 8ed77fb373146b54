import { afterAll, describe, expect, it } from 'vitest'
import { startDaemon, stopAll, waitFor } from '../helpers/daemon.js'
import { createLoopbackNamespace, netnsUnavailableReason } from '../helpers/netns.js'

interface PeerDoc { peerId: string, connected: boolean, membership?: string, refusal?: { count: number } }

const unavailable = netnsUnavailableReason()
const ns = unavailable == null ? createLoopbackNamespace(`fm-fedmdns-${process.pid}`) : undefined

afterAll(async () => {
  await stopAll()
  ns?.destroy()
})

// mDNS multicasts: it runs only inside a namespace this test creates, never on a real interface.
describe.skipIf(unavailable != null)(`two federations on one LAN (mDNS in a network namespace)${unavailable != null ? ` (skipped: ${unavailable})` : ''}`, () => {
  it('members find each other; a non-member is seen but never dialled twice in a row nor kept', async () => {
    const prefix = ns!.prefix
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map(async name => await startDaemon({ name, mdns: true, prefix, open: false })))
    const [idA, idB, idC] = await Promise.all([a.peerId(), b.peerId(), c.peerId()])
    const token = (await a.json<{ token: string }>('federation', 'invite')).token
    await b.json('federation', 'join', token)
    await waitFor(async () => (await a.json<PeerDoc[]>('peers')).some(p => p.peerId === idB && p.connected), 15_000, 'A and B (one federation) to connect over mDNS')
    // C, a federation of one, answers mDNS queries every second: A and B try it once each way.
    const refusalsOf = async (d: typeof a, id: string): Promise<number> => (await d.json<PeerDoc[]>('peers', '--all')).find(p => p.peerId === id)?.refusal?.count ?? 0
    await waitFor(async () => await refusalsOf(a, idC) > 0 && await refusalsOf(c, idA) > 0, 15_000, 'A and C to meet and refuse each other')
    const before = [await refusalsOf(a, idC), await refusalsOf(b, idC), await refusalsOf(c, idA)]
    // Five more mDNS rounds: nobody dials the other federation again.
    await new Promise(resolve => setTimeout(resolve, 5_000))
    const after = [await refusalsOf(a, idC), await refusalsOf(b, idC), await refusalsOf(c, idA)]
    console.info(`[federation-mdns] refusals A→C, B→C, C→A before ${before.join(',')}, 5 s later ${after.join(',')}`)
    expect(after).toEqual(before)
    for (const n of before) expect(n).toBeLessThanOrEqual(2)
    expect((await a.json<PeerDoc[]>('peers')).map(p => p.peerId)).toEqual([idB])
    expect((await c.json<PeerDoc[]>('peers'))).toEqual([])
    expect((await a.json<PeerDoc[]>('peers', '--all')).find(p => p.peerId === idC)?.connected).toBe(false)
  })
})
