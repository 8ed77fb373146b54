// Embedding fedmesh in a program: two nodes on this machine, one registers task kinds in code,
// the other runs them on the mesh. Run it with Node 22.18+ (it strips the types itself):
//
//   npm run build && node examples/embed-node.ts
//
// CI runs it as a test (test/integration/example.test.ts). The nodes form an open mesh on
// 127.0.0.1 (a lab setup; a real deployment uses a private federation: README "Federations").
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ErrorCode, FedStore, TaskError, createFederationNode } from 'fedmesh'
import type { FederationNode, HandlerContext, RunDoc } from 'fedmesh'

async function startNode (name: string, dir: string, bootstrap: string[] = []): Promise<FederationNode> {
  const node = await createFederationNode({
    store: await FedStore.open(join(dir, name)),
    name,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap,
    mdns: false,
    dht: false,
    open: true
  })
  await node.start()
  return node
}

/** Wait until `node` has heard a peer advertise `kind` (capacity ads arrive every second). */
async function untilServed (node: FederationNode, kind: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if ((await node.peers()).some(p => p.capacity?.kinds.includes(kind) === true)) return
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  throw new Error(`no peer advertised ${kind} within ${timeoutMs} ms`)
}

function show (label: string, r: RunDoc, names: Map<string, string>): void {
  const where = names.get(r.peer) ?? r.peer
  const result = r.status === 'ok' ? JSON.stringify(r.output) : `${r.errorCode}: ${r.error}`
  console.log(`${label}: ${r.status} on ${where} (${r.attempts} attempt${r.attempts === 1 ? '' : 's'}) -> ${result}`)
}

const dir = await mkdtemp(join(tmpdir(), 'fedmesh-example-'))
const worker = await startNode('worker', dir)

// A JSON kind: the input is parsed for you (input that is not JSON is answered BAD_INPUT).
worker.handleJson('word-count', async (input: { text?: unknown }, ctx: HandlerContext) => {
  if (typeof input?.text !== 'string') throw new TaskError(ErrorCode.BAD_INPUT, 'word-count needs { "text": string }')
  ctx.signal.throwIfAborted() // aborted at the task's deadline
  return { words: input.text.split(/\s+/).filter(w => w !== '').length }
})
// A bytes kind: raw bytes in, raw bytes out (a Uint8Array is sent as it is).
worker.handle('reverse-bytes', async (input: Uint8Array) => Uint8Array.from(input).reverse())

const app = await startNode('app', dir, [worker.libp2p.getMultiaddrs()[0].toString()])
const names = new Map([[worker.peerId.toString(), 'worker'], [app.peerId.toString(), 'app']])
try {
  await untilServed(app, 'word-count')
  // `app` serves neither kind, so the router sends both to `worker`.
  show('word-count', await app.run({ kind: 'word-count', input: { text: 'the quick brown fox jumps' } }), names)
  const reversed = await app.run({ kind: 'reverse-bytes', input: new TextEncoder().encode('stressed') })
  show('reverse-bytes', reversed, names)
  show('bad input', await app.run({ kind: 'word-count', input: { txt: 'typo' } }), names)
  // A built-in kind runs wherever it is predicted to finish first, this node included.
  show('sha256', await app.run({ kind: 'sha256', input: { data: 'hello' } }), names)
} finally {
  await app.stop()
  await worker.stop()
  await app.store.close()
  await worker.store.close()
  await rm(dir, { recursive: true, force: true })
}
