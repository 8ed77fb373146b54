import { afterEach, describe, expect, it } from 'vitest'
import { connect, memoryNode } from '../cache-sync/nodes.js'
import type { FederationNode } from '../../../../src/node/federation-node.js'

const nodes: FederationNode[] = []
afterEach(async () => {
  await Promise.all(nodes.splice(0).map(async n => { await n.stop(0) }))
})

function knows (node: FederationNode, other: FederationNode): boolean {
  return node.libp2p.services.capacity.table.get(other.peerId.toString()) != null
}

async function until (cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

describe('capacity ads travel one hop', () => {
  it('a line a - b - c: b knows both ends, the ends know only b', async () => {
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map(async n => memoryNode(`one-hop-${n}`)))
    nodes.push(a, b, c)
    await connect(a, b)
    await connect(c, b)
    await until(() => knows(b, a) && knows(b, c) && knows(a, b) && knows(c, b), 8_000)
    // More ads from each end have passed through b by now (idle nodes advertise every 5 s): none was relayed.
    const seq = (of: FederationNode): number => b.libp2p.services.capacity.table.get(of.peerId.toString())?.ad.seq ?? 0
    const [seqA, seqC] = [seq(a), seq(c)]
    await until(() => seq(a) >= seqA + 1 && seq(c) >= seqC + 1, 12_000)
    expect(a.libp2p.getConnections(c.peerId)).toHaveLength(0)
    expect(knows(a, c)).toBe(false)
    expect(knows(c, a)).toBe(false)
  })
})
