import { describe, expect, it } from 'vitest'
import { memoryNodes } from '../../../helpers/memory-node.js'
import { connect } from '../cache-sync/nodes.js'

/**
 * Ads carry the sender's addresses (hints for re-dialling it) in the ad a peer gets when it
 * connects and in one periodic ad of 30; the others go without, and the sender does not look
 * its addresses up for them.
 */
const node = memoryNodes('ad-addresses', { capacityIntervalMs: 200, capacityIdleIntervalMs: 200 })

describe('addresses in capacity ads', () => {
  it('the first ad a new peer gets has them; the periodic ads after it do not', async () => {
    const a = await node()
    const b = await node()
    await connect(a, b)
    const adOfA = (): { seq: number, addrs: unknown[] } | undefined => b.libp2p.services.capacity.table.get(a.peerId.toString())?.ad
    await expect.poll(() => adOfA()?.addrs.length ?? 0, { timeout: 5_000, interval: 20 }).toBeGreaterThan(0)
    const first = adOfA()?.seq ?? 0
    await expect.poll(() => adOfA()?.seq ?? 0, { timeout: 5_000, interval: 20 }).toBeGreaterThan(first)
    expect(adOfA()?.addrs).toEqual([])
  })
})
