import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { readPower } from '../../../src/services/host/power.js'
import { memoryNodes } from '../../helpers/memory-node.js'
import type { FederationNode } from '../../../src/node/federation-node.js'
import type { NodeEvent } from '../../../src/node/events.js'

/**
 * Three nodes over @libp2p/memory; C reads its power from a fake /sys/class/power_supply. When
 * C goes on a low battery or its owner pauses it, no router (A or B) sends it a new task from
 * one advert interval on, and routes say why.
 */

const ADVERT_INTERVAL_MS = 1_000
// Temporary folders go after the nodes that read them (after-each hooks run last-registered first).
const cleanup: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})
const node = memoryNodes('host-policy', { concurrency: 2, capacityIntervalMs: ADVERT_INTERVAL_MS })

async function setPower (dir: string, ac: boolean, percent: number): Promise<void> {
  await writeFile(join(dir, 'AC', 'online'), ac ? '1\n' : '0\n')
  await writeFile(join(dir, 'BAT0', 'capacity'), `${percent}\n`)
  await writeFile(join(dir, 'BAT0', 'status'), ac ? 'Charging\n' : 'Discharging\n')
}

async function nextEvent (node: FederationNode, type: NodeEvent['type']): Promise<NodeEvent> {
  return new Promise(resolve => { node.events.addEventListener(type, (e) => { resolve(e.detail as NodeEvent) }, { once: true }) })
}

describe('the host policy over the mesh', () => {
  it('a peer on a low battery, or paused by its owner, gets no new task from any router within one advert interval', async () => {
    const power = await mkdtemp(join(tmpdir(), 'fedmesh-power-'))
    cleanup.push(async () => { await rm(power, { recursive: true, force: true }) })
    await mkdir(join(power, 'AC'))
    await mkdir(join(power, 'BAT0'))
    await writeFile(join(power, 'AC', 'type'), 'Mains\n')
    await writeFile(join(power, 'BAT0', 'type'), 'Battery\n')
    await setPower(power, true, 80)

    const a = await node()
    const b = await node()
    const c = await node({
      host: {
        signals: true,
        monitor: { readPower: async () => readPower(power), readPresence: async () => ({ state: 'unknown' }), readTicks: async () => undefined, sampleIntervalMs: 100 }
      }
    })
    // `probe` runs on B and C only for 100 ms (so a burst spreads over both).
    for (const x of [b, c]) x.handleJson('probe', async () => { await new Promise(resolve => setTimeout(resolve, 100)); return { on: x.name } })
    for (const [from, to] of [[a, b], [a, c], [b, c]] as const) await from.libp2p.dial(multiaddr(to.libp2p.getMultiaddrs()[0].toString()))
    const cId = c.peerId.toString()
    const routeReason = (from: FederationNode): string | undefined => from.route('probe').find(r => r.peerId === cId)?.reason
    await expect.poll(() => [a, b].every(x => x.libp2p.services.capacity.table.get(cId)?.ad.kinds.includes('probe') === true), { timeout: 10_000 }).toBe(true)
    const runOnC = async (from: FederationNode, count: number): Promise<number> => {
      const docs = await Promise.all(Array.from({ length: count }, async () => from.run({ kind: 'probe', input: {}, timeoutMs: 20_000 })))
      expect(docs.every(d => d.status === 'ok')).toBe(true)
      return docs.filter(d => d.peer === cId).length
    }
    // On AC, C takes work from A.
    expect(await runOnC(a, 8)).toBeGreaterThan(0)

    // Unplugged at 20 %: below the 30 % floor.
    const paused = nextEvent(c, 'host:paused')
    await setPower(power, false, 20)
    expect(await paused).toMatchObject({ reason: 'battery-low' })
    const pausedAt = Date.now()
    await expect.poll(() => routeReason(a), { timeout: ADVERT_INTERVAL_MS, interval: 20 }).toBe('takes no work: battery-low')
    await expect.poll(() => routeReason(b), { timeout: ADVERT_INTERVAL_MS, interval: 20 }).toBe('takes no work: battery-low')
    expect(Date.now() - pausedAt).toBeLessThanOrEqual(ADVERT_INTERVAL_MS)
    const servedBefore = c.served().filter(s => s.origin !== 'local').length
    expect(await runOnC(a, 8) + await runOnC(b, 8)).toBe(0)
    expect(c.served().filter(s => s.origin !== 'local')).toHaveLength(servedBefore)
    // Peers see why.
    expect((await a.peers()).find(p => p.peerId === cId)?.capacity).toMatchObject({ paused: true, servingReason: 'battery-low' })

    // Charged above the floor but still on battery: half the slots (1 of 2), then on AC: all.
    const capped = nextEvent(c, 'host:capped')
    await setPower(power, false, 60)
    expect(await capped).toMatchObject({ slots: 1, of: 2, reason: 'on-battery' })
    await expect.poll(() => a.libp2p.services.capacity.table.get(cId)?.ad, { timeout: ADVERT_INTERVAL_MS }).toMatchObject({ concurrency: 1, servingReason: 'on-battery' })
    const resumed = nextEvent(c, 'host:resumed')
    await setPower(power, true, 60)
    expect(await resumed).toMatchObject({ after: 'on-battery' })
    await expect.poll(() => routeReason(a), { timeout: ADVERT_INTERVAL_MS }).not.toMatch(/takes no work/)

    // The owner pauses C: the same, at once.
    await c.pause(60_000)
    const ownerPausedAt = Date.now()
    await expect.poll(() => routeReason(a), { timeout: ADVERT_INTERVAL_MS, interval: 20 }).toBe('takes no work: paused')
    expect(Date.now() - ownerPausedAt).toBeLessThanOrEqual(ADVERT_INTERVAL_MS)
    expect(await runOnC(a, 6) + await runOnC(b, 6)).toBe(0)
    expect(c.serving()).toMatchObject({ slots: 0, of: 2, paused: true, reason: 'paused', pause: { until: expect.any(String) } })
    await c.resume()
    await expect.poll(() => routeReason(a), { timeout: ADVERT_INTERVAL_MS }).not.toMatch(/takes no work/)
    expect(await runOnC(a, 8)).toBeGreaterThan(0)
  }, 60_000)
})
