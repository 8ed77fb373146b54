import { describe, expect, it } from 'vitest'
import { memoryNodes } from '../../../helpers/memory-node.js'
import { connect } from '../cache-sync/nodes.js'

/**
 * Two nodes over @libp2p/memory given an idle pace of 5 s (the LAN profile keeps 1 s: the 3 s solo
 * target): an idle node advertises every 5 s and says so; given work it advertises at once, at the
 * busy pace (the profile's 1 s), and its peer judges its liveness by that pace.
 */
const node = memoryNodes('idle-pace', {
  capacityIdleIntervalMs: 5_000,
  concurrency: 1,
  handlers: { wait: async () => { await new Promise(resolve => setTimeout(resolve, 1_500)); return new Uint8Array() } }
})

describe('capacity ads at an idle and a busy pace', () => {
  it('an idle node advertises a 5 s gap; one given work advertises at once with a 1 s gap', async () => {
    const a = await node()
    const b = await node()
    await connect(a, b)
    const adOfA = (): { intervalMs: number, running: number } | undefined => b.libp2p.services.capacity.table.get(a.peerId.toString())?.ad
    await expect.poll(() => adOfA()?.intervalMs, { timeout: 5_000, interval: 50 }).toBe(5_000)

    const run = a.run({ kind: 'wait', peer: a.peerId.toString() })
    const startedAt = Date.now()
    // At once (well before the idle gap), and saying the next ad comes in a second.
    await expect.poll(() => adOfA()?.running, { timeout: 2_000, interval: 20 }).toBe(1)
    expect(Date.now() - startedAt).toBeLessThan(1_500)
    expect(adOfA()?.intervalMs).toBe(1_000)
    await run
  })
})
