import { describe, expect, it } from 'vitest'
import { duration, formatPeers, formatStatus, shortId } from '../../../src/cli/format.js'
import { sinceLastSeen } from '../../../src/node/to-documents.js'
import { VERSION } from '../../../src/version.js'
import pkg from '../../../package.json' with { type: 'json' }
import type { PeerDoc, StatusDoc } from '../../../src/node/documents.js'

const status: StatusDoc = {
  peerId: '12D3KooWAbCdEfGhIjKlMnOpQrStUvWxYz',
  name: 'laptop',
  addresses: ['/ip4/127.0.0.1/tcp/4101/p2p/12D3KooWAbCdEfGhIjKlMnOpQrStUvWxYz'],
  mode: 'federated',
  peers: 2,
  capacity: { cores: 8, freeMemoryMb: 2048, load: 0.5, queueDepth: 1, running: 3, concurrency: 8, kinds: ['echo', 'sha256', 'sleep'] },
  uptimeMs: 3_723_000,
  version: '0.1.0'
}

const peer: PeerDoc = {
  peerId: '12D3KooWPeerPeerPeerPeerPeerXYZ123',
  name: 'desk',
  addresses: [],
  connected: false,
  discoveredVia: ['bootstrap', 'dht'],
  rttMs: 1.234,
  capacity: null,
  reputation: -12.4,
  lastSeenMs: 65_000
}

describe('CLI output', () => {
  it('keeps VERSION equal to package.json', () => {
    expect(VERSION).toBe(pkg.version)
  })

  it('formats durations for people', () => {
    expect(duration(250)).toBe('250ms')
    expect(duration(59_000)).toBe('59s')
    expect(duration(65_000)).toBe('1m5s')
    expect(duration(3_723_000)).toBe('1h2m')
  })

  it('shortens peer ids but keeps both ends', () => {
    expect(shortId('12D3KooWPeerPeerPeerPeerPeerXYZ123')).toBe('12D3Ko…XYZ123')
    expect(shortId('short')).toBe('short')
  })

  it('shows status with mode, peers, uptime and capacity', () => {
    const text = formatStatus(status)
    expect(text).toMatch(/mode\s+federated/)
    expect(text).toMatch(/peers\s+2 connected/)
    expect(text).toMatch(/uptime\s+1h2m/)
    expect(text).toMatch(/3\/8 running, 1 queued/)
    expect(text).toMatch(/kinds\s+echo, sha256, sleep/)
  })

  it('shows peers as a table with via, rtt, reputation and last seen', () => {
    const text = formatPeers([peer])
    const row = text.split('\n').find(l => l.includes('12D3Ko…XYZ123')) ?? ''
    expect(row).toMatch(/desk/)
    expect(row).toMatch(/bootstrap,dht/)
    expect(row).toMatch(/1\.2/)
    expect(row).toMatch(/-12/)
    expect(row).toMatch(/1m5s ago/)
    expect(formatPeers([])).toBe('no peers known yet')
  })

  it('shows a peer never heard from (a banned one after a restart) as "-", not "seen -1ms ago"', () => {
    const banned: PeerDoc = { ...peer, reputation: -80, reputationState: 'banned', lastSeenMs: null }
    const row = formatPeers([banned]).split('\n').find(l => l.includes('12D3Ko…XYZ123')) ?? ''
    expect(row).not.toMatch(/ago/)
    expect(row).toMatch(/ -$/) // the last column, SEEN
    // A document from an older daemon (-1 meant unknown) reads the same.
    expect(formatPeers([{ ...banned, lastSeenMs: -1 }])).not.toMatch(/-1ms/)
    expect(formatPeers([{ ...peer, connected: true }])).toMatch(/now/)
  })

  it('says when a peer was last seen: 0 while connected, null when never, else the time since', () => {
    expect(sinceLastSeen(true, 5, 100)).toBe(0)
    expect(sinceLastSeen(false, 0, 100)).toBeNull() // membership's "never heard from"
    expect(sinceLastSeen(false, undefined, 100)).toBeNull()
    expect(sinceLastSeen(false, 40, 100)).toBe(60)
  })
})
