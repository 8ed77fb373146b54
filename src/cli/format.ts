import Table from 'cli-table3'
import type { CacheEntryDoc, CacheListDoc, PeerDoc, RouteDoc, RunDoc, ServedDoc, StatusDoc, TaskDetailDoc, TaskDoc } from '../node/documents.js'

/** Human output for the CLI. Pure functions of the documents, so they are unit-tested. */

export function table (head: string[], rows: Array<Array<string | number>>): string {
  const t = new Table({ head, style: { head: [], border: [] }, chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } })
  for (const row of rows) t.push(row.map(String))
  return t.toString()
}

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
  return `${h}h${m % 60 > 0 ? `${m % 60}m` : ''}`
}

function num (v: number | null | undefined, digits = 1): string {
  return v == null ? '-' : v.toFixed(digits)
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
  return lines.join('\n')
}

export function formatPeers (peers: PeerDoc[]): string {
  if (peers.length === 0) return 'no peers known yet'
  return table(
    ['peer', 'name', 'conn', 'via', 'rtt ms', 'load', 'run/slots', 'queue', 'rep', 'seen'],
    peers.map(p => [
      shortId(p.peerId),
      p.name === '' ? '-' : p.name,
      p.connected ? (p.connection === 'relayed' ? 'relayed' : 'yes') : 'no',
      p.discoveredVia.join(',') || '-',
      num(p.rttMs),
      num(p.capacity?.load, 2),
      p.capacity != null ? `${p.capacity.running}/${p.capacity.concurrency}` : '-',
      p.capacity?.queueDepth ?? '-',
      num(p.reputation, 0),
      lastSeen(p)
    ])
  )
}

/** `now` while connected, `-` when never heard from (or unknown, as for a peer banned before a restart). */
function lastSeen (p: PeerDoc): string {
  if (p.connected) return 'now'
  return p.lastSeenMs == null || p.lastSeenMs < 0 ? '-' : `${duration(p.lastSeenMs)} ago`
}

export function formatRun (r: RunDoc): string {
  const head = `${r.status === 'ok' ? 'ok' : 'error'}  ${r.kind}  task ${r.taskId}  on ${shortId(r.peer)}  ${r.attempts} attempt${r.attempts === 1 ? '' : 's'}  ${duration(r.durationMs)}`
  if (r.status === 'error') return `${head}\n${r.errorCode ?? 'ERROR'}: ${r.error ?? ''}`
  return `${head}\n${typeof r.output === 'string' ? r.output : JSON.stringify(r.output)}`
}

export function formatTasks (tasks: TaskDoc[]): string {
  if (tasks.length === 0) return 'no tasks yet'
  return table(
    ['task', 'kind', 'status', 'peer', 'attempts', 'took', 'submitted'],
    tasks.map(t => [
      t.taskId.slice(0, 8),
      t.kind,
      t.status === 'error' ? `error ${t.errorCode ?? ''}`.trim() : t.status,
      t.peer === '' ? '-' : shortId(t.peer),
      t.attempts,
      duration(t.durationMs),
      new Date(t.submittedAt).toISOString().replace('T', ' ').slice(0, 19)
    ])
  )
}

export function formatTaskDetail (t: TaskDetailDoc): string {
  const rows: Array<[string, string]> = [
    ['task', t.taskId],
    ['kind', t.kind],
    ['status', t.status === 'error' ? `error ${t.errorCode ?? ''}`.trim() : t.status],
    ['peer', t.peer === '' ? (t.pinnedPeer != null ? `- (pinned to ${shortId(t.pinnedPeer)})` : '-') : t.peer],
    ['attempts', String(t.attempts)],
    [t.status === 'queued' || t.status === 'running' ? 'waiting' : 'took', duration(t.durationMs)],
    ['submitted', new Date(t.submittedAt).toISOString().replace('T', ' ').slice(0, 19)]
  ]
  if (t.error != null) rows.push(['error', t.error])
  if (t.status === 'ok') rows.push(['output', typeof t.output === 'string' ? t.output : JSON.stringify(t.output)])
  const width = Math.max(...rows.map(([k]) => k.length))
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')
}

export function formatRoute (candidates: RouteDoc[]): string {
  if (candidates.length === 0) return 'no candidates'
  return table(
    ['#', 'peer', 'score ms', 'wait', 'rtt', 'run', 'rep', 'load', 'why'],
    candidates.map((c, i) => [
      c.eligible ? i + 1 : '-',
      `${shortId(c.peerId)}${c.local ? ' (this node)' : ''}`,
      c.score == null ? '-' : c.score.toFixed(1),
      c.queueWaitMs.toFixed(1),
      `${c.rttMs.toFixed(1)} ${c.rttSource}`,
      c.runMs.toFixed(0),
      `${c.reputation.toFixed(0)}${c.reputationPenaltyMs > 0 ? ` (+${c.reputationPenaltyMs.toFixed(0)}ms)` : ''}`,
      c.load,
      i === 0 && c.eligible ? `chosen: ${c.reason}` : c.reason
    ])
  )
}

export function formatServed (runs: ServedDoc[]): string {
  if (runs.length === 0) return 'this node has run no tasks yet'
  return table(
    ['task', 'kind', 'for', 'status', 'ran', 'started'],
    runs.map(r => [
      r.taskId.slice(0, 8),
      r.kind,
      r.origin === 'local' ? 'this node' : shortId(r.origin),
      r.status === 'error' ? `error ${r.errorCode ?? ''}`.trim() : r.status,
      duration(r.runMs),
      new Date(r.startedAt).toISOString().replace('T', ' ').slice(0, 19)
    ])
  )
}

export function formatCacheEntry (e: CacheEntryDoc): string {
  const value = typeof e.value === 'string' ? e.value : JSON.stringify(e.value)
  return `${value}\n(version ${e.version} by ${shortId(e.origin)} at ${e.updatedAt}${e.expiresAt != null ? `, expires ${e.expiresAt}` : ''})`
}

export function formatCacheList (entries: CacheListDoc[]): string {
  if (entries.length === 0) return 'the cache is empty'
  return table(['key', 'version', 'origin', 'updated', 'expires'], entries.map(e => [e.key, e.version, shortId(e.origin), e.updatedAt, e.expiresAt ?? '-']))
}
