import { describe, expect, it } from 'vitest'
import { EVENT_TYPES, NodeEvents } from '../../../src/node/events.js'
import { eventLevel, eventMessage } from '../../../src/node/event-messages.js'
import { EventWiring, routingReason } from '../../../src/node/event-wiring.js'
import type { EventDraft, NodeEvent } from '../../../src/node/events.js'
import type { Plan } from '../../../src/core/routing/plan.js'
import type { ScoredCandidate } from '../../../src/core/routing/score.js'
import type { StorageEvent, StorageHealth } from '../../../src/store/storage-health.js'

const P1 = '12D3KooWAbCdEfGhIjKlMnOpQrStUvWxYz1234567890abcdefgh'
const P2 = '12D3KooWZyXwVuTsRqPoNmLkJiHgFeDcBa0987654321zyxwvuts'

/** One draft of every event type, with its optional fields filled. */
const SAMPLES: EventDraft[] = [
  { type: 'peer:connected', peer: P1, name: 'b', direction: 'inbound', connection: 'direct', address: '/ip4/127.0.0.1/tcp/1' },
  { type: 'peer:disconnected', peer: P1, name: 'b' },
  { type: 'peer:refused', peer: P1, reason: 'not a member' },
  { type: 'peer:banned', peer: P1, score: -80.4, until: '2030-01-01T00:00:00.000Z' },
  { type: 'member:revoked', peer: P1 },
  { type: 'mode:changed', from: 'federated', to: 'solo' },
  { type: 'task:submitted', taskId: 'abcdef12-0000', kind: 'echo', pinnedPeer: P1 },
  { type: 'task:started', taskId: 'abcdef12-0000', kind: 'echo', waitedMs: 1500 },
  { type: 'task:routed', taskId: 'abcdef12-0000', kind: 'echo', attempt: 2, reason: 'late-binding', peers: [P1, P2] },
  { type: 'task:failed-over', taskId: 'abcdef12-0000', kind: 'echo', attempt: 2, from: [P1] },
  { type: 'task:finished', taskId: 'abcdef12-0000', kind: 'echo', status: 'error', peer: P1, attempts: 3, durationMs: 90_000, errorCode: 'TIMED_OUT', error: 'no result' },
  { type: 'task:served', taskId: 'abcdef12-0000', kind: 'echo', origin: P2, originName: 'c', status: 'ok', queuedMs: 3, runMs: 12 },
  { type: 'cache:conflict', key: 'k', winner: P1, loser: P2, path: 'gossip' },
  { type: 'cache:refused', key: 'k', writer: P1, from: P2, path: 'gossip', reason: 'writer-quota', detail: 'over' },
  { type: 'storage:failed', error: 'no space left on device', op: 'put' },
  { type: 'storage:recovered', downMs: 4200, writesRefused: 7 },
  { type: 'host:paused', reason: 'battery-low', detail: 'on battery at 20 % (below 30 %)' },
  { type: 'host:capped', slots: 1, of: 4, reason: 'user-active', detail: 'someone is using this machine' },
  { type: 'host:resumed', slots: 4, after: 'user-active' },
  { type: 'evidence:examined', from: P2, kind: 'upper', verdict: 'applied', wrong: [P1] },
  { type: 'task:spot-checked', taskId: 'abcdef12-0000', kind: 'upper', verdict: 'wrong-result', peers: [P1, P2], wrong: P1 }
]

describe('event messages and levels', () => {
  it('every event type reads as a sentence with no gaps, at a level', () => {
    expect(SAMPLES.map(s => s.type).sort()).toEqual([...EVENT_TYPES].sort())
    for (const draft of SAMPLES) {
      const text = eventMessage(draft, P2)
      expect(text.length, draft.type).toBeGreaterThan(10)
      expect(text, draft.type).not.toMatch(/undefined|null|\[object/)
      expect(['debug', 'info', 'warn', 'error']).toContain(eventLevel(draft))
    }
  })

  it('says peers by name and short id, this node as "this node", and how loud each is', () => {
    expect(eventMessage(SAMPLES[0])).toBe(`peer b (12D3Ko…${P1.slice(-6)}) connected (inbound, direct)`)
    expect(eventMessage(SAMPLES[11], P2)).toBe('ran echo task abcdef12 for this node: ok in 12 ms')
    expect(eventMessage(SAMPLES[10])).toBe('echo task abcdef12 failed (TIMED_OUT) after 90.0 s: no result')
    expect(eventLevel(SAMPLES[10])).toBe('warn')
    expect(eventLevel({ ...SAMPLES[10], status: 'ok' } as EventDraft)).toBe('info')
    expect(eventLevel(SAMPLES[11])).toBe('info')
    expect(eventLevel({ ...SAMPLES[11], origin: 'local' } as EventDraft)).toBe('debug')
    expect(eventLevel(SAMPLES[6])).toBe('debug')
    expect(eventLevel(SAMPLES[14])).toBe('error')
    const spot = SAMPLES[SAMPLES.length - 1]
    expect(eventMessage(spot)).toMatch(/^spot check of upper task abcdef12: peer b?.*returned a wrong result \(runs on .*\); the agreed one was returned$/)
    expect(eventLevel(spot)).toBe('warn')
    expect(eventLevel({ ...spot, verdict: 'agreed', wrong: undefined } as EventDraft)).toBe('debug')
  })
})

describe('NodeEvents', () => {
  it('numbers events from 1, stamps time, level and message, and tells typed and catch-all listeners', () => {
    let now = 1_000
    const bus = new NodeEvents({ clock: { now: () => now } })
    const typed: NodeEvent[] = []
    const all: NodeEvent[] = []
    bus.addEventListener('mode:changed', (evt) => { typed.push(evt.detail) })
    const unsubscribe = bus.subscribe(e => { all.push(e) })
    bus.emit('mode:changed', { from: 'solo', to: 'federated' })
    now = 2_000
    bus.emit('member:revoked', { peer: P1 })
    expect(typed).toEqual([{ id: 1, type: 'mode:changed', time: 1_000, level: 'info', message: 'a peer is live: federated', from: 'solo', to: 'federated' }])
    expect(all.map(e => [e.id, e.type, e.time])).toEqual([[1, 'mode:changed', 1_000], [2, 'member:revoked', 2_000]])
    unsubscribe()
    bus.emit('member:revoked', { peer: P2 })
    expect(all).toHaveLength(2)
    expect(bus.lastId).toBe(3)
  })

  it('names peers it knows in messages, and this node as "this node"', () => {
    const bus = new NodeEvents()
    bus.self = P2
    bus.nameOf = (peer) => peer === P1 ? 'bravo' : undefined
    expect(bus.emit('task:failed-over', { taskId: 'abcdef12', kind: 'echo', attempt: 2, from: [P1, P2] }).message)
      .toBe(`echo task abcdef12 failed over from bravo (12D3Ko…${P1.slice(-6)}), this node (attempt 2)`)
  })

  it('record: with nobody listening the event is kept as it came and stamped when read; with a listener it is delivered at once', () => {
    let now = 1_000
    const bus = new NodeEvents({ clock: { now: () => now }, recentLimit: 3 })
    bus.record('member:revoked', { peer: P1 })
    now = 2_000
    bus.record('mode:changed', { from: 'solo', to: 'federated' })
    expect(bus.recent()).toEqual([
      { id: 1, type: 'member:revoked', time: 1_000, level: 'warn', message: expect.any(String), peer: P1 },
      { id: 2, type: 'mode:changed', time: 2_000, level: 'info', message: 'a peer is live: federated', from: 'solo', to: 'federated' }
    ])
    expect(bus.recent()[0]).toBe(bus.recent()[0]) // stamped once
    const seen: NodeEvent[] = []
    bus.subscribe(e => { seen.push(e) })
    bus.record('member:revoked', { peer: P2 })
    bus.record('member:revoked', { peer: P1 }) // the ring wraps: the oldest goes
    expect(seen.map(e => e.id)).toEqual([3, 4])
    expect(bus.recent().map(e => e.id)).toEqual([2, 3, 4])
    expect(bus.recent(3)).toEqual([seen[1]])
  })

  it('remembers the newest events only, and replays those after an id', () => {
    const bus = new NodeEvents({ recentLimit: 3 })
    for (let i = 0; i < 7; i++) bus.emit('member:revoked', { peer: `p${i}` })
    expect(bus.recent().map(e => e.id)).toEqual([5, 6, 7])
    expect(bus.recent(5).map(e => e.id)).toEqual([6, 7])
    expect(bus.recent(1).map(e => e.id)).toEqual([5, 6, 7])
    expect(bus.recent(7)).toEqual([])
    expect(bus.recent(99)).toEqual([])
    expect(new NodeEvents({ recentLimit: 0 }).recent()).toEqual([])
  })
})

function candidate (over: Partial<ScoredCandidate>): ScoredCandidate {
  return { peerId: P1, local: false, score: 10, queueWaitMs: 0, rttMs: 1, rttSource: 'ping', dialMs: 0, runMs: 5, reputation: 0, reputationPenaltyMs: 0, load: 0, eligible: true, reason: '', ...over } as ScoredCandidate
}

describe('routingReason', () => {
  it('names why an attempt goes where it goes', () => {
    const cases: Array<[Plan, boolean, string]> = [
      [{ mode: 'none', reason: 'no candidates' }, false, 'no-candidate'],
      [{ mode: 'none', reason: 'x' }, true, 'no-candidate'],
      [{ mode: 'direct', target: candidate({ peerId: P2 }), maxWaitMs: 0 }, true, 'pinned'],
      [{ mode: 'reserve', targets: [candidate({}), candidate({ local: true })] }, false, 'late-binding'],
      [{ mode: 'direct', target: candidate({ local: true }), maxWaitMs: 0 }, false, 'local'],
      [{ mode: 'direct', target: candidate({}), maxWaitMs: 20 }, false, 'free-slot'],
      [{ mode: 'direct', target: candidate({ queueWaitMs: 50 }), maxWaitMs: 0 }, false, 'only-candidate']
    ]
    for (const [plan, pinned, reason] of cases) expect(routingReason(plan, pinned)).toBe(reason)
  })
})

describe('EventWiring', () => {
  function wiring (): { bus: NodeEvents, w: EventWiring, seen: NodeEvent[] } {
    const bus = new NodeEvents()
    const seen: NodeEvent[] = []
    bus.subscribe(e => { seen.push(e) })
    return { bus, w: new EventWiring(bus, { name: (p) => p === P1 ? 'b' : undefined, ban: () => ({ score: -90, until: 0 }) }), seen }
  }

  it('says a task failed over from where its previous attempt went, and forgets it once finished', () => {
    const { w, seen } = wiring()
    const request = { taskId: 't1', kind: 'echo', input: new Uint8Array(), timeoutMs: 1_000 }
    w.task({ type: 'routed', request, plan: { mode: 'direct', target: candidate({ peerId: P1 }), maxWaitMs: 20 }, attempt: 1 })
    w.task({ type: 'routed', request, plan: { mode: 'reserve', targets: [candidate({ peerId: P2 }), candidate({ peerId: 'self', local: true })] }, attempt: 2 })
    expect(seen.map(e => e.type)).toEqual(['task:routed', 'task:failed-over', 'task:routed'])
    expect(seen[1]).toMatchObject({ taskId: 't1', attempt: 2, from: [P1] })
    expect(seen[2]).toMatchObject({ reason: 'late-binding', peers: [P2, 'self'] })
    w.task({ type: 'finished', record: { taskId: 't1', kind: 'echo', status: 'ok', peer: P1, attempts: 2, durationMs: 5, submittedAt: 0, output: '' } })
    expect(seen[3]).toMatchObject({ type: 'task:finished', peerName: 'b' })
    // A later task with the same id starts afresh.
    w.task({ type: 'routed', request, plan: { mode: 'direct', target: candidate({ peerId: P1 }), maxWaitMs: 20 }, attempt: 2 })
    expect(seen.map(e => e.type).filter(t => t === 'task:failed-over')).toHaveLength(1)
  })

  it('pairs disconnections with connections it announced, follows the store, and stops when detached', () => {
    const { w, seen } = wiring()
    const libp2p = new EventTarget()
    let storageListener: ((e: StorageEvent) => void) | undefined
    const storage = { onChange: (fn: (e: StorageEvent) => void) => { storageListener = fn; return () => { storageListener = undefined } } } as unknown as StorageHealth
    const detach = w.attach(libp2p as any, storage)
    const conn = { remotePeer: { toString: () => P1 }, direction: 'outbound', remoteAddr: { toString: () => `/ip4/127.0.0.1/tcp/1/p2p-circuit/p2p/${P1}` }, limits: undefined } as any
    w.memberConnected(conn)
    libp2p.dispatchEvent(new CustomEvent('peer:disconnect', { detail: { toString: () => P2 } }))
    libp2p.dispatchEvent(new CustomEvent('peer:disconnect', { detail: { toString: () => P1 } }))
    storageListener?.({ type: 'failed', op: 'put', fault: { reason: 'no space left on device' } } as any)
    expect(seen.map(e => e.type)).toEqual(['peer:connected', 'peer:disconnected', 'storage:failed'])
    expect(seen[0]).toMatchObject({ connection: 'relayed', name: 'b' })
    expect(seen[1]).toMatchObject({ peer: P1, name: 'b' })
    detach()
    expect(storageListener).toBeUndefined()
    w.memberConnected(conn)
    libp2p.dispatchEvent(new CustomEvent('peer:disconnect', { detail: { toString: () => P1 } }))
    expect(seen.map(e => e.type).at(-1)).toBe('peer:connected')
  })
})
