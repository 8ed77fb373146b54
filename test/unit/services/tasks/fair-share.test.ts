import { afterEach, describe, expect, it, vi } from 'vitest'
import { ErrorCode } from '../../../../src/wire/task.js'
import { Executor } from '../../../../src/services/tasks/executor.js'
import { FairShare } from '../../../../src/services/tasks/fair-share.js'
import { allowedBy, isSelfOnly, isValidAllowEntry } from '../../../../src/services/tasks/allow-list.js'
import { Role } from '../../../../src/core/federation/roles.js'
import { gatedHandler, manualClock, settle, spec } from '../../../helpers/unit-tasks.js'

afterEach(() => { vi.useRealTimers() })

function executor (over: { concurrency?: number, queueLimit?: number, fairShare?: number, authorize?: ConstructorParameters<typeof Executor>[0]['authorize'] } = {}): { executor: Executor, gate: ReturnType<typeof gatedHandler> } {
  const gate = gatedHandler()
  return { executor: new Executor({ concurrency: 4, handlers: new Map([['k', gate.handler]]), clock: manualClock(), ...over }), gate }
}

describe('fair share per submitter', () => {
  it('one peer holds at most its share of the slots; the owner gets the rest; a freed slot goes to the peer running fewest', async () => {
    const { executor: ex, gate } = executor({ concurrency: 4, fairShare: 0.5 })
    for (const id of ['p1', 'p2', 'p3', 'p4']) void ex.submit({ ...spec(id), origin: 'peer-p' })
    await settle()
    // p3 and p4 wait for p's own tasks although two slots are free...
    expect(gate.calls.map(c => c.ctx.taskId)).toEqual(['p1', 'p2'])
    expect(ex.load()).toMatchObject({ running: 2, queueDepth: 2 })
    // ... another peer waits too (peers together keep to the share), the owner does not.
    void ex.submit({ ...spec('q1'), origin: 'peer-q' })
    void ex.submit({ ...spec('mine'), origin: 'local' })
    await settle()
    expect(gate.calls.map(c => c.ctx.taskId)).toEqual(['p1', 'p2', 'mine'])
    gate.calls[0].resolve()
    await settle()
    expect(gate.calls.map(c => c.ctx.taskId)).toEqual(['p1', 'p2', 'mine', 'q1'])
  })

  it('refuses QUEUE_FULL past a peer\'s share of the queue, truthfully, while others still queue', async () => {
    const { executor: ex } = executor({ concurrency: 1, queueLimit: 4, fairShare: 0.5 })
    const outcomes = ['a', 'b', 'c', 'd'].map(async id => ex.submit({ ...spec(id), origin: 'peer-p' }))
    await settle()
    // a runs, b and c take p's two queue places, d is refused.
    expect((await outcomes[3]).error).toBe(ErrorCode.QUEUE_FULL)
    expect(ex.reserve('r', 'k', () => {}, () => {}, 'peer-p')).toBe(ErrorCode.QUEUE_FULL)
    // Peers together hold the share of the queue now; the owner still queues.
    expect(ex.reserve('s', 'k', () => {}, () => {}, 'peer-q')).toBe(ErrorCode.QUEUE_FULL)
    expect(typeof ex.reserve('t', 'k', () => {}, () => {})).toBe('object')
  })

  it('tells each peer what it may use (its capacity ad)', async () => {
    const { executor: ex } = executor({ concurrency: 4, queueLimit: 8, fairShare: 0.5 })
    void ex.submit({ ...spec('p1'), origin: 'peer-p' })
    await settle()
    // Peers may hold 2 of the 4 slots together and p runs one: one more for either of them.
    expect(ex.loadFor('peer-p')).toMatchObject({ running: 1, concurrency: 2, queueLimit: 4 })
    expect(ex.loadFor('peer-q')).toMatchObject({ running: 1, concurrency: 2, queueLimit: 4 })
    expect(ex.loadFor('local')).toEqual(ex.load())
    expect(ex.holders()).toEqual(['peer-p'])
  })

  it('all remote submitters together keep to the share: the owner always has the rest', async () => {
    const { executor: ex, gate } = executor({ concurrency: 4, fairShare: 0.5 })
    void ex.submit({ ...spec('p1'), origin: 'peer-p' })
    void ex.submit({ ...spec('q1'), origin: 'peer-q' })
    void ex.submit({ ...spec('r1'), origin: 'peer-r' })
    void ex.submit({ ...spec('mine'), origin: 'local' })
    await settle()
    expect(gate.calls.map(c => c.ctx.taskId)).toEqual(['p1', 'q1', 'mine'])
    expect(ex.loadFor('peer-r')).toMatchObject({ running: 3, concurrency: 3 })
  })

  it('a share of 1 is no limit; shares round down but never below one slot', () => {
    const f = new FairShare(1)
    expect(f.slotShare(4)).toBe(4)
    expect(new FairShare(0.5).slotShare(1)).toBe(1)
    expect(() => new FairShare(0)).toThrow(RangeError)
  })
})

describe('authorization at the executor', () => {
  it('a refusal is the task\'s outcome, for requests and reservations alike; the owner is never asked', async () => {
    const seen: string[] = []
    const { executor: ex, gate } = executor({
      authorize: (origin) => {
        seen.push(origin)
        return origin === 'stranger' ? { code: ErrorCode.FORBIDDEN, message: 'no submit role' } : undefined
      }
    })
    expect(await ex.submit({ ...spec('x'), origin: 'stranger' })).toMatchObject({ error: ErrorCode.FORBIDDEN, message: 'no submit role' })
    expect(ex.reserve('y', 'k', () => {}, () => {}, 'stranger')).toBe(ErrorCode.FORBIDDEN)
    void ex.submit({ ...spec('z'), origin: 'friend' })
    await settle()
    expect(gate.calls.map(c => c.ctx.taskId)).toEqual(['z'])
    expect(seen).toEqual(['stranger', 'stranger', 'friend'])
  })
})

describe('allow lists of command kinds', () => {
  const roles = (peer: string, role: number): boolean => peer === 'admin-peer' && role === Role.admin
  it('self is the owner only; members any submitter; roles and peer ids as named', () => {
    expect(allowedBy(['self'], 'local', roles)).toBe(true)
    expect(allowedBy(['self'], 'someone', roles)).toBe(false)
    expect(allowedBy(['members'], 'someone', roles)).toBe(true)
    expect(allowedBy(['members'], 'local', roles)).toBe(false)
    expect(allowedBy(['admin'], 'admin-peer', roles)).toBe(true)
    expect(allowedBy(['admin'], 'someone', roles)).toBe(false)
    expect(allowedBy(['self', 'someone'], 'someone', roles)).toBe(true)
    expect(isSelfOnly(['self'])).toBe(true)
    expect(isSelfOnly(['self', 'members'])).toBe(false)
  })

  it('config entries are checked', () => {
    expect(isValidAllowEntry('cache-write')).toBe(true)
    expect(isValidAllowEntry('12D3KooWFoeti4ZJnxRvtDVsvvy7NXjrrEsZvavsZrkTbvchGdnB')).toBe(true)
    expect(isValidAllowEntry('everyone')).toBe(false)
  })
})
