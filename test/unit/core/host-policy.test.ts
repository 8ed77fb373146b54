import { describe, expect, it } from 'vitest'
import { DEFAULT_HOST_POLICY, decideServing, inQuietHours, parseQuietHours } from '../../../src/core/host-policy.js'
import type { HostSignals, PolicyInput } from '../../../src/core/host-policy.js'

const NOW = 1_700_000_000_000
const idleLaptop: HostSignals = { cores: 4, power: { onBattery: false, batteryPercent: 80 }, presence: { state: 'idle' }, ownerBusyCores: 0.1 }

function decide (over: Partial<Omit<PolicyInput, 'signals'>> & { signals?: Partial<HostSignals> } = {}): ReturnType<typeof decideServing> {
  return decideServing({ slots: 4, now: NOW, minuteOfDay: 12 * 60, ...over, policy: { ...DEFAULT_HOST_POLICY, ...over.policy }, signals: { ...idleLaptop, ...over.signals } })
}

describe('decideServing (the host policy)', () => {
  it('an idle machine on AC serves every slot, with no reason', () => {
    expect(decide()).toEqual({ slots: 4, paused: false })
  })

  it('on battery: at most half the slots; below the floor (default 30 %) nothing', () => {
    expect(decide({ signals: { power: { onBattery: true, batteryPercent: 55 } } })).toMatchObject({ slots: 2, paused: false, reason: 'on-battery' })
    expect(decide({ signals: { power: { onBattery: true, batteryPercent: 29 } } })).toMatchObject({ slots: 0, paused: true, reason: 'battery-low' })
    // One slot at least while above the floor, whatever the share.
    expect(decide({ slots: 1, signals: { power: { onBattery: true, batteryPercent: 90 } } })).toEqual({ slots: 1, paused: false })
    expect(decide({ policy: { ...DEFAULT_HOST_POLICY, batteryFloorPercent: 10 }, signals: { power: { onBattery: true, batteryPercent: 20 } } })).toMatchObject({ slots: 2, reason: 'on-battery' })
  })

  it('someone at the machine: at most activeUserSlots (default 1)', () => {
    expect(decide({ signals: { presence: { state: 'active' } } })).toMatchObject({ slots: 1, paused: false, reason: 'user-active' })
    expect(decide({ policy: { ...DEFAULT_HOST_POLICY, activeUserSlots: 0 }, signals: { presence: { state: 'active' } } })).toMatchObject({ slots: 0, paused: true, reason: 'user-active' })
    // Unknown presence (no logind) does not cap.
    expect(decide({ signals: { presence: { state: 'unknown' } } })).toEqual({ slots: 4, paused: false })
  })

  it("the owner's load: slots = the cores the owner does not use", () => {
    expect(decide({ signals: { ownerBusyCores: 2.6 } })).toMatchObject({ slots: 1, reason: 'owner-busy' })
    expect(decide({ signals: { ownerBusyCores: 3.8 } })).toMatchObject({ slots: 0, paused: true, reason: 'owner-busy' })
    expect(decide({ policy: { ...DEFAULT_HOST_POLICY, yieldToOwner: false }, signals: { ownerBusyCores: 3.8 } })).toEqual({ slots: 4, paused: false })
  })

  it('quiet hours (local time, across midnight) serve nothing', () => {
    const policy = { ...DEFAULT_HOST_POLICY, quietHours: '22:00-07:00' }
    expect(decide({ policy, minuteOfDay: 23 * 60 })).toMatchObject({ slots: 0, paused: true, reason: 'quiet-hours' })
    expect(decide({ policy, minuteOfDay: 6 * 60 + 59 })).toMatchObject({ paused: true, reason: 'quiet-hours' })
    expect(decide({ policy, minuteOfDay: 7 * 60 })).toEqual({ slots: 4, paused: false })
  })

  it("the owner's pause wins until it expires", () => {
    expect(decide({ pause: { since: NOW - 1000 } })).toMatchObject({ slots: 0, paused: true, reason: 'paused' })
    expect(decide({ pause: { since: NOW - 1000, until: NOW + 60_000 } })).toMatchObject({ paused: true, reason: 'paused', until: NOW + 60_000 })
    expect(decide({ pause: { since: NOW - 1000, until: NOW } })).toEqual({ slots: 4, paused: false })
  })

  it('the tightest cap wins', () => {
    // On battery (2) and someone active (1) and the owner busy (4 - 1.2 → 3): 1 for the user.
    expect(decide({ signals: { power: { onBattery: true, batteryPercent: 60 }, presence: { state: 'active' }, ownerBusyCores: 1.2 } })).toMatchObject({ slots: 1, reason: 'user-active' })
    expect(decide({ signals: { power: { onBattery: true, batteryPercent: 60 }, ownerBusyCores: 3.2 } })).toMatchObject({ slots: 1, reason: 'owner-busy' })
  })

  it('parses quiet hours strictly', () => {
    expect(parseQuietHours('22:00-07:30')).toEqual({ from: 1320, to: 450 })
    for (const bad of ['22-07', '24:00-07:00', '22:00 - 07:00', '']) expect(parseQuietHours(bad)).toBeUndefined()
    expect(inQuietHours('09:00-17:00', 9 * 60)).toBe(true)
    expect(inQuietHours('09:00-17:00', 17 * 60)).toBe(false)
    expect(inQuietHours('09:00-09:00', 9 * 60)).toBe(false)
  })
})
