import Table from 'cli-table3'
import type { PeerDoc, StatusDoc } from '../node/documents.js'

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
      p.connected ? 'yes' : 'no',
      p.discoveredVia.join(',') || '-',
      num(p.rttMs),
      num(p.capacity?.load, 2),
      p.capacity != null ? `${p.capacity.running}/${p.capacity.concurrency}` : '-',
      p.capacity?.queueDepth ?? '-',
      num(p.reputation, 0),
      p.connected ? 'now' : `${duration(p.lastSeenMs)} ago`
    ])
  )
}
