import { beforeEach, describe, expect, it } from 'vitest'
import { CapacityTable } from '../../../../src/services/capacity/capacity-table.js'
import { Dispatcher } from '../../../../src/services/tasks/dispatcher.js'
import { Executor } from '../../../../src/services/tasks/executor.js'
import { builtinHandlers } from '../../../../src/services/tasks/handlers.js'
import { ConnectionLostError, ReservationRefused, UnreachableError } from '../../../../src/services/tasks/task-client.js'
import { ErrorCode } from '../../../../src/wire/task.js'
import { VirtualTime } from '../../../../simulations/model/virtual-time.js'
import type { AttemptEvent, DispatcherInit } from '../../../../src/services/tasks/dispatcher.js'
import type { TaskOutcome } from '../../../../src/services/tasks/executor.js'
import type { RemoteReservation, TaskClient } from '../../../../src/services/tasks/task-client.js'
import type { ValidatedAd } from '../../../../src/services/capacity/validate-ad.js'
import type { TaskRequest } from '../../../../src/wire/task.js'
import { readAll } from '../../../../src/core/routing/ranking.js'
import type { CandidateReader } from '../../../../src/core/routing/ranking.js'
import type { CandidateInput, ScoredCandidate } from '../../../../src/core/routing/score.js'

/**
 * The dispatcher against scripted peers: each fake peer decides what its `request` and
 * `reserve` do, so failover, hedging, late binding and blame can be checked exactly. Time is
 * virtual (the dispatcher's clock and timers, and the peers' delays): a test takes no wall time
 * and its timings are exact.
 */

let time = new VirtualTime()
const clock = { now: () => time.clock.now() }
beforeEach(() => { time = new VirtualTime() })

/** Run the dispatch in virtual time until it returns. */
async function run<T> (p: Promise<T>): Promise<T> {
  return await time.settle(p)
}
const enc = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v))

function ok (taskId: string, output: Uint8Array): TaskOutcome {
  return { taskId, error: ErrorCode.NONE, output, message: '', queuedMs: 0, runMs: 1, deduped: false }
}

function refusal (taskId: string, error: ErrorCode): TaskOutcome {
  return { taskId, error, output: new Uint8Array(0), message: String(error), queuedMs: 0, runMs: 0, deduped: false }
}

interface FakePeer {
  requests: TaskRequest[]
  reserves: number
  cancels: number
  request?: (r: TaskRequest) => Promise<TaskOutcome>
  reserve?: () => Promise<RemoteReservation>
}

function ad (over: Partial<ValidatedAd> = {}): ValidatedAd {
  return {
    seq: 1, name: 'p', cores: 4, freeMemoryMb: 1024, load: 0, queueDepth: 0, running: 0, concurrency: 2, queueLimit: 64,
    kinds: ['echo', 'sleep'], meanRunMs: new Map([['echo', 10]]), intervalMs: 60_000, addrs: [], clamped: [], ...over
  }
}

function setup (peers: Record<string, { ad?: Partial<ValidatedAd> } & Partial<FakePeer>>, options: { localSlots?: number, localKinds?: boolean, dispatcher?: Partial<DispatcherInit> } = {}) {
  const table = new CapacityTable({ clock })
  const fakes = new Map<string, FakePeer>()
  for (const [id, p] of Object.entries(peers)) {
    table.update(id, ad(p.ad))
    fakes.set(id, { requests: [], reserves: 0, cancels: 0, request: p.request, reserve: p.reserve })
  }
  const handlers = options.localKinds === false ? new Map() : builtinHandlers()
  const executor = new Executor({ concurrency: options.localSlots ?? 1, handlers, clock, timers: time.timers })
  const events: Array<[string, AttemptEvent]> = []
  /** Each timeout report's detail: when the request had surely reached the peer. */
  const reachedBy: Array<number | undefined> = []
  const client = (id: string): TaskClient => {
    const f = fakes.get(id) as FakePeer
    return {
      request: async (r: TaskRequest, opts?: { onStarted?: () => void }) => {
        f.requests.push(r)
        if (f.request == null) throw new Error(`unexpected request to ${id}`)
        return (f.request as (r: TaskRequest, o?: { onStarted?: () => void }) => Promise<TaskOutcome>)(r, opts)
      },
      reserve: async () => {
        f.reserves++
        if (f.reserve == null) throw new Error(`unexpected reservation on ${id}`)
        return f.reserve()
      }
    } as unknown as TaskClient
  }
  const dispatcher = new Dispatcher({
    selfId: 'self',
    executor,
    table: () => table,
    view: { rtt: () => ({ rttMs: 5, source: 'ping' }), reputation: () => ({ score: 0, state: 'healthy' }), circuitOpen: () => false, connected: () => true },
    client,
    clock,
    timers: time.timers,
    random: () => 0,
    minAttemptTimeoutMs: 100,
    onAttempt: (p, e, d) => {
      events.push([p, e])
      if (e === 'timeout') reachedBy.push(d?.reachedBy)
    },
    ...options.dispatcher
  })
  return { dispatcher, fakes, events, executor, table, reachedBy }
}

/** A reservation that is READY after `readyAfterMs` and runs `bind` with `run`. */
function reservation (f: () => FakePeer, readyAfterMs: number, run: (r: TaskRequest) => Promise<TaskOutcome>): () => Promise<RemoteReservation> {
  return async () => {
    const ready = time.sleep(readyAfterMs)
    return {
      ready,
      bind: async (r: TaskRequest) => run(r),
      cancel: () => { f().cancels++ }
    }
  }
}

type GiveUp = { signal?: AbortSignal, timeoutMs?: number }

/** A request nobody answers: it ends when this node gives up on it (its timeout, or the signal), as a real stream does. */
async function untilGivenUp (opts?: GiveUp): Promise<TaskOutcome> {
  return await new Promise<TaskOutcome>((_resolve, reject) => {
    const late = (): void => { reject(Object.assign(new Error('timed out'), { name: 'TimeoutError' })) }
    opts?.signal?.addEventListener('abort', late, { once: true })
    if (opts?.timeoutMs != null) time.timers.setTimeout(late, opts.timeoutMs)
  })
}

describe('Dispatcher', () => {
  it('sends to a peer predicted free and reports success', async () => {
    const { dispatcher, fakes, events } = setup({ a: { request: async r => ok(r.taskId, r.input) } }, { localKinds: false })
    const r = await run(dispatcher.dispatch({ taskId: 't1', kind: 'echo', input: enc('hi'), timeoutMs: 5_000 }))
    expect(r).toMatchObject({ peer: 'a', attempts: 1, outcome: { error: ErrorCode.NONE } })
    expect(fakes.get('a')?.requests[0]).toMatchObject({ taskId: 't1', kind: 'echo' })
    expect(events).toEqual([['a', 'success']])
  })

  it('runs everything locally when no peer is known', async () => {
    const { dispatcher } = setup({})
    const r = await run(dispatcher.dispatch({ taskId: 't2', kind: 'sha256', input: enc({ data: 'abc' }), timeoutMs: 5_000 }))
    expect(r.peer).toBe('self')
    expect(JSON.parse(new TextDecoder().decode(r.outcome.output)).hex).toMatch(/^ba7816bf/)
  })

  it('retries a task whose peer died under the same task id, elsewhere', async () => {
    const { dispatcher, fakes, events } = setup({
      a: { request: async () => { throw new ConnectionLostError() } },
      b: { ad: { meanRunMs: new Map([['echo', 20]]) }, request: async r => ok(r.taskId, r.input) }
    }, { localKinds: false })
    const r = await run(dispatcher.dispatch({ taskId: 't3', kind: 'echo', input: enc(1), timeoutMs: 5_000 }))
    expect(r).toMatchObject({ peer: 'b', attempts: 2, outcome: { error: ErrorCode.NONE } })
    expect(fakes.get('b')?.requests[0].taskId).toBe('t3')
    expect(events).toEqual([['a', 'failure'], ['b', 'success']])
  })

  it('skips an unreachable peer without blame and without using up an attempt', async () => {
    const { dispatcher, events } = setup({
      a: { request: async () => { throw new UnreachableError('no route') } },
      b: { ad: { meanRunMs: new Map([['echo', 20]]) }, request: async r => ok(r.taskId, r.input) }
    }, { localKinds: false })
    const r = await run(dispatcher.dispatch({ taskId: 't4', kind: 'echo', input: enc(1), timeoutMs: 5_000 }))
    expect(r.peer).toBe('b')
    expect(events).toEqual([['a', 'unreachable'], ['b', 'success']])
  })

  it('rejects a wrong result it can check and tries another peer', async () => {
    const { dispatcher, events } = setup({
      a: { request: async r => ok(r.taskId, enc('forged')) },
      b: { ad: { meanRunMs: new Map([['echo', 20]]) }, request: async r => ok(r.taskId, r.input) }
    }, { localKinds: false })
    const d = new Dispatcher({ ...(dispatcher as any).init, verify: (_k: string, input: Uint8Array, output: Uint8Array) => Buffer.compare(Buffer.from(input), Buffer.from(output)) === 0 })
    const r = await run(d.dispatch({ taskId: 't5', kind: 'echo', input: enc('real'), timeoutMs: 5_000 }))
    expect(r.peer).toBe('b')
    expect(events).toEqual([['a', 'wrong-result'], ['b', 'success']])
  })

  it('a peer that answers INTERRUPTED (it started this id before a crash) is left without blame; the task runs on another under the same id', async () => {
    const { dispatcher, fakes, events } = setup({
      a: { request: async r => refusal(r.taskId, ErrorCode.INTERRUPTED) },
      b: { ad: { meanRunMs: new Map([['echo', 30]]) }, request: async r => ok(r.taskId, r.input) }
    }, { localKinds: false })
    const r = await run(dispatcher.dispatch({ taskId: 'once', kind: 'echo', input: enc(1), timeoutMs: 5_000 }))
    expect(r).toMatchObject({ peer: 'b', outcome: { error: ErrorCode.NONE } })
    expect(fakes.get('a')?.requests.map(q => q.taskId)).toEqual(['once'])
    expect(fakes.get('b')?.requests.map(q => q.taskId)).toEqual(['once'])
    expect(events).toEqual([['b', 'success']])
  })

  it('after a BUSY bounce binds late: reserves instead of guessing another free-looking peer', async () => {
    let fakes!: Map<string, FakePeer>
    const { dispatcher, events, fakes: f } = setup({
      a: { request: async r => refusal(r.taskId, ErrorCode.BUSY) },
      b: { ad: { meanRunMs: new Map([['echo', 15]]) }, reserve: reservation(() => fakes.get('b') as FakePeer, 5, async r => ok(r.taskId, r.input)) },
      c: { ad: { meanRunMs: new Map([['echo', 20]]) }, reserve: reservation(() => fakes.get('c') as FakePeer, 200, async r => ok(r.taskId, r.input)) }
    }, { localKinds: false })
    fakes = f
    const r = await run(dispatcher.dispatch({ taskId: 't6', kind: 'echo', input: enc(1), timeoutMs: 5_000 }))
    expect(r).toMatchObject({ peer: 'b', outcome: { error: ErrorCode.NONE } })
    expect(fakes.get('b')?.requests).toHaveLength(0) // bound, not requested
    expect(fakes.get('c')?.reserves).toBe(1)
    await time.advance(200)
    expect(fakes.get('c')?.cancels).toBe(1) // the slower reservation is cancelled
    expect(events).toEqual([['a', 'refused'], ['b', 'success']])
  })

  it('binds to the first READY even while another reservation is still being placed', async () => {
    let fakes!: Map<string, FakePeer>
    const slowPlacement = async (): Promise<RemoteReservation> => {
      await time.sleep(300)
      return { ready: Promise.resolve(), bind: async r => ok(r.taskId, r.input), cancel: () => { (fakes.get('slow') as FakePeer).cancels++ } }
    }
    const busy = { queueDepth: 5, running: 2 }
    const { dispatcher, fakes: f } = setup({
      fast: { ad: busy, reserve: reservation(() => fakes.get('fast') as FakePeer, 10, async r => ok(r.taskId, r.input)) },
      slow: { ad: busy, reserve: slowPlacement }
    }, { localKinds: false })
    fakes = f
    const started = clock.now()
    const r = await run(dispatcher.dispatch({ taskId: 't7', kind: 'echo', input: enc(1), timeoutMs: 5_000 }))
    expect(r.peer).toBe('fast')
    expect(clock.now() - started).toBe(10) // READY after 10 ms: it did not wait for the 300 ms placement
    expect(fakes.get('slow')?.cancels).toBe(0)
    await time.advance(300)
    expect(fakes.get('slow')?.cancels).toBe(1) // cancelled once it was placed
  })

  it('hedges a peer that never started the task, and blames it: tries elsewhere, the first correct result wins', async () => {
    const late = Promise.withResolvers<TaskOutcome>()
    const { dispatcher, events, reachedBy } = setup({
      hole: { request: async () => late.promise },
      b: { ad: { meanRunMs: new Map([['echo', 20]]) }, request: async r => ok(r.taskId, r.input) }
    }, { localKinds: false })
    const sent = clock.now()
    const r = await run(dispatcher.dispatch({ taskId: 't8', kind: 'echo', input: enc(1), timeoutMs: 5_000 }))
    expect(r.peer).toBe('b')
    // Blamed for the timeout only: whether it broke a promise is judged against its advert, by the service.
    expect(events).toEqual([['hole', 'timeout'], ['b', 'success']])
    // With the moment the request had surely reached it (sent + the 5 ms round trip): the
    // service tells a peer that sat on it while up from a dead link (attempt-reports.ts).
    expect(reachedBy).toEqual([sent + 5])
    late.resolve(ok('t8', enc(1)))
  })

  describe('silence: a direct send that hears nothing by the time an honest peer would have answered', () => {
    // rtt 5 ms, allowed wait 20 ms (echo runs 10 ms there), STARTED delay 50 ms, slack 200 ms: 280 ms.
    const rules = { minAttemptTimeoutMs: 5_000, silenceSlackMs: 200 }
    const never = async (_r: TaskRequest, opts?: GiveUp): Promise<TaskOutcome> => await untilGivenUp(opts)

    it('is tried elsewhere then, not at its patience; the silent peer is blamed at its patience, once', async () => {
      const { dispatcher, fakes, events, reachedBy } = setup({
        hole: { request: never },
        b: { ad: { meanRunMs: new Map([['echo', 20]]) }, request: async (r: TaskRequest) => ok(r.taskId, r.input) }
      } as any, { localKinds: false, dispatcher: rules })
      const started = clock.now()
      const r = await run(dispatcher.dispatch({ taskId: 's1', kind: 'echo', input: enc(1), timeoutMs: 5_000 }))
      expect(r.peer).toBe('b')
      expect(clock.now() - started).toBe(2 * 5 + 20 + 50 + 200)
      expect(fakes.get('hole')?.requests).toHaveLength(1)
      expect(events).toEqual([['b', 'success']]) // a long queue there is silent too: no blame yet
      await time.advance(5_000 - 280 - 1)
      expect(events).toEqual([['b', 'success']])
      await time.advance(1) // its 5 s patience, not started, not answered
      expect(events).toEqual([['b', 'success'], ['hole', 'timeout']])
      await time.advance(10_000) // its own deadline passes too: not blamed twice
      expect(events).toEqual([['b', 'success'], ['hole', 'timeout']])
      expect(reachedBy).toEqual([started + 5])
    })

    it('counts the dial when the peer is not connected yet (2 round trips and 20 ms more)', async () => {
      const { dispatcher } = setup({
        hole: { request: never },
        b: { ad: { meanRunMs: new Map([['echo', 20]]) }, request: async (r: TaskRequest) => ok(r.taskId, r.input) }
      } as any, { localKinds: false, dispatcher: { ...rules, view: { rtt: () => ({ rttMs: 5, source: 'ping' }), reputation: () => ({ score: 0, state: 'healthy' }), circuitOpen: () => false, connected: () => false } } })
      const started = clock.now()
      const r = await run(dispatcher.dispatch({ taskId: 's1d', kind: 'echo', input: enc(1), timeoutMs: 5_000 }))
      expect(r.peer).toBe('b')
      expect(clock.now() - started).toBe(2 * 5 + (2 * 5 + 20) + 20 + 50 + 200)
    })

    it('a peer that said the task runs within that time is waited for, past the silence and its patience', async () => {
      const { dispatcher, fakes, events } = setup({
        long: { request: async (r: TaskRequest, opts?: { onStarted?: () => void }) => { await time.sleep(100); opts?.onStarted?.(); await time.sleep(6_000); return ok(r.taskId, r.input) } },
        b: { ad: { meanRunMs: new Map([['echo', 20]]) }, request: async (r: TaskRequest) => ok(r.taskId, r.input) }
      } as any, { localKinds: false, dispatcher: rules })
      const started = clock.now()
      const r = await run(dispatcher.dispatch({ taskId: 's2', kind: 'echo', input: enc(1), timeoutMs: 10_000 }))
      expect(r.peer).toBe('long')
      expect(clock.now() - started).toBe(6_100)
      expect(fakes.get('b')?.requests).toHaveLength(0)
      expect(events).toEqual([['long', 'success']])
    })

    it('an answer that comes after the silence but before the hedge answers still wins', async () => {
      const { dispatcher, fakes } = setup({
        late: { request: async r => { await time.sleep(300); return ok(r.taskId, r.input) } },
        slow: { ad: { meanRunMs: new Map([['echo', 20]]) }, request: async r => { await time.sleep(1_000); return ok(r.taskId, r.input) } }
      }, { localKinds: false, dispatcher: rules })
      const r = await run(dispatcher.dispatch({ taskId: 's3', kind: 'echo', input: enc(1), timeoutMs: 5_000 }))
      expect(r.peer).toBe('late')
      expect(fakes.get('slow')?.requests).toHaveLength(1) // tried at the silence, 280 ms
    })

    it('a silent peer that starts the task after all, before the late binding elsewhere binds, keeps it: the race gives way', async () => {
      let yPeer: FakePeer | undefined
      let zPeer: FakePeer | undefined
      const { dispatcher, fakes, events } = setup({
        x: { request: async (r: TaskRequest, opts?: { onStarted?: () => void }) => { await time.sleep(400); opts?.onStarted?.(); await time.sleep(1_000); return ok(r.taskId, r.input) } },
        y: { ad: { meanRunMs: new Map([['echo', 20]]) }, reserve: reservation(() => yPeer as FakePeer, 1_000, async r => ok(r.taskId, r.input)) },
        z: { ad: { meanRunMs: new Map([['echo', 20]]) }, reserve: reservation(() => zPeer as FakePeer, 1_000, async r => ok(r.taskId, r.input)) }
      } as any, { localKinds: false, dispatcher: rules })
      yPeer = fakes.get('y')
      zPeer = fakes.get('z')
      const started = clock.now()
      const r = await run(dispatcher.dispatch({ taskId: 's5', kind: 'echo', input: enc(1), timeoutMs: 10_000 }))
      expect(r.peer).toBe('x')
      expect(clock.now() - started).toBe(1_400)
      // Reservations were placed at the silence (280 ms) and cancelled when x started (400 ms): nothing bound.
      expect([yPeer?.reserves, zPeer?.reserves]).toEqual([1, 1])
      expect([yPeer?.cancels, zPeer?.cancels]).toEqual([1, 1])
      expect([yPeer?.requests.length, zPeer?.requests.length]).toEqual([0, 0])
      expect(events).toEqual([['x', 'success']])
    })

    it('after the silent peer that was given way to is lost, the next race still binds (it is not ended by that old give-way)', async () => {
      let yPeer: FakePeer | undefined
      let zPeer: FakePeer | undefined
      const { dispatcher, fakes } = setup({
        x: { request: async (_r: TaskRequest, opts?: { onStarted?: () => void }) => { await time.sleep(400); opts?.onStarted?.(); await time.sleep(600); throw new ConnectionLostError() } },
        y: { ad: { meanRunMs: new Map([['echo', 20]]) }, reserve: reservation(() => yPeer as FakePeer, 300, async r => ok(r.taskId, r.input)) },
        z: { ad: { meanRunMs: new Map([['echo', 20]]) }, reserve: reservation(() => zPeer as FakePeer, 300, async r => ok(r.taskId, r.input)) }
      } as any, { localKinds: false, dispatcher: rules })
      yPeer = fakes.get('y')
      zPeer = fakes.get('z')
      const r = await run(dispatcher.dispatch({ taskId: 's6', kind: 'echo', input: enc(1), timeoutMs: 10_000 }))
      // The first race (at the silence, 280 ms) gave way when x started (400 ms); x was lost at
      // 1,000 ms; the race tried then binds (before the fix it ended at once, again and again).
      expect(r.outcome.error).toBe(ErrorCode.NONE)
      expect(['y', 'z']).toContain(r.peer)
      expect([yPeer?.reserves, zPeer?.reserves]).toEqual([2, 2]) // one place each per race
    })

    it('silenceSlackMs: false hedges only at patience (the rule before), blaming the silent peer then', async () => {
      const { dispatcher, events } = setup({
        hole: { request: never },
        b: { ad: { meanRunMs: new Map([['echo', 20]]) }, request: async (r: TaskRequest) => ok(r.taskId, r.input) }
      } as any, { localKinds: false, dispatcher: { ...rules, silenceSlackMs: false } })
      const started = clock.now()
      expect((await run(dispatcher.dispatch({ taskId: 's4', kind: 'echo', input: enc(1), timeoutMs: 10_000 }))).peer).toBe('b')
      expect(clock.now() - started).toBe(5_000)
      expect(events).toEqual([['hole', 'timeout'], ['b', 'success']])
    })
  })

  it('does not duplicate an attempt whose peer said the task runs (a long task is not a black hole): it waits, without blame', async () => {
    const { dispatcher, fakes, events } = setup({
      long: { request: async (r: TaskRequest, opts?: { onStarted?: () => void }) => { opts?.onStarted?.(); await time.sleep(3_000); return ok(r.taskId, r.input) } },
      b: { ad: { meanRunMs: new Map([['echo', 20]]) }, request: async (r: TaskRequest) => ok(r.taskId, r.input) }
    } as any, { localKinds: false })
    const started = clock.now()
    const r = await run(dispatcher.dispatch({ taskId: 't8b', kind: 'echo', input: enc(1), timeoutMs: 5_000 }))
    expect(r.peer).toBe('long')
    expect(clock.now() - started).toBe(3_000) // long past its 100 ms patience
    expect(fakes.get('b')?.requests).toHaveLength(0) // no duplicate
    expect(events).toEqual([['long', 'success']])
  })

  it('a started attempt whose connection is lost is retried elsewhere under the same id', async () => {
    const { dispatcher, fakes } = setup({
      long: { request: async (_r: TaskRequest, opts?: { onStarted?: () => void }) => { opts?.onStarted?.(); await time.sleep(1_000); throw new ConnectionLostError() } },
      b: { ad: { meanRunMs: new Map([['echo', 20]]) }, request: async (r: TaskRequest) => ok(r.taskId, r.input) }
    } as any, { localKinds: false })
    const r = await run(dispatcher.dispatch({ taskId: 't8c', kind: 'echo', input: enc(1), timeoutMs: 5_000 }))
    expect(r.peer).toBe('b')
    expect(fakes.get('b')?.requests.map(q => q.taskId)).toEqual(['t8c'])
  })

  it('when a hedge wins, the losing attempt is told to stop (CANCEL with stop), and its answer is not blamed', async () => {
    let stop: AbortSignal | undefined
    const { dispatcher, events } = setup({
      queued: {
        request: async (r: TaskRequest, opts?: { stop?: AbortSignal }) => {
          stop = opts?.stop
          // Never started (a long queue there); answers CANCELLED once told to stop.
          return new Promise<TaskOutcome>(resolve => { opts?.stop?.addEventListener('abort', () => { resolve(refusal(r.taskId, ErrorCode.CANCELLED)) }) })
        }
      },
      b: { ad: { meanRunMs: new Map([['echo', 20]]) }, request: async (r: TaskRequest) => ok(r.taskId, r.input) }
    } as any, { localKinds: false })
    const r = await run(dispatcher.dispatch({ taskId: 't8d', kind: 'echo', input: enc(1), timeoutMs: 5_000 }))
    expect(r.peer).toBe('b')
    expect(stop?.aborted).toBe(true)
    await time.advance(10_000)
    expect(events).toEqual([['queued', 'timeout'], ['b', 'success']]) // blamed once, at its patience, not again
  })

  it('patience covers a long run of the kind: after long runs, an attempt that has not started is given longer', async () => {
    const { dispatcher, fakes } = setup({
      a: { request: async (r: TaskRequest) => { await time.sleep(1_000); return { ...ok(r.taskId, r.input), runMs: 1_000 } } },
      b: { ad: { meanRunMs: new Map([['echo', 20]]) }, request: async (r: TaskRequest) => ok(r.taskId, r.input) }
    } as any, { localKinds: false })
    // The first attempt is hedged at its 100 ms patience (nothing known of the kind's run times).
    expect((await run(dispatcher.dispatch({ taskId: 'first', kind: 'echo', input: enc(1), timeoutMs: 5_000 }))).peer).toBe('b')
    for (let i = 0; i < 25; i++) await run(dispatcher.dispatch({ taskId: `k${i}`, kind: 'echo', input: enc(1), timeoutMs: 5_000, peer: 'a' }))
    // Twenty-five 1 s runs later, the patience is the expected completion plus the kind's p95 (~1 s): the same 1 s run is not hedged.
    const before = fakes.get('b')?.requests.length
    const r = await run(dispatcher.dispatch({ taskId: 'last', kind: 'echo', input: enc(1), timeoutMs: 5_000 }))
    expect(r.peer).toBe('a')
    expect(fakes.get('b')?.requests.length).toBe(before)
  })

  it('does not blame a peer that said the task runs when the task\'s deadline passes (slow is not absent): alone, or with another peer free', async () => {
    // Runs until this node gives up on it.
    const running = async (_r: TaskRequest, opts?: GiveUp & { onStarted?: () => void }): Promise<TaskOutcome> => {
      opts?.onStarted?.()
      return await untilGivenUp(opts)
    }
    const alone = setup({ long: { request: running } } as any, { localKinds: false })
    const r = await run(alone.dispatcher.dispatch({ taskId: 't8c', kind: 'echo', input: enc(1), timeoutMs: 300 }))
    expect(r.outcome.error).toBe(ErrorCode.TIMED_OUT)
    expect(alone.events.filter(([, e]) => e === 'timeout')).toEqual([])
    const hedged = setup({
      long: { request: running },
      b: { ad: { meanRunMs: new Map([['echo', 20]]) }, request: async (r: TaskRequest) => ok(r.taskId, r.input) }
    } as any, { localKinds: false })
    // Started there: not duplicated on b (issue 13), so the task's deadline ends it, with no blame.
    expect((await run(hedged.dispatcher.dispatch({ taskId: 't8d', kind: 'echo', input: enc(1), timeoutMs: 1_000 }))).outcome.error).toBe(ErrorCode.TIMED_OUT)
    await time.advance(2_000) // the slow attempt's own deadline passes
    expect(hedged.fakes.get('b')?.requests).toHaveLength(0)
    expect(hedged.events).toEqual([])
  })

  it('keeps listening to the slow attempt: if it answers first, its result counts', async () => {
    const { dispatcher } = setup({
      slow: { request: async r => { await time.sleep(250); return ok(r.taskId, r.input) } },
      slower: { ad: { meanRunMs: new Map([['echo', 20]]) }, request: async r => { await time.sleep(2_000); return ok(r.taskId, r.input) } }
    }, { localKinds: false })
    const started = clock.now()
    const r = await run(dispatcher.dispatch({ taskId: 't9', kind: 'echo', input: enc(1), timeoutMs: 5_000 }))
    expect(r.peer).toBe('slow')
    // Patience 100 ms (the floor here): hedged to `slower` then, but `slow` answered at 250 ms.
    expect(clock.now() - started).toBe(250)
  })

  it('gives up at the deadline when nobody answers', async () => {
    const never = new Promise<TaskOutcome>(() => {})
    const { dispatcher } = setup({ a: { request: async () => never } }, { localKinds: false })
    const r = await run(dispatcher.dispatch({ taskId: 't10', kind: 'echo', input: enc(1), timeoutMs: 300 }))
    expect(r.outcome.error).not.toBe(ErrorCode.NONE)
  })

  it('a reservation refused everywhere moves on, and ends with the refusal when nobody is left; refusals are reported as such, not as broken promises', async () => {
    const refused = async (): Promise<RemoteReservation> => {
      const ready = Promise.reject(new ReservationRefused(refusal('t11', ErrorCode.QUEUE_FULL)))
      ready.catch(() => {})
      return { ready, bind: async () => { throw new Error('unused') }, cancel: () => {} }
    }
    const busy = { queueDepth: 5, running: 2 }
    const full = async (r: TaskRequest): Promise<TaskOutcome> => refusal(r.taskId, ErrorCode.QUEUE_FULL)
    const { dispatcher, events } = setup({ a: { ad: busy, reserve: refused, request: full }, b: { ad: busy, reserve: refused, request: full } }, { localKinds: false })
    const r = await run(dispatcher.dispatch({ taskId: 't11', kind: 'echo', input: enc(1), timeoutMs: 2_000 }))
    expect(r.outcome.error).toBe(ErrorCode.QUEUE_FULL)
    expect(events.length).toBeGreaterThan(0)
    expect(events.every(([, e]) => e === 'refused')).toBe(true)
  })
})

describe('Dispatcher options: rules worth comparing (what the simulator switches)', () => {
  it('hedge: false gives up a slow attempt: its late answer no longer counts', async () => {
    const { dispatcher } = setup({ slow: { request: async r => { await time.sleep(250); return ok(r.taskId, r.input) } } }, { localKinds: false })
    // Hedging (the default): past its patience (100 ms) the attempt stays open, and its answer at 250 ms wins.
    expect(await run(dispatcher.dispatch({ taskId: 'h1', kind: 'echo', input: enc(1), timeoutMs: 5_000 }))).toMatchObject({ peer: 'slow', outcome: { error: ErrorCode.NONE } })
    const notHedging = new Dispatcher({ ...(dispatcher as any).init, hedge: false })
    const started = clock.now()
    const r = await run(notHedging.dispatch({ taskId: 'h2', kind: 'echo', input: enc(1), timeoutMs: 5_000 }))
    expect(r.outcome.error).not.toBe(ErrorCode.NONE)
    expect(clock.now() - started).toBeLessThan(250)
  })

  it('reserveWhenBouncing: after enough BUSY answers new tasks bind late at once; false: every task guesses first', async () => {
    const peers = (): Parameters<typeof setup>[0] => {
      const bind = reservation(() => ({ requests: [], reserves: 0, cancels: 0 }), 1, async r => ok(r.taskId, r.input))
      // Predicted-free sends (maxWaitMs > 0) bounce; a send after a bounce, or a bound reservation, runs.
      const request = async (r: TaskRequest): Promise<TaskOutcome> => r.maxWaitMs > 0 ? refusal(r.taskId, ErrorCode.BUSY) : ok(r.taskId, r.input)
      return { a: { request, reserve: bind }, b: { request, reserve: bind } }
    }
    const guesses = async (options: { reserveWhenBouncing?: number | false }): Promise<number> => {
      const { dispatcher, fakes } = setup(peers(), { localKinds: false })
      const d = new Dispatcher({ ...(dispatcher as any).init, ...options })
      for (let i = 0; i < 10; i++) await run(d.dispatch({ taskId: `b${i}`, kind: 'echo', input: enc(i), timeoutMs: 5_000 }))
      return [...fakes.values()].flatMap(f => f.requests).filter(q => q.maxWaitMs > 0).length
    }
    // An EWMA of weight 0.1 passes one half after 7 bounces: tasks 8-10 reserve first.
    expect(await guesses({})).toBe(7)
    expect(await guesses({ reserveWhenBouncing: false })).toBe(10)
  })

  it('a planner replaces planDispatch (the simulator\'s baselines): it sees every candidate and scores the one it picks', async () => {
    const { dispatcher } = setup({
      near: { ad: { meanRunMs: new Map([['echo', 10]]) }, request: async r => ok(r.taskId, r.input) },
      far: { ad: { meanRunMs: new Map([['echo', 90]]) }, request: async r => ok(r.taskId, r.input) }
    }, { localKinds: false })
    const seen: string[][] = []
    const worst = new Dispatcher({
      ...(dispatcher as any).init,
      planner: (reader: CandidateReader, score: (c: CandidateInput) => ScoredCandidate) => {
        const candidates = readAll(reader)
        seen.push(candidates.map(c => c.peerId).sort())
        const scored = candidates.map(score).filter(c => c.eligible).sort((a, b) => b.score - a.score)
        return { mode: 'direct', target: scored[0], maxWaitMs: 0 }
      }
    })
    const r = await run(worst.dispatch({ taskId: 'p1', kind: 'echo', input: enc(1), timeoutMs: 5_000 }))
    expect(r.peer).toBe('far')
    expect(seen).toEqual([['far', 'near', 'self']])
  })
})
