import { setFlagsFromString } from 'node:v8'

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
