import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { admissionWindow } from '../../../../src/core/routing/admission.js'
import { blankCandidate, readAll } from '../../../../src/core/routing/ranking.js'
import { CapacityTable } from '../../../../src/services/capacity/capacity-table.js'
import { TableCandidates, nthSmallest } from '../../../../src/services/tasks/candidates.js'
import { Executor } from '../../../../src/services/tasks/executor.js'
import { builtinHandlers } from '../../../../src/services/tasks/handlers.js'

describe('candidates: the median run time of peers that have not run a kind yet', () => {
  it('nthSmallest picks what sorting would put at position k, duplicates included', () => {
    fc.assert(fc.property(
      fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 300 }).chain(values => fc.tuple(fc.constant(values), fc.nat(values.length - 1))),
      ([values, k]) => {
        const sorted = Float64Array.from(values).sort()
        // Room past n, as the shared buffer has: nothing beyond n is read or moved.
        const a = new Float64Array(values.length + 5).fill(-1)
        a.set(values)
        expect(nthSmallest(a, values.length, k)).toBe(sorted[k])
        expect(Array.from(a.subarray(values.length))).toEqual([-1, -1, -1, -1, -1])
      }), { numRuns: 1_000 })
  })
})

describe('candidates: readLoad', () => {
  it('fills what read fills for the id, serving and advertised load, and skips what read skips', () => {
    const clock = { now: () => 1_000 }
    const table = new CapacityTable({ clock })
    const ad = (queueDepth: number, running: number, kinds: string[]) => ({ seq: 1, name: '', cores: 4, freeMemoryMb: 0, load: 0, queueDepth, running, concurrency: 4, queueLimit: 16, kinds, meanRunMs: new Map([['echo', 30]]), intervalMs: 1_000, addrs: [], clamped: [] })
    table.update('a', ad(2, 4, ['echo']))
    table.update('b', ad(0, 1, ['sleep']))
    table.update('c', ad(5, 4, ['echo']))
    const executor = new Executor({ concurrency: 2, handlers: builtinHandlers(), clock })
    const view = { rtt: () => ({ rttMs: 12, source: 'ping' as const }), reputation: () => ({ score: 3, state: 'healthy' as const }), circuitOpen: () => false, connected: () => true }
    const reader = new TableCandidates('echo', 'self', executor, table, view, { exclude: new Set(['c']) })
    const fields = ['peerId', 'local', 'serves', 'queueDepth', 'running', 'concurrency', 'queueLimit'] as const
    for (let i = 0; i < reader.length; i++) {
      const full = reader.read(i, blankCandidate())
      const light = reader.readLoad(i, blankCandidate())
      if (full === undefined) {
        expect(light).toBeUndefined()
        continue
      }
      for (const f of fields) expect(light?.[f]).toEqual(full[f])
      if (!full.local) {
        expect(full.rttMs).toBe(12)
        expect(light?.rttMs).toBeUndefined()
      }
    }
    expect(reader.readLoad(0, blankCandidate())?.local).toBe(true)
  })
})

describe('candidates: a busy peer\'s own estimate of its first free slot', () => {
  it('reaches routing from the advert, and this node\'s from its executor', () => {
    const clock = { now: () => 1_000 }
    const table = new CapacityTable({ clock })
    const ad = (firstFreeMs?: number) => ({ seq: 1, name: '', cores: 1, freeMemoryMb: 0, load: 0, queueDepth: 0, running: 1, concurrency: 1, queueLimit: 16, kinds: ['echo'], meanRunMs: new Map([['echo', 30]]), intervalMs: 1_000, addrs: [], clamped: [], ...(firstFreeMs !== undefined ? { firstFreeMs } : {}) })
    table.update('said', ad(9_000))
    table.update('old', ad())
    const executor = new Executor({ concurrency: 2, handlers: builtinHandlers(), clock })
    const view = { rtt: () => ({ rttMs: 12, source: 'ping' as const }), reputation: () => ({ score: 3, state: 'healthy' as const }), circuitOpen: () => false, connected: () => true }
    const byId = new Map(readAll(new TableCandidates('echo', 'self', executor, table, view)).map(c => [c.peerId, c]))
    expect(byId.get('said')?.firstFreeMs).toBe(9_000)
    expect(byId.get('old')?.firstFreeMs).toBeUndefined() // a peer without the field: the rule before
    expect(byId.get('self')?.firstFreeMs).toBe(0) // a free slot here
  })
})

describe('candidates: readStanding', () => {
  it('fills what decides standing as read does, so the admission window is the same whether it reads the light or the full way', () => {
    const clock = { now: () => 1_000 }
    const table = new CapacityTable({ clock })
    const ad = (concurrency: number, kinds: string[], paused?: boolean) => ({ seq: 1, name: '', cores: 4, freeMemoryMb: 0, load: 0, queueDepth: 1, running: 2, concurrency, queueLimit: 16, kinds, meanRunMs: new Map<string, number>(), intervalMs: 1_000, addrs: [], clamped: [], ...(paused === true ? { paused, servingReason: 'battery-low' } : {}) })
    table.update('ok', ad(4, ['echo']))
    table.update('banned', ad(8, ['echo']))
    table.update('tripped', ad(16, ['echo']))
    table.update('paused', ad(32, ['echo'], true))
    table.update('other-kind', ad(64, ['sleep']))
    table.update('no-slots', ad(0, ['echo']))
    const executor = new Executor({ concurrency: 2, handlers: builtinHandlers(), clock })
    const view = {
      rtt: () => ({ rttMs: 12, source: 'ping' as const }),
      reputation: (p: string) => p === 'banned' ? { score: -90, state: 'banned' as const } : { score: 0, state: 'healthy' as const },
      circuitOpen: (p: string) => p === 'tripped',
      connected: () => true
    }
    const reader = new TableCandidates('echo', 'self', executor, table, view)
    const fields = ['peerId', 'local', 'serves', 'concurrency', 'reputationState', 'circuitOpen', 'noWork'] as const
    for (let i = 0; i < reader.length; i++) {
      const full = reader.read(i, blankCandidate())
      const light = reader.readStanding(i, blankCandidate())
      for (const f of fields) expect(light?.[f]).toEqual(full?.[f])
    }
    // This node's 2 slots and `ok`'s 4 count; the banned, tripped, paused, other-kind and slotless peers do not.
    expect(admissionWindow(reader, { depth: 2 })).toBe(12)
    expect(admissionWindow(readAll(reader), { depth: 2 })).toBe(12)
  })
})
