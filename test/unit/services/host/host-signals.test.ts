import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { readPower } from '../../../../src/services/host/power.js'
import { readPresence } from '../../../../src/services/host/presence.js'
import { ownerBusyCores, parseTicks } from '../../../../src/services/host/owner-load.js'
import { HostMonitor } from '../../../../src/services/host/host-monitor.js'
import type { RunCommand } from '../../../../src/services/host/presence.js'
import type { CpuTicks } from '../../../../src/services/host/owner-load.js'

/** A fake /sys/class/power_supply: one directory per supply with its attribute files. */
async function supply (root: string, name: string, attrs: Record<string, string>): Promise<void> {
  await mkdir(join(root, name), { recursive: true })
  for (const [k, v] of Object.entries(attrs)) await writeFile(join(root, name, k), `${v}\n`)
}

describe('power (fake power_supply dir)', () => {
  let root: string
  beforeEach(async () => { root = await mkdtemp(join(tmpdir(), 'fedmesh-power-')) })
  afterEach(async () => { await rm(root, { recursive: true, force: true }) })

  it('a laptop on AC is not on battery, and reports the charge', async () => {
    await supply(root, 'AC', { type: 'Mains', online: '1' })
    await supply(root, 'BAT0', { type: 'Battery', capacity: '64', status: 'Charging' })
    expect(await readPower(root)).toEqual({ onBattery: false, batteryPercent: 64 })
  })

  it('unplugged: on battery, the charge averaged over batteries; a mouse battery does not count', async () => {
    await supply(root, 'AC', { type: 'Mains', online: '0' })
    await supply(root, 'BAT0', { type: 'Battery', capacity: '20', status: 'Discharging' })
    await supply(root, 'BAT1', { type: 'Battery', capacity: '40', status: 'Discharging' })
    await supply(root, 'hid-mouse', { type: 'Battery', capacity: '5', status: 'Discharging', scope: 'Device' })
    expect(await readPower(root)).toEqual({ onBattery: true, batteryPercent: 30 })
  })

  it('a battery-only listing goes by the battery status; a desktop (no battery) and a missing dir are on AC', async () => {
    await supply(root, 'BAT0', { type: 'Battery', capacity: '90', status: 'Discharging' })
    expect(await readPower(root)).toEqual({ onBattery: true, batteryPercent: 90 })
    await rm(join(root, 'BAT0'), { recursive: true })
    await supply(root, 'AC', { type: 'Mains', online: '1' })
    expect(await readPower(root)).toEqual({ onBattery: false })
    expect(await readPower(join(root, 'nope'))).toEqual({ onBattery: false })
  })

  it('garbage in the files is skipped, not trusted', async () => {
    await supply(root, 'AC', { type: 'Mains', online: '0' })
    await supply(root, 'BAT0', { type: 'Battery', capacity: 'lots', status: 'Discharging' })
    expect(await readPower(root)).toEqual({ onBattery: false })
  })
})

describe('presence (fake loginctl, fake logind session dir)', () => {
  let sessionsDir: string
  beforeEach(async () => {
    sessionsDir = await mkdtemp(join(tmpdir(), 'fedmesh-sessions-'))
    await writeFile(join(sessionsDir, '2'), 'UID=1000\n')
  })
  afterEach(async () => { await rm(sessionsDir, { recursive: true, force: true }) })

  const fake = (sessions: Record<string, string>): RunCommand => async (_file, args) => {
    if (args[0] === 'list-sessions') return Object.keys(sessions).map(id => `${id} 1000 dev seat0 tty2`).join('\n')
    return sessions[args[1]]
  }

  it('an active session not idle means someone is there', async () => {
    expect(await readPresence(0, fake({ 2: 'Active=yes\nClass=user\nIdleHint=no\nIdleSinceHint=0' }), sessionsDir)).toEqual({ state: 'active' })
  })

  it('every active session idle: idle, with how long', async () => {
    const now = 1_700_000_000_000
    const since = (now - 90_000) * 1000
    expect(await readPresence(now, fake({ 2: `Active=yes\nClass=user\nIdleHint=yes\nIdleSinceHint=${since}`, 3: 'Active=no\nClass=user\nIdleHint=no' }), sessionsDir)).toEqual({ state: 'idle', idleMs: 90_000 })
  })

  it('no logind (the command fails) or no active session: unknown', async () => {
    expect(await readPresence(0, async () => { throw new Error('System has not been booted with systemd') }, sessionsDir)).toEqual({ state: 'unknown' })
    expect(await readPresence(0, fake({ 4: 'Active=no\nClass=greeter\nIdleHint=no' }), sessionsDir)).toEqual({ state: 'unknown' })
  })

  it('runs no loginctl when logind lists no session (empty or missing dir): unknown', async () => {
    let runs = 0
    const counting: RunCommand = async (file, args, options) => { runs++; return fake({ 2: 'Active=yes\nClass=user\nIdleHint=no' })(file, args, options) }
    await rm(join(sessionsDir, '2'))
    expect(await readPresence(0, counting, sessionsDir)).toEqual({ state: 'unknown' })
    expect(await readPresence(0, counting, join(sessionsDir, 'nope'))).toEqual({ state: 'unknown' })
    expect(runs).toBe(0)
    await writeFile(join(sessionsDir, '2'), 'UID=1000\n')
    expect(await readPresence(0, counting, sessionsDir)).toEqual({ state: 'active' })
    expect(runs).toBe(2)
  })
})

describe("the owner's CPU load", () => {
  it('parses /proc/stat and /proc/self/stat (a command name with spaces and parentheses)', () => {
    const stat = 'cpu  100 5 50 800 10 3 2 0 0 0\ncpu0 1 2 3 4\n'
    const self = '42 (node (x) y) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 20 0 1 0 5 6'
    // utime 11 + stime 12 + cutime 13 + cstime 14
    expect(parseTicks(stat, self)).toEqual({ busy: 160, total: 970, self: 50 })
  })

  it("counts what other programs use, not fedmesh's own work", () => {
    const before: CpuTicks = { busy: 1000, total: 10_000, self: 100 }
    // 400 busy ticks out of 1,000 on 4 cores: 1.6 cores; fedmesh used 150 of them (0.6 cores).
    const after: CpuTicks = { busy: 1400, total: 11_000, self: 250 }
    expect(ownerBusyCores(before, after, 4)).toBeCloseTo(1.0)
    expect(ownerBusyCores(before, before, 4)).toBeUndefined()
  })
})

describe('HostMonitor', () => {
  it('samples every source, reads presence only every presence interval, and measures load between samples', async () => {
    let now = 0
    let presenceReads = 0
    const ticks: CpuTicks[] = [{ busy: 0, total: 0, self: 0 }, { busy: 500, total: 1000, self: 0 }]
    const samples: unknown[] = []
    const monitor = new HostMonitor({
      clock: { now: () => now },
      cores: 2,
      presenceIntervalMs: 30_000,
      readPower: async () => ({ onBattery: true, batteryPercent: 55 }),
      readPresence: async () => { presenceReads++; return { state: 'active' } },
      readTicks: async () => ticks.shift(),
      onSample: (s) => samples.push(s)
    })
    expect(await monitor.sample()).toEqual({ cores: 2, power: { onBattery: true, batteryPercent: 55 }, presence: { state: 'active' } })
    now = 10_000
    expect(await monitor.sample()).toEqual({ cores: 2, power: { onBattery: true, batteryPercent: 55 }, presence: { state: 'active' }, ownerBusyCores: 1 })
    expect(presenceReads).toBe(1)
    now = 30_000
    await monitor.sample()
    expect(presenceReads).toBe(2)
    expect(samples).toHaveLength(3)
  })
})
