import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/**
 * V8 flags the daemon runs with. `fedmesh daemon` sets them itself once it has started
 * (`applyDaemonFlags`, `v8.setFlagsFromString`), so the README's quick start, `npm start` and a
 * service unit all get them; `fedmesh service install` also writes them into the unit. Measured
 * on idle daemons: set 5 s after start 105 MB resident and a 33 MB heap, the same as on the
 * command line (106 MB); with neither ~142 MB. Set after start-up rather than before it: with
 * them, loading the daemon took ~1.5x as long (2.2-4.3 s against 1.3-2.2 s on a loaded machine),
 * and a slow start makes every test and restart wait. Not for the simulator, whose many
 * in-process nodes allocate fast.
 *
 * - `--max-semi-space-size=1`: a 1 MB young generation instead of V8's default 16 MB per
 *   semi-space: an idle daemon allocates little; ~22 MB less resident memory (142 → 120 MB).
 * - `--optimize-for-size`: V8 favours memory over speed (smaller heap growth steps, less eager
 *   optimisation): an idle daemon's RSS 118 → 106 MB, its heap 42 → 33 MB (bench footprint).
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--optimize-for-size']

/** Switch this process to the daemon's lean heap settings (after start-up: see above). */
export function applyDaemonFlags (): void {
  for (const flag of DAEMON_NODE_FLAGS) setFlagsFromString(flag)
}

/** How long after the daemon has started its start-up code is dropped (`flushIdleCode`). */
export const STARTUP_CODE_FLUSH_DELAY_MS = 5_000

/**
 * Drop the bytecode (and feedback) of every function not running right now, once: V8 compiles
 * again, from the source it keeps, whatever runs later. Start-up runs much code only once
 * (configuration, opening the store, building libp2p and the services), and an idle daemon's
 * heap otherwise keeps it: V8 flushes bytecode only after several full GCs, which an idle daemon
 * seldom makes (ten forced ones flushed nothing). Side by side (bench footprint, done 8 s after
 * start): 83.3 → 80.3 MB, CPU in the default window 0.99 / 1.05 %. `--stress-flush-code` makes
 * the GCs flush regardless of age; it is on only for these two collections (the first flushes,
 * the second frees what the flushed functions held).
 */
export function flushIdleCode (): void {
  // Best effort, from a timer: a Node that ignores flags set at run time must not end the daemon.
  try {
    const exposed = typeof (globalThis as { gc?: unknown }).gc === 'function'
    setFlagsFromString('--expose-gc')
    // Only a context made after --expose-gc has `gc`; this process's own global stays as it was.
    const gc = runInNewContext('gc') as () => void
    // The owner's own --expose-gc stays on.
    if (!exposed) setFlagsFromString('--no-expose-gc')
    setFlagsFromString('--stress-flush-code')
    try {
      gc()
      gc()
    } finally {
      setFlagsFromString('--no-stress-flush-code')
    }
  } catch {}
}
