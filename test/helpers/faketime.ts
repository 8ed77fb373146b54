/**
 * Daemons whose wall clock is off, through Debian's libfaketime (LD_PRELOAD): `Date.now()` moves,
 * the monotonic clock (timers, performance.now()) does not. `.ci/run` installs the package.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { DAY, MINUTE } from '../../src/util/time.js'

export const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1'

/** Environment that shifts a process's wall clock by `offset` (libfaketime syntax, e.g. `+1d`). */
export function skewedClockEnv (offset: string): Record<string, string> {
  return { LD_PRELOAD: LIBFAKETIME, FAKETIME: offset, FAKETIME_DONT_FAKE_MONOTONIC: '1' }
}

/** Why skewed-clock tests cannot run here, or undefined when they can. */
export function faketimeUnavailable (): string | undefined {
  if (!existsSync(LIBFAKETIME)) return `${LIBFAKETIME} is missing (apt-get install faketime)`
  // The daemon runs on this very binary: check the preload really moves its Date.now().
  const before = Date.now()
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(Date.now()))'], { env: { ...process.env, ...skewedClockEnv('+1d') }, encoding: 'utf8', timeout: 10_000 })
  const shift = Number(r.stdout) - before
  if (r.status !== 0 || !(Math.abs(shift - DAY) < MINUTE)) return `libfaketime does not move Date.now() in ${process.execPath} (shift ${shift} ms)`
  return undefined
}
