import { afterEach, describe, expect, it, vi } from 'vitest'
import { Admission } from '../../../../src/services/tasks/admission.js'
import { admissionWindow } from '../../../../src/core/routing/admission.js'
import { OverloadedError } from '../../../../src/util/errors.js'
import { settle } from '../../../helpers/unit-tasks.js'
import type { Release } from '../../../../src/services/tasks/admission.js'
import type { CandidateInput } from '../../../../src/core/routing/score.js'

afterEach(() => { vi.useRealTimers() })

/** Enter `n` tasks; returns their releases as they are admitted (undefined while waiting). */
function enterMany (admission: Admission, key: string, n: number): Array<Release | undefined> {
  const got: Array<Release | undefined> = Array.from({ length: n })
  for (let i = 0; i < n; i++) admission.enter(key, 10).then(r => { got[i] = r }, () => {})
  return got
}

const admitted = (got: Array<Release | undefined>): number => got.filter(r => r != null).length

describe('Admission', () => {
  it('lets out as many as the window allows; the rest wait and go in order as tasks finish', async () => {
    const admission = new Admission({ window: () => 3 })
    const got = enterMany(admission, 'sleep', 5)
    await settle()
    expect(admitted(got)).toBe(3)
    expect(admission.queued).toBe(2)
    got[1]?.()
    got[1]?.() // releasing twice frees one place only
    await settle()
    expect(got.map(r => r != null)).toEqual([true, true, true, true, false])
    expect(admission.outstanding).toBe(3)
    admission.close(new Error('test over'))
  })

  it('tryEnter takes a place at once while the window has room and nobody of the key waits, else leaves the task to enter', async () => {
    const admission = new Admission({ window: () => 2 })
    const first = admission.tryEnter('echo', 10)
    const second = admission.tryEnter('echo', 10)
    expect([first, second].every(r => typeof r === 'function')).toBe(true)
    expect(admission.tryEnter('echo', 10)).toBeUndefined() // the window is full: nothing taken
    expect(admission.outstanding).toBe(2)
    const waiting = enterMany(admission, 'echo', 1)
    first?.()
    // A place freed while one waits goes to the one waiting, not to a newcomer.
    expect(admission.tryEnter('echo', 10)).toBeUndefined()
    await settle()
    expect(admitted(waiting)).toBe(1)
    expect(admission.tryEnter('sleep', 10)).toBeTypeOf('function') // another key has its own window
    admission.close(new OverloadedError('closed', 1))
    expect(() => admission.tryEnter('echo', 10)).toThrow(OverloadedError)
  })

  it('a window of 0 where no node could ever run them (kind or pinned peer unknown) lets tasks through: the dispatcher says why', async () => {
    const admission = new Admission({ window: () => 0, unplaceable: () => true })
    const got = enterMany(admission, 'no-such-kind', 3)
    await settle()
    expect(admitted(got)).toBe(3)
  })

  it('a window of 0 with a known but ineligible candidate (circuit open) keeps tasks waiting until the window opens or their deadline', async () => {
    vi.useFakeTimers()
    let window = 0
    const admission = new Admission({ window: () => window, unplaceable: () => false, recheckMs: 100 })
    const got = enterMany(admission, 'pinned', 3)
    const expiring = admission.enter('pinned', 10, { timeoutMs: 1_000 })
    const expired = expiring.then(() => 'admitted', (err: Error) => err.name)
    await vi.advanceTimersByTimeAsync(1_500)
    expect(admitted(got)).toBe(0)
    expect(await expired).toBe('AdmissionTimeoutError')
    expect(admission.queued).toBe(3)
    window = 2
    await vi.advanceTimersByTimeAsync(100)
    expect(admitted(got)).toBe(2)
    admission.close(new Error('test over'))
  })

  it('keys wait independently: a kind few nodes serve does not hold up the others', async () => {
    const admission = new Admission({ window: (key) => key === 'rare' ? 1 : 10 })
    const rare = enterMany(admission, 'rare', 3)
    const common = enterMany(admission, 'echo', 5)
    await settle()
    expect([admitted(rare), admitted(common)]).toEqual([1, 5])
    admission.close(new Error('test over'))
  })

  it('refuses at once, before anything is queued, when the queue is full (count or bytes), with Retry-After', async () => {
    const admission = new Admission({ window: () => 1, maxWaiting: 2, maxWaitingBytes: 25, retryAfterSeconds: 3 })
    enterMany(admission, 'k', 3) // one out, two waiting
    await settle()
    expect(() => admission.enter('k', 1)).toThrow(OverloadedError)
    try { admission.enter('k', 1) } catch (err) { expect((err as OverloadedError).retryAfterSeconds).toBe(3) }
    expect(admission.queued).toBe(2)
    // A task every peer refused comes back first, and is never refused (it was accepted).
    admission.enter('k', 10, { again: true }).catch(() => {})
    expect(admission.queued).toBe(3)
    admission.close(new Error('test over'))

    const bytes = new Admission({ window: () => 1, maxWaitingBytes: 25 })
    enterMany(bytes, 'k', 2) // one out, one waiting with 10 bytes
    await settle()
    expect(() => bytes.enter('k', 20)).toThrow(/wait for a free slot/)
    bytes.close(new Error('test over'))
  })

  it('a task that comes back after every peer refused it goes first', async () => {
    const admission = new Admission({ window: () => 1 })
    const order: string[] = []
    const first = await admission.enter('k', 1)
    for (const name of ['a', 'b']) admission.enter('k', 1).then(release => { order.push(name); release() }, () => {})
    admission.enter('k', 1, { again: true }).then(release => { order.push('again'); release() }, () => {})
    first()
    await settle()
    expect(order).toEqual(['again', 'a', 'b'])
  })

  it('a task admitted at once leaves no timer behind; one that waits has its deadline timer cleared when admitted', async () => {
    vi.useFakeTimers()
    const admission = new Admission({ window: () => 1 })
    const first = await admission.enter('k', 1, { timeoutMs: 60_000 })
    expect(vi.getTimerCount()).toBe(0)
    const second = admission.enter('k', 1, { timeoutMs: 60_000 })
    expect(admission.queued).toBe(1)
    first()
    const release = await second
    expect(admission.queued).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
    release()
  })

  it('a task cancelled while it waits leaves the queue', async () => {
    const admission = new Admission({ window: () => 1 })
    enterMany(admission, 'k', 1)
    const ac = new AbortController()
    const waiting = admission.enter('k', 1, { signal: ac.signal })
    expect(admission.queued).toBe(1)
    ac.abort(new Error('deadline'))
    await expect(waiting).rejects.toThrow('deadline')
    expect(admission.queued).toBe(0)
  })

  it('reads the windows again while tasks wait: a peer that starts advertising lets more out', async () => {
    vi.useFakeTimers()
    let window = 1
    const admission = new Admission({ window: () => window, recheckMs: 250 })
    const got = enterMany(admission, 'k', 4)
    await vi.advanceTimersByTimeAsync(0)
    expect(admitted(got)).toBe(1)
    window = 3
    await vi.advanceTimersByTimeAsync(250)
    expect(admitted(got)).toBe(3)
    window = 10
    await vi.advanceTimersByTimeAsync(250)
    expect(admitted(got)).toBe(4)
    // Nothing waits: the timer is gone.
    expect(vi.getTimerCount()).toBe(0)
  })

  it('close() refuses those waiting and anything new; open() takes tasks again', async () => {
    const admission = new Admission({ window: () => 1 })
    enterMany(admission, 'k', 1)
    const waiting = admission.enter('k', 1)
    admission.close(new OverloadedError('shutting down'))
    await expect(waiting).rejects.toThrow('shutting down')
    expect(() => admission.enter('k', 1)).toThrow('shutting down')
    admission.open()
    await expect(admission.enter('other', 1)).resolves.toBeTypeOf('function')
  })
})

describe('admissionWindow', () => {
  const candidate = (over: Partial<CandidateInput>): CandidateInput => ({
    peerId: 'p', local: false, serves: true, queueDepth: 0, running: 0, concurrency: 4, queueLimit: 128, sentSinceAd: 0,
    rttSource: 'ping', reputation: 0, reputationState: 'healthy', circuitOpen: false, ...over
  })

  it('counts every slot that can run the kind, twice, whatever the load', () => {
    expect(admissionWindow([candidate({ local: true, concurrency: 2 }), candidate({ concurrency: 4, running: 4, queueDepth: 128 })])).toBe(12)
  })

  it('leaves out peers that cannot take the task: kind not served, avoided, banned, circuit open', () => {
    expect(admissionWindow([
      candidate({ concurrency: 4 }),
      candidate({ serves: false }),
      candidate({ reputationState: 'avoid' }),
      candidate({ reputationState: 'banned' }),
      candidate({ circuitOpen: true })
    ], { depth: 1 })).toBe(4)
    expect(admissionWindow([])).toBe(0)
  })
})
