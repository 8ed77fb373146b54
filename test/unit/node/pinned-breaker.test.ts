import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { createFederationNode } from '../../../src/node/create-node.js'
import { FedStore } from '../../../src/store/store.js'
import { bytes } from '../../helpers/unit-tasks.js'
import type { FederationNode } from '../../../src/node/federation-node.js'

/**
 * Tasks pinned to a peer whose circuit breaker opened (one timeout trips it) wait for it to
 * close again, each until its own deadline, instead of all failing at once with
 * KIND_NOT_SERVED: the breaker says "not now", not "never".
 */

const cleanup: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

let n = 0
async function node (): Promise<FederationNode> {
  const store = await FedStore.memory()
  const node = await createFederationNode({ open: true, store, transport: 'memory', listen: [`/memory/pinned-breaker-${process.pid}-${n++}`], mdns: false, dht: false, journal: false, profile: 'local', concurrency: 2 })
  await node.start()
  cleanup.push(async () => { await node.stop(0); await store.close() })
  return node
}

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
