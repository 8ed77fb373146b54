import { describe, expect, it } from 'vitest'
import { addressesToShare, dhtModeFor, judgeReachability, punchTurn, startsDirectDial } from '../../../src/core/reachability.js'
import type { OwnAddress } from '../../../src/core/reachability.js'

const lan = (host: string): OwnAddress => ({ host, isPublic: false, verified: true, relayed: false })
const pub = (host: string, verified: boolean): OwnAddress => ({ host, isPublic: true, verified, relayed: false })
const circuit: OwnAddress = { host: '30.0.0.1', isPublic: false, verified: true, relayed: true }

describe('judgeReachability', () => {
  it('is public once a public address is confirmed, whatever peers observe', () => {
    expect(judgeReachability({ addresses: [lan('192.168.1.2'), pub('30.0.0.1', true)], observedIps: ['30.0.0.9'] })).toBe('public')
  })

  it('is private when peers see this node at a public IP it does not have (a NAT)', () => {
    expect(judgeReachability({ addresses: [lan('127.0.0.1'), lan('192.168.1.2')], observedIps: ['30.0.0.2'] })).toBe('private')
  })

  it('stays private while holding a relay address: the relay host is not one of its own', () => {
    expect(judgeReachability({ addresses: [lan('192.168.1.2'), circuit], observedIps: ['30.0.0.2'] })).toBe('private')
  })

  it('is unknown with a public address not confirmed yet that peers see as its own (no NAT in the way)', () => {
    expect(judgeReachability({ addresses: [pub('30.0.0.1', false)], observedIps: ['30.0.0.1'] })).toBe('unknown')
  })

  it('is unknown on a LAN or loopback (no observation of a public IP)', () => {
    expect(judgeReachability({ addresses: [lan('127.0.0.1')], observedIps: [] })).toBe('unknown')
  })

  it('a relayed address never counts as a confirmed public one', () => {
    expect(judgeReachability({ addresses: [{ ...circuit, isPublic: true }], observedIps: [] })).toBe('unknown')
  })
})

describe('dhtModeFor', () => {
  it('answers DHT queries unless private', () => {
    expect(dhtModeFor('private')).toBe('client')
    expect(dhtModeFor('public')).toBe('server')
    expect(dhtModeFor('unknown')).toBe('server')
  })
})

describe('addressesToShare', () => {
  it('drops private addresses of a peer reachable from the internet (public or relayed)', () => {
    const addrs = [{ addr: 'lan', isPublic: false, relayed: false }, { addr: 'circuit', isPublic: false, relayed: true }, { addr: 'public', isPublic: true, relayed: false }]
    expect(addressesToShare(addrs)).toEqual(['circuit', 'public'])
  })

  it('keeps every address of a LAN-only peer', () => {
    const addrs = [{ addr: 'lo', isPublic: false, relayed: false }, { addr: 'lan', isPublic: false, relayed: false }]
    expect(addressesToShare(addrs)).toEqual(['lo', 'lan'])
  })
})

describe('startsDirectDial', () => {
  it('exactly one of two peers starts the hole punch', () => {
    const [a, b] = ['12D3KooWA', '12D3KooWB']
    expect(startsDirectDial(a, b)).not.toBe(startsDirectDial(b, a))
  })
})

describe('punchTurn', () => {
  const [small, big] = ['12D3KooWA', '12D3KooWB']
  const base = { selfPublic: false, remotePublicFailed: false, attempts: 0 }

  it('between two private members, only the smaller id punches', () => {
    expect(punchTurn({ ...base, self: small, remote: big })).toBe('punch')
    expect(punchTurn({ ...base, self: big, remote: small })).toBe('wait for the peer to punch')
  })

  it('a public member waits once to be dialled; the private one dials its public address and punches only if that failed', () => {
    // The public end has the smaller id: it still waits on its first attempt, then falls back to the id rule.
    expect(punchTurn({ ...base, self: small, remote: big, selfPublic: true })).toBe('wait for the peer to dial our public address')
    expect(punchTurn({ ...base, self: small, remote: big, selfPublic: true, attempts: 1 })).toBe('punch')
    // The private end (bigger id) punches once the public address failed, whatever the ids.
    expect(punchTurn({ ...base, self: big, remote: small, remotePublicFailed: true })).toBe('punch')
  })
})
