import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { logger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { streamPair } from '@libp2p/utils'
import { ErrorCode, FrameType, TaskFrame } from '../../../../src/wire/task.js'
import { Executor } from '../../../../src/services/tasks/executor.js'
import { FrameChannel } from '../../../../src/services/tasks/frame-channel.js'
import { frameLimitsFor } from '../../../../src/services/tasks/frame-limits.js'
import { echo } from '../../../../src/services/tasks/handlers.js'
import { ConnectionLostError, ReservationRefused, StreamTaskClient } from '../../../../src/services/tasks/task-client.js'
import { STARTED_DELAY_MS, serveTaskStream } from '../../../../src/services/tasks/task-server.js'
import type { TaskServerInit } from '../../../../src/services/tasks/task-server.js'
import { bytes, gatedHandler, manualClock, settle, text } from '../../../helpers/unit-tasks.js'
import { lengthPrefixed } from '../../../helpers/unit-frames.js'
import type { ExecutorInit } from '../../../../src/services/tasks/executor.js'
import type { TaskRequest } from '../../../../src/wire/task.js'
import type { PeerId, Stream } from '@libp2p/interface'

const limits = frameLimitsFor(64 * 1024)
const log = logger('fedmesh:test:tasks')
let remote: PeerId
const streams: Stream[] = []

beforeAll(async () => {
  remote = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
})

afterEach(() => {
  for (const s of streams.splice(0)) s.abort(new Error('test over'))
})

async function pair (): Promise<[Stream, Stream]> {
  const [a, b] = await streamPair()
  streams.push(a, b)
  return [a, b]
}

interface Setup {
  client: StreamTaskClient
  executor: Executor
  gate: ReturnType<typeof gatedHandler>
  /** The client's end and the server's end of the current stream. */
  ends: () => [Stream, Stream]
  opened: () => number
  serverMalformed: ReturnType<typeof vi.fn>
  clientMalformed: ReturnType<typeof vi.fn>
}

async function setup (over: Partial<ExecutorInit> = {}, maxOutstandingPerStream?: number, server: Partial<TaskServerInit> = {}): Promise<Setup> {
  const gate = gatedHandler()
  const executor = new Executor({
    concurrency: 4,
    handlers: new Map([['k', gate.handler], ['echo', echo], ['huge-error', async () => { throw new Error('x'.repeat(5_000)) }]]),
    clock: manualClock(),
    // The protocol's mechanics, not fairness: the one client may use every slot.
    fairShare: 1,
    ...over
  })
  const serverMalformed = vi.fn()
  const clientMalformed = vi.fn()
  let current: [Stream, Stream] | undefined
  let opened = 0
  const client = new StreamTaskClient({
    openStream: async () => {
      current = await pair()
      opened++
      void serveTaskStream(current[1], remote, { executor, limits, log, onMalformed: serverMalformed, maxOutstandingPerStream, ...server })
      return current[0]
    },
    limits,
    log,
    onMalformed: clientMalformed
  })
  return { client, executor, gate, ends: () => current as [Stream, Stream], opened: () => opened, serverMalformed, clientMalformed }
}

function request (taskId: string, over: Partial<TaskRequest> = {}): TaskRequest {
  return { taskId, kind: 'k', input: bytes(taskId) as Uint8Array<ArrayBuffer>, deadlineMs: 30_000, attempt: 1, maxWaitMs: 0, expectedRunMs: 0, ageMs: 0, priority: 0, ...over }
}

describe('the task server against a raw stream', () => {
  it('resets the stream at once and charges the sender for a 2^63 length prefix', async () => {
    const executor = new Executor({ concurrency: 1, handlers: new Map([['echo', echo]]), clock: manualClock() })
    const onMalformed = vi.fn()
    const [client, server] = await pair()
    const served = serveTaskStream(server, remote, { executor, limits, log, onMalformed })
    client.send(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]))
    await served
    expect(onMalformed).toHaveBeenCalledTimes(1)
    expect(onMalformed.mock.calls[0][0]).toBe(remote)
    expect(onMalformed.mock.calls[0][1]).toMatch(/length prefix/)
    expect(server.status).not.toBe('open')
    await vi.waitFor(() => { expect(client.status).not.toBe('open') }) // the reset reached the sender
  })
})

describe('TaskClient ⇄ task server over one stream', () => {
  it('matches many requests in flight with their results', async () => {
    const { client, opened } = await setup({ concurrency: 8 })
    const ids = Array.from({ length: 200 }, (_, i) => `task-${i}`)
    const outcomes = await Promise.all(ids.map(async id => client.request(request(id, { kind: 'echo' }))))
    expect(outcomes.map(o => [o.taskId, o.error, text(o.output)])).toEqual(ids.map(id => [id, ErrorCode.NONE, id]))
    expect(opened()).toBe(1)
    expect(client.outstanding).toBe(0)
  })

  it('matches results that come back in the reverse order', async () => {
    const { client, gate } = await setup()
    const pending = ['a', 'b', 'c', 'd'].map(async id => client.request(request(id)))
    await vi.waitFor(() => { expect(gate.calls).toHaveLength(4) })
    for (const call of [...gate.calls].reverse()) {
      call.resolve(bytes(`out-${call.ctx.taskId}`))
      await settle()
    }
    expect((await Promise.all(pending)).map(o => text(o.output))).toEqual(['out-a', 'out-b', 'out-c', 'out-d'])
  })

  it('runs the task as the remote peer asked it, with its id as origin', async () => {
    const { client, executor } = await setup()
    await client.request(request('x', { kind: 'echo' }))
    expect(executor.executed()[0]).toMatchObject({ taskId: 'x', kind: 'echo', origin: remote.toString() })
  })

  it('a request with timeoutMs rejects with a TimeoutError when no answer came in time; one answered in time clears its timer', async () => {
    const { client, gate } = await setup()
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    try {
      const cleared = vi.spyOn(globalThis, 'clearTimeout')
      const late = client.request(request('late'), { timeoutMs: 1_000 })
      const quick = client.request(request('quick'), { timeoutMs: 1_000 })
      await vi.waitFor(() => { expect(gate.calls).toHaveLength(2) })
      gate.calls[1].resolve(bytes('in time'))
      expect(text((await quick).output)).toBe('in time')
      expect(cleared).toHaveBeenCalled()
      vi.advanceTimersByTime(1_000)
      await expect(late).rejects.toMatchObject({ name: 'TimeoutError' })
      expect(client.outstanding).toBe(0)
      gate.calls[0].resolve() // its answer, when it comes, is ignored
    } finally {
      vi.useRealTimers()
    }
  })

  it('an aborted request rejects at once; the others are unaffected', async () => {
    const { client, gate } = await setup()
    const ac = new AbortController()
    const aborted = client.request(request('a'), { signal: ac.signal })
    const other = client.request(request('b'))
    await vi.waitFor(() => { expect(gate.calls).toHaveLength(2) })
    ac.abort()
    await expect(aborted).rejects.toThrow()
    for (const c of gate.calls) c.resolve()
    expect((await other).error).toBe(ErrorCode.NONE)
    expect(client.outstanding).toBe(0)
  })

  describe('reservations', () => {
    it('RESERVE → READY → BIND → RESULT, in the slot the reservation held', async () => {
      const { client, executor, gate } = await setup({ concurrency: 1 })
      const blocker = client.request(request('blocker'))
      await vi.waitFor(() => { expect(gate.calls).toHaveLength(1) })
      const res = await client.reserve('t', 'k')
      let ready = false
      void res.ready.then(() => { ready = true })
      await vi.waitFor(() => { expect(executor.load().queueDepth).toBe(1) })
      expect(ready).toBe(false)
      gate.calls[0].resolve()
      await blocker
      await res.ready
      expect(executor.load()).toMatchObject({ running: 1, queueDepth: 0 })
      const outcome = res.bind(request('t'), {})
      await vi.waitFor(() => { expect(gate.started('t')).toBe(true) })
      gate.calls[1].resolve(bytes('bound'))
      expect(await outcome).toMatchObject({ taskId: 't', error: ErrorCode.NONE })
      expect(text((await outcome).output)).toBe('bound')
      expect(client.outstanding).toBe(0)
    })

    it('CANCEL takes a queued reservation out of the server queue', async () => {
      const { client, executor, gate } = await setup({ concurrency: 1 })
      const blocker = client.request(request('blocker'))
      await vi.waitFor(() => { expect(gate.calls).toHaveLength(1) })
      const res = await client.reserve('t', 'k')
      await vi.waitFor(() => { expect(executor.load().queueDepth).toBe(1) })
      res.cancel()
      expect(client.outstanding).toBe(1) // only the blocker
      await vi.waitFor(() => { expect(executor.load().queueDepth).toBe(0) })
      gate.calls[0].resolve()
      await blocker
      expect(executor.load().running).toBe(0) // the slot did not go to the cancelled reservation
    })

    it('CANCEL of a READY reservation frees the slot it held', async () => {
      const { client, executor } = await setup({ concurrency: 1 })
      const res = await client.reserve('t', 'k')
      await res.ready
      expect(executor.load().running).toBe(1)
      res.cancel()
      await vi.waitFor(() => { expect(executor.load().running).toBe(0) })
    })

    it('a refused reservation rejects `ready` with ReservationRefused and the reason', async () => {
      const { client } = await setup()
      const res = await client.reserve('t', 'not-served')
      const err = await res.ready.then(() => undefined, (e: unknown) => e)
      expect(err).toBeInstanceOf(ReservationRefused)
      expect((err as ReservationRefused).outcome.error).toBe(ErrorCode.KIND_NOT_SERVED)
    })

    it('closing the stream releases the reservations it held on the server', async () => {
      const { client, executor, ends } = await setup({ concurrency: 1 })
      const res = await client.reserve('t', 'k')
      await res.ready
      expect(executor.load().running).toBe(1)
      ends()[0].abort(new Error('client went away'))
      await vi.waitFor(() => { expect(executor.load().running).toBe(0) })
    })
  })

  it('tells the client when its task leaves the queue and runs (STARTED)', async () => {
    const { client, gate } = await setup({ concurrency: 1 })
    const started: string[] = []
    const a = client.request(request('a'), { onStarted: () => { started.push('a') } })
    const b = client.request(request('b'), { onStarted: () => { started.push('b') } })
    await vi.waitFor(() => { expect(started).toEqual(['a']) }) // b waits in the queue
    gate.calls[0].resolve()
    await a
    await vi.waitFor(() => { expect(started).toEqual(['a', 'b']) })
    gate.calls[1].resolve()
    await b
  })

  it('sends no STARTED for a task that answers within the STARTED delay (its RESULT comes alone)', async () => {
    // A long delay: however slow this machine, the answer comes first.
    const { client, gate } = await setup({ concurrency: 1 }, undefined, { startedDelayMs: 60_000 })
    const started: string[] = []
    const quick = client.request(request('quick'), { onStarted: () => { started.push('quick') } })
    await vi.waitFor(() => { expect(gate.calls).toHaveLength(1) })
    gate.calls[0].resolve()
    expect((await quick).error).toBe(ErrorCode.NONE)
    await new Promise(resolve => setTimeout(resolve, STARTED_DELAY_MS * 2))
    expect(started).toEqual([])
  })

  it('signs a receipt only for a successful run of a kind it is told to sign', async () => {
    const signed: string[] = []
    const { client, gate } = await setup({}, undefined, {
      sign: (taskId, kind) => { signed.push(`${kind}:${taskId}`); return kind === 'k' ? Promise.resolve({ signature: new Uint8Array([1, 2, 3]), at: 42 }) : undefined }
    })
    const ok = client.request(request('signed'))
    await vi.waitFor(() => { expect(gate.calls).toHaveLength(1) })
    gate.calls[0].resolve()
    expect(await ok).toMatchObject({ error: ErrorCode.NONE, receipt: new Uint8Array([1, 2, 3]), receiptAt: 42 })
    const echoed = await client.request({ ...request('plain'), kind: 'echo' })
    expect(echoed.receipt?.byteLength ?? 0).toBe(0)
    const failed = client.request(request('failed'))
    await vi.waitFor(() => { expect(gate.calls).toHaveLength(2) })
    gate.calls[1].reject(new Error('no'))
    expect((await failed).receipt?.byteLength ?? 0).toBe(0)
    expect(signed).toEqual(['k:signed', 'echo:plain'])
  })

  it('answers QUEUE_FULL beyond maxOutstandingPerStream without running the task', async () => {
    const { client, gate } = await setup({ concurrency: 8 }, 2)
    const a = client.request(request('a'))
    const b = client.request(request('b'))
    await vi.waitFor(() => { expect(gate.calls).toHaveLength(2) })
    const c = await client.request(request('c'))
    expect(c).toMatchObject({ taskId: 'c', error: ErrorCode.QUEUE_FULL })
    const r = await client.reserve('r', 'k')
    expect(((await r.ready.catch((e: ReservationRefused) => e)) as ReservationRefused).outcome.error).toBe(ErrorCode.QUEUE_FULL)
    expect(gate.started('c')).toBe(false)
    for (const call of gate.calls) call.resolve()
    await Promise.all([a, b])
    // Room again once they are answered.
    const d = client.request(request('d'))
    await vi.waitFor(() => { expect(gate.started('d')).toBe(true) })
    gate.calls[2].resolve()
    expect((await d).error).toBe(ErrorCode.NONE)
  })

  it('fails every pending request with ConnectionLostError when the stream ends, and reopens on the next', async () => {
    const { client, gate, ends, opened } = await setup({ concurrency: 2 })
    const pending = [client.request(request('a')), client.request(request('b'))]
    const reservation = await client.reserve('r', 'k', {}) // queued behind a and b
    await vi.waitFor(() => { expect(gate.calls).toHaveLength(2) })
    ends()[1].abort(new Error('server went away'))
    for (const p of pending) await expect(p).rejects.toBeInstanceOf(ConnectionLostError)
    await expect(reservation.ready).rejects.toBeInstanceOf(ConnectionLostError)
    expect(client.outstanding).toBe(0)
    for (const c of gate.calls) c.resolve() // the server side finishes them (nobody listens)
    const next = await client.request(request('c', { kind: 'echo' }))
    expect(next.error).toBe(ErrorCode.NONE)
    expect(opened()).toBe(2)
  })

  it('a malformed frame from the client resets the stream and reports the peer', async () => {
    const { client, ends, serverMalformed } = await setup()
    await client.request(request('warm-up', { kind: 'echo' }))
    const [clientEnd] = ends()
    clientEnd.send(lengthPrefixed(new Uint8Array([0x08])))
    await vi.waitFor(() => { expect(serverMalformed).toHaveBeenCalledOnce() })
    expect(serverMalformed.mock.calls[0][0]).toBe(remote)
    expect(serverMalformed.mock.calls[0][1]).toMatch(/undecodable/)
    await vi.waitFor(() => { expect(clientEnd.status).not.toBe('open') })
  })

  it('a RESERVE that reuses the id of a live reservation is malformed: reset, charged, nothing orphaned', async () => {
    const { client, ends, serverMalformed, executor } = await setup({ concurrency: 1 })
    await client.request(request('warm-up', { kind: 'echo' }))
    const [clientEnd] = ends()
    const reserve = TaskFrame.encode({ ...TaskFrame.decode(new Uint8Array(0)), type: FrameType.RESERVE, id: 7, kind: 'k', taskId: 'r' })
    clientEnd.send(lengthPrefixed(reserve))
    clientEnd.send(lengthPrefixed(reserve))
    await vi.waitFor(() => { expect(serverMalformed).toHaveBeenCalledOnce() })
    expect(serverMalformed.mock.calls[0][1]).toMatch(/reuses the id 7/)
    // The stream is gone and so is every reservation it held.
    await vi.waitFor(() => { expect(executor.load()).toMatchObject({ running: 0, queueDepth: 0 }) })
  })

  it('a server that answers with a client-only frame is malformed: the client resets and fails its requests', async () => {
    const [clientEnd, serverEnd] = await pair()
    const clientMalformed = vi.fn()
    const client = new StreamTaskClient({ openStream: async () => clientEnd, limits, log, onMalformed: clientMalformed })
    const server = new FrameChannel(serverEnd, limits)
    void (async () => {
      for await (const f of server.frames()) await server.send({ type: FrameType.REQUEST, id: f.id, request: request('evil') })
    })().catch(() => {})
    await expect(client.request(request('a'))).rejects.toThrow(/malformed/)
    expect(clientMalformed).toHaveBeenCalledOnce()
    await vi.waitFor(() => { expect(clientEnd.status).not.toBe('open') })
  })

  // Regression test for a fixed bug (task-server.ts `reply`, line 35 today / executor.ts `run`, line 342): the server sends a handler's
  // error message as it is, with no bound, while the client's validateFrame refuses a RESULT whose
  // message is over MESSAGE_MAX_LENGTH (4,096). One task failing with a long message (an honest
  // handler, a library error quoting its input) makes the client treat the server as malformed:
  // it resets the stream, fails every other request in flight with ConnectionLostError and
  // reports the honest peer (reputation). The server should truncate messages to the limit.
  it('a task failing with a very long error message comes back as FAILED, without breaking the stream', async () => {
    const { client, clientMalformed } = await setup()
    const outcome = await client.request(request('t', { kind: 'huge-error' }))
    expect(outcome.error).toBe(ErrorCode.FAILED)
    expect(clientMalformed).not.toHaveBeenCalled()
  })
})
