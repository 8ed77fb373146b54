import { api, daemon, stop, until } from './bench-discovery.js'
import { round } from './bench-util.js'

/**
 * Run inside a network namespace by `bench -- discovery`: two daemons with mDNS and no bootstrap;
 * time from starting them until they are connected, against a raw multicast-dns round trip.
 */
async function rawMulticastRoundTrip (): Promise<number> {
  const mdns = (await import('multicast-dns')).default as any
  const responder = mdns()
  const querier = mdns()
  responder.on('query', (q: any) => {
    if (q.questions.some((x: any) => x.name === 'bench.local')) responder.respond({ answers: [{ name: 'bench.local', type: 'TXT', data: 'x' }] })
  })
  const times: number[] = []
  for (let i = 0; i < 21; i++) {
    const t = performance.now()
    await new Promise(resolve => { querier.once('response', resolve); querier.query({ questions: [{ name: 'bench.local', type: 'TXT' }] }) })
    times.push(performance.now() - t)
  }
  responder.destroy()
  querier.destroy()
  return times.sort((a, b) => a - b)[10]
}

const baseline = await rawMulticastRoundTrip()
const t0 = performance.now()
const a = await daemon([], ['--no-dht'])
const b = await daemon([], ['--no-dht'])
try {
  const idB = await until(async () => (await api(b, '/v1/status')).peerId as string | undefined, 20_000)
  await until(async () => (await api(a, '/v1/status')).peerId as string | undefined, 20_000)
  const up = performance.now() - t0
  await until(async () => (await api(a, '/v1/peers') as any[]).some(p => p.peerId === idB && p.connected) ? true : undefined, 20_000)
  const total = performance.now() - t0
  console.log(JSON.stringify({ bothAnsweringMs: round(up, 0), connectedMs: round(total, 0), afterBothUpMs: round(total - up, 0), goalMs: 1_000, baseline: { name: 'raw multicast-dns query → answer (median of 21)', roundTripMs: round(baseline, 2) } }))
} finally {
  await stop(a, b)
}
process.exit(0)
