import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'

/** Where Linux lists power supplies (AC adapters, USB, batteries). */
export const DEFAULT_POWER_SUPPLY_DIR = '/sys/class/power_supply'

/** What the power supply says now. */
export interface PowerSignal {
  /** Running on battery: a battery discharges and no AC or USB supply is online. False on a machine without a battery. */
  onBattery: boolean
  /** Charge of the batteries together, 0-100; undefined without a battery (or when unreadable). */
  batteryPercent?: number
}

/**
 * Read `/sys/class/power_supply` (or `root`, for tests): each entry has a `type` (`Mains`,
 * `USB`, `Battery`, …), mains/USB an `online` flag, batteries `capacity` (percent) and `status`
 * (`Charging`, `Discharging`, `Full`, …). Unreadable entries are skipped: a machine whose supply
 * cannot be read counts as on AC, so a restricted sandbox never pauses serving by accident.
 */
export async function readPower (root = DEFAULT_POWER_SUPPLY_DIR): Promise<PowerSignal> {
  let names: string[]
  try {
    names = await readdir(root)
  } catch {
    return { onBattery: false }
  }
  let externalOnline = false
  let sawExternal = false
  let discharging = false
  const charges: number[] = []
  for (const name of names) {
    const type = await readText(join(root, name, 'type'))
    if (type === 'Mains' || type === 'USB' || type === 'USB_C' || type === 'USB_PD') {
      sawExternal = true
      if (await readText(join(root, name, 'online')) === '1') externalOnline = true
    } else if (type === 'Battery') {
      // Peripherals (a mouse's battery) say scope=Device: they do not power this machine.
      if (await readText(join(root, name, 'scope')) === 'Device') continue
      const capacity = Number(await readText(join(root, name, 'capacity')))
      if (Number.isFinite(capacity) && capacity >= 0 && capacity <= 100) charges.push(capacity)
      if (await readText(join(root, name, 'status')) === 'Discharging') discharging = true
    }
  }
  const batteryPercent = charges.length > 0 ? Math.round(charges.reduce((a, b) => a + b, 0) / charges.length) : undefined
  // No AC entry at all (some laptops list only the battery): its status decides.
  const onBattery = charges.length > 0 && !externalOnline && (sawExternal || discharging)
  return { onBattery, ...(batteryPercent != null ? { batteryPercent } : {}) }
}

async function readText (path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim()
  } catch {
    return undefined
  }
}
