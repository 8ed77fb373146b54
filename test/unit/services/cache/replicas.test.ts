/**
 * The skew property's checker (replicas.ts) on interleavings fixed by hand: each invariant must
 * hold of what the code did, not of a moment the checker happens to look at.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { DAY } from '../../../../src/util/time.js'
import { identity } from '../../../helpers/unit-cache.js'
import { Mesh } from './replicas.js'
import type { Identity } from '../../../helpers/unit-cache.js'

const noNoise = (): number => 0
let ids: Identity[]
let mesh: Mesh | undefined

beforeAll(async () => {
  ids = await Promise.all([identity('replicas a'), identity('replicas b'), identity('replicas c')])
})

afterEach(async () => {
  await mesh?.close()
  mesh = undefined
})

describe('skew property checker', () => {
  it('judges a version against the reference time its intake checked it at, not one a clock step set meanwhile', async () => {
    // Node 2's clock is a day behind: once node 1's is too, the median it sees is a day back.
    mesh = await Mesh.create(ids, [0, 0, -DAY], [0, 0, 0])
    await mesh.ads(noNoise)
    await mesh.write(0, 'k', false)
    const i = mesh.pool.findIndex(m => m.to === 1)
    const receiver = mesh.replicas[1]
    const delivered = mesh.deliver(i)
    // The intake has checked the version (the authorizer ran) and is merging it: step the
    // receiver's clock back a day before the merge ends.
    while (receiver.checkedAt.size === 0) await Promise.resolve()
    expect(mesh.stats.appliedBy.gossip ?? 0).toBe(0)
    receiver.skewMs = -DAY
    await delivered
    expect(mesh.stats.appliedBy.gossip).toBe(1)
    // Against the stepped reference the version is far ahead; against the checked one it is not.
    const held = (await receiver.service.store.lookup('k'))?.entry
    expect(held!.version.ts.wallMs - receiver.meshTime.view().referenceMs).toBeGreaterThan(60_000)
    expect(mesh.violations).toEqual([])
  })

  it('does not count a refusing node as converged while it holds a newer version than the one it refuses', async () => {
    mesh = await Mesh.create(ids, [0, 0, 0], [0, 0, 0], { policy: { node: 1, writer: 0 } })
    await mesh.ads(noNoise)
    await mesh.write(0, 'k', false)
    while (mesh.pool.length > 0) await mesh.deliver(0)
    // Node 1 refused node 0's version (its clock moved past it); its own write is newer and
    // not delivered yet: node 0 and 2 still hold the older one.
    await mesh.write(1, 'k', false)
    mesh.pool = []
    expect(await mesh.converged()).toBe(false)
    await mesh.sync(1, 0)
    await mesh.sync(1, 2)
    await mesh.idle()
    expect(await mesh.converged()).toBe(true)
    expect(mesh.violations).toEqual([])
  })

  it('counts a refusing node as converged when what it lacks is only the version it refuses', async () => {
    mesh = await Mesh.create(ids, [0, 0, 0], [0, 0, 0], { policy: { node: 1, writer: 0 } })
    await mesh.ads(noNoise)
    await mesh.write(1, 'k', false)
    while (mesh.pool.length > 0) await mesh.deliver(0)
    await mesh.write(0, 'k', false)
    while (mesh.pool.length > 0) await mesh.deliver(0)
    expect(await mesh.converged()).toBe(true)
  })
})
