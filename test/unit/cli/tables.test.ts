import { describe, expect, it } from 'vitest'
import { defaultView, formatCacheList, formatPeers, formatRoute, formatRun, formatServed, formatTasks } from '../../../src/cli/format.js'
import { formatMembers, formatPeersAll } from '../../../src/cli/federation-format.js'
import { paint, wantsColor } from '../../../src/cli/color.js'
import { renderTable } from '../../../src/cli/table.js'
import type { CacheListDoc, PeerDoc, RouteDoc, RunDoc, ServedDoc, TaskDoc } from '../../../src/node/documents.js'
import type { MemberDoc } from '../../../src/node/federation-api.js'

// Real-sized values: ed25519 peer ids, UUID task ids, long names and reasons.
const ID_A = '12D3KooWBXr6aD5qzPE97i6au373jXqjSyJmb5jKmb6FYFRkdTfr'
const ID_B = '12D3KooWL8oFJ1fpmHajesK5YqQxziQE6PaTio4uxusiqLZu9Mkq'
const NOW = Date.parse('2026-01-02T03:04:05Z')

const peers: PeerDoc[] = [ID_A, ID_B].map((peerId, i) => ({
  peerId,
  name: i === 0 ? 'build-server-in-the-basement-rack-3' : 'laptop',
  addresses: [`/ip4/192.168.100.200/tcp/4101/p2p/${peerId}`],
  connected: i === 0,
  discoveredVia: ['bootstrap', 'dht', 'inbound', 'mdns'],
  rttMs: 123.456,
  capacity: { cores: 64, freeMemoryMb: 123456, load: 12.34, queueDepth: 1234, running: 64, concurrency: 64, kinds: ['echo'] },
  reputation: -99.9,
  reputationState: 'avoid',
  lastSeenMs: i === 0 ? 0 : 3_600_000 * 30
}))

const tasks: TaskDoc[] = [
  { taskId: '35db2cd2-339a-4c96-8820-6aedbf943af1', kind: 'a-rather-long-kind-name.v2', status: 'error', errorCode: 'KIND_NOT_SERVED', error: 'no peer can run kind a-rather-long-kind-name.v2: every candidate refused', peer: ID_A, attempts: 12, durationMs: 3_723_000, submittedAt: NOW - 90_000 },
  { taskId: 'b1723bcc-108f-481f-855e-bbf597a47df9', kind: 'sleep', status: 'running', peer: '', attempts: 0, durationMs: 1_000, submittedAt: NOW - 1_000 }
]

const route: RouteDoc[] = [
  { peerId: ID_B, local: true, score: 12345.6, load: 1234, queueWaitMs: 12000.5, rttMs: 0, rttSource: 'local', dialMs: 0, runMs: 300, reputation: 0, reputationPenaltyMs: 0, eligible: true, reason: 'lowest expected completion time among 300 candidates' },
  { peerId: ID_A, local: false, score: null, load: 0, queueWaitMs: 0, rttMs: 123.45, rttSource: 'vivaldi', dialMs: 50, runMs: 300, reputation: -99, reputationPenaltyMs: 10000, eligible: false, reason: 'circuit open after repeated failures' }
]

const served: ServedDoc[] = [{ taskId: '35db2cd2-339a-4c96-8820-6aedbf943af1', kind: 'a-rather-long-kind-name.v2', origin: ID_A, startedAt: NOW - 5_000, runMs: 4_000, status: 'error', errorCode: 'OUTPUT_TOO_LARGE' }]

const entries: CacheListDoc[] = [{ key: 'builds/linux-x64/artifacts/fedmesh-0.1.0-with-a-long-suffix.tgz', version: '1796290481146-12', origin: ID_A, updatedAt: new Date(NOW - 60_000).toISOString(), expiresAt: new Date(NOW + 3_600_000).toISOString() }]

const members: MemberDoc[] = [{ peerId: ID_A, name: 'build-server-in-the-basement-rack-3', roles: ['submit', 'serve', 'cache-write', 'admin'], expiresAt: '2026-02-01T00:00:00.000Z', revoked: false, issuer: ID_B, standing: 'issuer-invalid', connected: true }]

const view = defaultView({ now: NOW })
const wide = defaultView({ now: NOW, wide: true })

function widest (text: string): number {
  return Math.max(...text.split('\n').map(l => [...l].length))
}

describe('tables', () => {
  const tables: Array<[string, (v: typeof view) => string]> = [
    ['peers', v => formatPeers(peers, v)],
    ['peers --all', v => formatPeersAll([...peers, { ...peers[1], peerId: '12D3KooWRefusedRefusedRefusedRefusedRefusedRefused1', membership: 'refused', refusal: { reason: 'certificate of another federation', count: 123456, lastAt: NOW } }], v)],
    ['tasks', v => formatTasks(tasks, v)],
    ['tasks --served', v => formatServed(served, v)],
    ['route', v => formatRoute(route, v)],
    ['cache ls', v => formatCacheList(entries, v)],
    ['federation members', v => formatMembers(members, v)]
  ]

  it.each(tables)('%s fits 80 columns, cutting long names and reasons with …', (_name, render) => {
    const text = render(view)
    expect(widest(text)).toBeLessThanOrEqual(80)
    expect(text.split('\n').length).toBeGreaterThan(1)
  })

  it.each(tables)('%s with -o wide shows every column and whole ids', (_name, render) => {
    const text = render(wide)
    expect(text).not.toMatch(/…/)
    expect(widest(text)).toBeGreaterThan(widest(render(view)))
  })

  it('fits a narrower terminal as far as the columns allow', () => {
    const text = formatPeers(peers, defaultView({ width: 72 }))
    expect(widest(text)).toBeLessThanOrEqual(72)
  })

  it('keeps the default columns readable: short ids, relative times, the chosen candidate', () => {
    expect(formatPeers(peers, view)).toMatch(/12D3Ko…RkdTfr/)
    expect(formatPeers(peers, wide)).toMatch(new RegExp(ID_A))
    expect(formatPeers(peers, wide)).toMatch(/ADDRESS/)
    expect(formatPeers(peers, view)).not.toMatch(/ADDRESS/)
    expect(formatTasks(tasks, view)).toMatch(/1m30s ago/)
    expect(formatTasks(tasks, wide)).toMatch(/2026-01-02 03:02:35/)
    expect(formatRoute(route, view)).toMatch(/this node +12345\.6/)
    expect(formatRoute(route, view).split('\n')[1]).toMatch(/chosen: /)
  })

  it('a table without borders: a header line, then one line per row, no trailing spaces', () => {
    const text = renderTable([{ head: 'A' }, { head: 'BB', align: 'right' }, { head: 'C' }], [['x', 1, ''], ['yy', 22, 'z']])
    expect(text).toBe('A   BB  C\nx    1\nyy  22  z')
  })
})

describe('colour', () => {
  it('only on a terminal, never with NO_COLOR or TERM=dumb; FORCE_COLOR anywhere', () => {
    expect(wantsColor({ isTTY: true }, {})).toBe(true)
    expect(wantsColor({ isTTY: false }, {})).toBe(false)
    expect(wantsColor({}, {})).toBe(false)
    expect(wantsColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false)
    expect(wantsColor({ isTTY: true }, { NO_COLOR: '' })).toBe(true) // no-color.org: set and not empty
    expect(wantsColor({ isTTY: true }, { TERM: 'dumb' })).toBe(false)
    expect(wantsColor({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true)
    expect(wantsColor({ isTTY: true }, { FORCE_COLOR: '0' })).toBe(false)
  })

  it('paints status words only when asked, and tables measure painted cells by what shows', () => {
    const run: RunDoc = { taskId: 't', kind: 'echo', status: 'ok', peer: ID_A, attempts: 1, durationMs: 5, output: 'hi' }
    expect(formatRun(run, view)).not.toMatch(/\u001b\[/)
    expect(formatRun(run, { ...view, color: true })).toMatch(/\u001b\[32mok\u001b\[39m/)
    const colored = formatTasks(tasks, { ...view, color: true })
    expect(colored).toMatch(/\u001b\[31m/)
    expect(widest(colored.replace(/\u001b\[[0-9;]*m/g, ''))).toBeLessThanOrEqual(80)
    expect(paint(false, 'red', 'x')).toBe('x')
  })

  it('shows binary output as a note, not as mangled text', () => {
    const run: RunDoc = { taskId: 't', kind: 'gzip', status: 'ok', peer: ID_A, attempts: 1, durationMs: 5, output: null, outputBase64: Buffer.from([0, 255, 1]).toString('base64') }
    expect(formatRun(run, view)).toMatch(/3 bytes of binary output/)
  })
})
