import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createFederationNode } from '../../../src/node/create-node.js'
import { FedStore } from '../../../src/store/store.js'
import { gatedHandler } from '../../helpers/unit-tasks.js'
import type { FederationNode } from '../../../src/node/federation-node.js'
import type { FederationNodeConfig } from '../../../src/node/config.js'

/** The library API on one in-process node: handlers in code, JSON or bytes both ways, cancel. */

const nodes: Array<{ node: FederationNode, store: FedStore }> = []

afterEach(async () => {
  for (const { node, store } of nodes.splice(0)) {
    await node.stop()
    await store.close()
  }
})

async function startNode (over: Partial<FederationNodeConfig> = {}): Promise<FederationNode> {
  const store = await FedStore.memory()
  const node = await createFederationNode({ store, transport: 'memory', listen: [`/memory/library-${process.pid}-${nodes.length}`], mdns: false, dht: false, journal: true, open: true, ...over })
  nodes.push({ node, store })
  await node.start()
  return node
}

describe('the library', () => {
  it('runs handlers registered in code: JSON in and out, or raw bytes in and out', async () => {
    const node = await startNode()
    node.handleJson('add', async ({ a, b }: { a: number, b: number }) => ({ sum: a + b }))
    node.handle('reverse', async (input: Uint8Array) => Uint8Array.from(input).reverse())
    node.handle('describe', async (input: Uint8Array) => ({ bytes: input.byteLength }))
    expect(await node.run({ kind: 'add', input: { a: 2, b: 3 } })).toMatchObject({ status: 'ok', output: { sum: 5 } })
    expect(await node.run({ kind: 'add', input: new TextEncoder().encode('not json') })).toMatchObject({ status: 'error', errorCode: 'BAD_INPUT' })
    const reversed = await node.run({ kind: 'reverse', input: new Uint8Array([1, 2, 0xff]) })
    expect(reversed).toMatchObject({ status: 'ok', output: null })
    expect(Buffer.from(reversed.outputBase64 ?? '', 'base64')).toEqual(Buffer.from([0xff, 2, 1]))
    expect(await node.run({ kind: 'describe', input: new Uint8Array(7) })).toMatchObject({ output: { bytes: 7 } })
    // The built-ins take the same forms.
    expect(await node.run({ kind: 'echo', input: 'text' })).toMatchObject({ output: 'text' })
    expect(await node.run({ kind: 'sha256', input: { data: 'abc' } })).toMatchObject({ output: { hex: expect.stringMatching(/^ba7816bf/) } })
  })

  it('handlers given at creation may return JSON too', async () => {
    const node = await startNode({ handlers: { hello: async () => ({ hi: true }) } })
    expect(await node.run({ kind: 'hello' })).toMatchObject({ status: 'ok', output: { hi: true } })
  })

  it('cancels tasks: waiting for a slot, queued on the executor, and running (which may still finish)', async () => {
    const node = await startNode({ concurrency: 1 })
    const gate = gatedHandler()
    node.handle('hold', gate.handler)
    const runs = ['t-running', 't-executor', 't-admission'].map(taskId => node.run({ kind: 'hold', input: taskId, taskId }))
    await vi.waitFor(async () => { expect((await node.task('t-admission'))?.status).toBe('queued') })
    await vi.waitFor(() => { expect(gate.calls).toHaveLength(1) })
    expect(await node.cancelTask('t-admission')).toMatchObject({ outcome: 'cancelled', status: 'error', errorCode: 'CANCELLED' })
    expect(await node.cancelTask('t-executor')).toMatchObject({ outcome: 'cancelled' })
    const running = await node.cancelTask('t-running')
    expect(running).toMatchObject({ outcome: 'may-still-finish', peer: node.peerId.toString() })
    expect(running?.message).toMatch(/this node/)
    const [r0, r1, r2] = await Promise.all(runs)
    expect([r0.errorCode, r1.errorCode, r2.errorCode]).toEqual(['CANCELLED', 'CANCELLED', 'CANCELLED'])
    expect(gate.calls.map(c => c.ctx.taskId)).toEqual(['t-running']) // the others never ran
    expect(await node.task('t-admission')).toMatchObject({ status: 'error', errorCode: 'CANCELLED', error: 'cancelled before it started' })
    // Cancelling again, or a finished task: nothing to cancel; an unknown id: undefined.
    expect(await node.cancelTask('t-admission')).toMatchObject({ outcome: 'already-finished' })
    expect(await node.cancelTask('nope')).toBeUndefined()
    gate.calls[0].resolve()
  })

  it('a cancelled task leaves the journal: after a restart it is still cancelled and is not resumed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fedmesh-cancel-restart-'))
    try {
      const gate = gatedHandler()
      const config = { transport: 'memory' as const, listen: [`/memory/restart-${process.pid}`], mdns: false, dht: false, journal: true, open: true, concurrency: 1, handlers: { hold: gate.handler } }
      let store = await FedStore.open(dir)
      let node = await createFederationNode({ store, ...config })
      await node.start()
      const runs = ['r-1', 'r-2', 'r-3'].map(taskId => node.run({ kind: 'hold', input: taskId, taskId }))
      await vi.waitFor(async () => { expect((await node.task('r-3'))?.status).toBe('queued') })
      expect(await node.cancelTask('r-3')).toMatchObject({ outcome: 'cancelled' })
      expect((await runs[2]).errorCode).toBe('CANCELLED')
      gate.calls[0].resolve()
      await runs[0]
      // Stop with r-2 unfinished: it stays journaled and resumes; r-3 must not.
      await node.stop(0)
      await store.close()
      store = await FedStore.open(dir)
      node = await createFederationNode({ store, ...config })
      nodes.push({ node, store })
      await node.start()
      expect(await node.task('r-3')).toMatchObject({ status: 'error', errorCode: 'CANCELLED' })
      expect((await node.task('r-2'))?.status).toBe('queued')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('deleting a key nobody holds writes nothing and says so', async () => {
    const node = await startNode()
    expect(await node.cacheDel('never-existed')).toBeUndefined()
    expect(await node.cacheList()).toEqual([])
    await node.cachePut('k', 'v')
    expect(await node.cacheDel('k')).toMatchObject({ key: 'k' })
    expect(await node.cacheDel('k')).toBeUndefined() // deleted already
  })
})
