import { paintStatus } from './color.js'
import { defaultView, renderTable } from './table.js'
import { formatServing, servingCell } from './format-serving.js'
import type { Column, View } from './table.js'
import type { CacheEntryDoc, CacheListDoc, PeerDoc, RouteDoc, RunDoc, ServedDoc, StatusDoc, TaskDetailDoc, TaskDoc } from '../node/documents.js'

/** Human output for the CLI. Pure functions of the documents and the view, so they are unit-tested. */

export { renderTable, defaultView } from './table.js'
export type { View } from './table.js'

export function shortId (peerId: string): string {
  return peerId.length > 16 ? `${peerId.slice(0, 6)}…${peerId.slice(-6)}` : peerId
}

export function duration (ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m${s % 60 > 0 ? `${s % 60}s` : ''}`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h}h${m % 60 > 0 ? `${m % 60}m` : ''}`
  return `${Math.floor(h / 24)}d${h % 24 > 0 ? `${h % 24}h` : ''}`
}

/** `5s ago`, or `in 3m` for a time ahead. */
export function ago (atMs: number, now: number): string {
  return atMs <= now ? `${duration(now - atMs)} ago` : `in ${duration(atMs - now)}`
}

function num (v: number | null | undefined, digits = 1): string {
  return v == null ? '-' : v.toFixed(digits)
}

function isoSeconds (ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19)
}

/** A peer as a table shows it: the short id, the whole id with `-o wide`. */
function peerCell (peerId: string, view: View): string {
  return view.wide ? peerId : shortId(peerId)
}

function statusText (t: { status: string, errorCode?: string }): string {
  return t.status === 'error' ? `error ${t.errorCode ?? ''}`.trim() : t.status
}

export function formatStatus (s: StatusDoc): string {
  const lines = [
    `peer id   ${s.peerId}`,
    `name      ${s.name}`,
    `version   ${s.version}`,
    `mode      ${s.mode}${s.modeSince != null ? ` since ${new Date(s.modeSince).toISOString()}` : ''}`,
    `peers     ${s.peers} connected`,
    `uptime    ${duration(s.uptimeMs)}`,
    ...s.addresses.map((a, i) => `${i === 0 ? 'addresses' : '         '} ${a}`)
  ]
  if (s.cacheSync != null) {
    lines.push(`cache sync last ${s.cacheSync.lastSyncAt ?? 'never'}, ${s.cacheSync.sessionsCompleted} sessions, ${s.cacheSync.entriesReceived} entries received`)
  }
  if (s.clock != null) {
    const k = s.clock
    const offset = k.offsetMs == null ? 'no peer clock to compare with' : `${k.offsetMs >= 0 ? '+' : ''}${num(k.offsetMs / 1000, 1)} s against the median of ${k.clocks} clocks`
    lines.push(`clock     ${offset}; cache writes ${k.cacheWrites === 'ok' ? 'ok' : `refused: ${k.reason ?? ''}`}`)
    if (k.unsharedEntries > 0) lines.push(`          ${k.unsharedEntries} cache entries written alone, shared once peers' clocks are known`)
  }
  if (s.storage != null) {
    lines.push(s.storage.ok
      ? 'storage   ok'
      : `storage   FAILING: ${s.storage.error ?? 'error'} since ${s.storage.since ?? '?'}; writes refused (507), reads served; resumes by itself`)
  }
  if (s.reachability != null) {
    const seen = s.nat?.observedAddresses ?? []
    lines.push(`reach     ${s.reachability}${seen.length > 0 ? ` (peers see this node at ${seen.join(', ')})` : ''}`)
  }
  if (s.relay != null) {
    const r = s.relay
    const held = r.reservations.length === 0 ? 'no relay reservation' : `reserved on ${r.reservations.map(x => shortId(x.relay)).join(', ')}`
    lines.push(`relay     ${held}${r.serving != null ? `; relaying for ${r.serving.reservations} members` : ''}`)
  }
  if (s.capacity != null) {
    const c = s.capacity
    lines.push(`capacity  ${c.running}/${c.concurrency} running, ${c.queueDepth} queued, load ${num(c.load, 2)}, ${c.cores} cores, ${c.freeMemoryMb} MB free`)
    lines.push(`kinds     ${c.kinds.join(', ')}`)
  }
  if (s.serving != null) lines.push(formatServing(s.serving))
  return lines.join('\n')
}

const PEER_COLUMNS: Column[] = [
  { head: 'PEER' },
  { head: 'NAME', flex: true },
  { head: 'CONN' },
  { head: 'VIA', flex: true, min: 5 },
  { head: 'RTT MS', align: 'right' },
  { head: 'LOAD', align: 'right' },
  { head: 'RUN', align: 'right' },
  { head: 'QUEUE', align: 'right', wide: true },
  // The reason is why a peer takes no work: never cut (17 = `none: ` and the longest code).
  { head: 'SERVING', flex: true, min: 17 },
  { head: 'REP', align: 'right' },
  { head: 'STATE', wide: true },
  { head: 'SEEN' },
  { head: 'ADDRESS', wide: true }
]

const SERVING_COLUMN = PEER_COLUMNS.findIndex(c => c.head === 'SERVING')

export function formatPeers (peers: PeerDoc[], view: View = defaultView()): string {
  if (peers.length === 0) return 'no peers known yet'
  // SERVING only when a peer serves fewer slots than it has, or none (the 80 columns are tight).
  const limited = peers.some(p => p.capacity?.paused === true || p.capacity?.servingReason != null)
  const keep = (_: unknown, i: number): boolean => limited || i !== SERVING_COLUMN
  return renderTable(PEER_COLUMNS.filter(keep), peers.map(p => [
    peerCell(p.peerId, view),
    p.name === '' ? '-' : p.name,
    p.connected ? (p.connection === 'relayed' ? 'relayed' : 'yes') : 'no',
    p.discoveredVia.join(',') || '-',
    num(p.rttMs),
    num(p.capacity?.load, 2),
    p.capacity != null ? `${p.capacity.running}/${p.capacity.concurrency}` : '-',
    p.capacity?.queueDepth ?? '-',
    servingCell(p.capacity),
    num(p.reputation, 0),
    p.reputationState ?? '-',
    lastSeen(p),
    p.addresses[0] ?? '-'
  ].filter(keep)), view)
}

/** `now` while connected, `-` when never heard from (or unknown, as for a peer banned before a restart). */
function lastSeen (p: PeerDoc): string {
  if (p.connected) return 'now'
  return p.lastSeenMs == null || p.lastSeenMs < 0 ? '-' : `${duration(p.lastSeenMs)} ago`
}

export function formatRun (r: RunDoc, view: View = defaultView()): string {
  const head = `${paintStatus(view.color, r.status === 'ok' ? 'ok' : 'error')}  ${r.kind}  task ${r.taskId}  on ${shortId(r.peer)}  ${r.attempts} attempt${r.attempts === 1 ? '' : 's'}  ${duration(r.durationMs)}`
  if (r.status === 'error') return `${head}\n${r.errorCode ?? 'ERROR'}: ${r.error ?? ''}`
  if (r.outputBase64 != null) return `${head}\n(${Buffer.from(r.outputBase64, 'base64').byteLength} bytes of binary output: see --json's outputBase64)`
  return `${head}\n${typeof r.output === 'string' ? r.output : JSON.stringify(r.output)}`
}

const TASK_COLUMNS: Column[] = [
  { head: 'TASK' },
  { head: 'KIND', flex: true },
  { head: 'STATUS', flex: true, min: 6 },
  { head: 'PEER' },
  { head: 'TRIES', align: 'right' },
  { head: 'TOOK', align: 'right' },
  { head: 'SUBMITTED' },
  { head: 'ERROR', wide: true }
]

export function formatTasks (tasks: TaskDoc[], view: View = defaultView()): string {
  if (tasks.length === 0) return 'no tasks yet'
  return renderTable(TASK_COLUMNS, tasks.map(t => [
    view.wide ? t.taskId : t.taskId.slice(0, 8),
    t.kind,
    paintStatus(view.color, statusText(t)),
    t.peer === '' ? '-' : peerCell(t.peer, view),
    t.attempts,
    duration(t.durationMs),
    view.wide ? isoSeconds(t.submittedAt) : ago(t.submittedAt, view.now),
    t.error ?? '-'
  ]), view)
}

export function formatTaskDetail (t: TaskDetailDoc, view: View = defaultView()): string {
  const rows: Array<[string, string]> = [
    ['task', t.taskId],
    ['kind', t.kind],
    ['status', paintStatus(view.color, statusText(t))],
    ['peer', t.peer === '' ? (t.pinnedPeer != null ? `- (pinned to ${shortId(t.pinnedPeer)})` : '-') : t.peer],
    ['attempts', String(t.attempts)],
    [t.status === 'queued' || t.status === 'running' ? 'waiting' : 'took', duration(t.durationMs)],
    ['submitted', isoSeconds(t.submittedAt)]
  ]
  if (t.error != null) rows.push(['error', t.error])
  if (t.status === 'ok') rows.push(['output', typeof t.output === 'string' ? t.output : JSON.stringify(t.output)])
  const width = Math.max(...rows.map(([k]) => k.length))
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')
}

const ROUTE_COLUMNS: Column[] = [
  { head: '#', align: 'right' },
  { head: 'PEER' },
  { head: 'SCORE', align: 'right' },
  { head: 'WAIT', align: 'right' },
  { head: 'RTT', align: 'right' },
  { head: 'VIA', wide: true },
  { head: 'RUN', align: 'right', wide: true },
  { head: 'REP', align: 'right' },
  { head: 'LOAD', align: 'right', wide: true },
  { head: 'WHY', flex: true, min: 12 }
]

export function formatRoute (candidates: RouteDoc[], view: View = defaultView()): string {
  if (candidates.length === 0) return 'no candidates'
  return renderTable(ROUTE_COLUMNS, candidates.map((c, i) => [
    c.eligible ? i + 1 : '-',
    c.local ? (view.wide ? `${c.peerId} (this node)` : 'this node') : peerCell(c.peerId, view),
    c.score == null ? '-' : c.score.toFixed(1),
    c.queueWaitMs.toFixed(1),
    c.rttMs.toFixed(1),
    c.rttSource,
    c.runMs.toFixed(0),
    `${c.reputation.toFixed(0)}${c.reputationPenaltyMs > 0 ? ` (+${c.reputationPenaltyMs.toFixed(0)}ms)` : ''}`,
    c.load,
    i === 0 && c.eligible ? `chosen: ${c.reason}` : c.reason
  ]), view)
}

const SERVED_COLUMNS: Column[] = [
  { head: 'TASK' },
  { head: 'KIND', flex: true },
  { head: 'FOR' },
  { head: 'STATUS', flex: true },
  { head: 'RAN', align: 'right' },
  { head: 'STARTED' }
]

export function formatServed (runs: ServedDoc[], view: View = defaultView()): string {
  if (runs.length === 0) return 'this node has run no tasks yet'
  return renderTable(SERVED_COLUMNS, runs.map(r => [
    view.wide ? r.taskId : r.taskId.slice(0, 8),
    r.kind,
    r.origin === 'local' ? 'this node' : peerCell(r.origin, view),
    paintStatus(view.color, statusText(r)),
    duration(r.runMs),
    view.wide ? isoSeconds(r.startedAt) : ago(r.startedAt, view.now)
  ]), view)
}

export function formatCacheEntry (e: CacheEntryDoc): string {
  const value = typeof e.value === 'string' ? e.value : JSON.stringify(e.value)
  return `${value}\n(version ${e.version} by ${shortId(e.origin)} at ${e.updatedAt}${e.expiresAt != null ? `, expires ${e.expiresAt}` : ''})`
}

const CACHE_COLUMNS: Column[] = [
  { head: 'KEY', flex: true, min: 12 },
  { head: 'VERSION', wide: true },
  { head: 'ORIGIN' },
  { head: 'UPDATED' },
  { head: 'EXPIRES' }
]

export function formatCacheList (entries: CacheListDoc[], view: View = defaultView()): string {
  if (entries.length === 0) return 'the cache is empty'
  const when = (iso: string): string => view.wide ? iso : ago(Date.parse(iso), view.now)
  return renderTable(CACHE_COLUMNS, entries.map(e => [
    e.key, e.version, peerCell(e.origin, view), when(e.updatedAt), e.expiresAt != null ? when(e.expiresAt) : '-'
  ]), view)
}
