import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { memoryNodes } from '../../helpers/memory-node.js'
import { bytes } from '../../helpers/unit-tasks.js'

/**
 * Tasks pinned to a peer whose circuit breaker opened (one timeout trips it) wait for it to
 * close again, each until its own deadline, instead of all failing at once with
 * KIND_NOT_SERVED: the breaker says "not now", not "never".
 */

const node = memoryNodes('pinned-breaker', { concurrency: 2 })

describe('tasks pinned to a peer whose circuit is open', () => {
  it('wait for the breaker to close and then run there; an unknown peer still fails at once', async () => {
    const [a, b] = [await node(), await node()]
    await a.libp2p.dial(multiaddr(b.libp2p.getMultiaddrs()[0].toString()))
    const bId = b.peerId.toString()
    const tasks = a.libp2p.services.tasks
    await expect.poll(() => a.libp2p.services.capacity.table.get(bId) != null, { timeout: 10_000 }).toBe(true)

    const trippedAt = Date.now()
    tasks.breakers.trip(bId, trippedAt) // open for the first cooldown (5 s)
    const runs = await Promise.all(Array.from({ length: 20 }, async (_, i) =>
      a.run({ kind: 'echo', input: bytes(`"${i}"`), peer: bId, timeoutMs: 30_000 })))
    expect(runs.map(r => r.status)).toEqual(runs.map(() => 'ok'))
    expect(new Set(runs.map(r => r.peer))).toEqual(new Set([bId]))
    expect(Date.now() - trippedAt).toBeGreaterThanOrEqual(4_500)

    // A task with a budget shorter than the cooldown ends at its deadline, not at once.
    tasks.breakers.trip(bId, Date.now())
    const started = Date.now()
    const short = await a.run({ kind: 'echo', input: bytes('"late"'), peer: bId, timeoutMs: 1_000 })
    expect(short).toMatchObject({ status: 'error', errorCode: 'TIMED_OUT' })
    expect(Date.now() - started).toBeGreaterThanOrEqual(900)

    const unknown = '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'
    const refused = await a.run({ kind: 'echo', input: bytes('"x"'), peer: unknown, timeoutMs: 30_000 })
    expect(refused).toMatchObject({ status: 'error', errorCode: 'KIND_NOT_SERVED' })
  }, 60_000)
})
