/**
 * V8 flags the daemon runs with. `fedmesh daemon` sets them itself at its very start
 * (bin/fedmesh.js, `v8.setFlagsFromString` before anything is loaded and before the heap has
 * grown), so the README's quick start, `npm start` and a service unit all get them; `fedmesh
 * service install` also writes them into the unit. Measured on three idle daemons: set that way
 * 108-110 MB resident, the same as on the command line; with neither ~142 MB. (Set late alone,
 * `--max-semi-space-size` has no effect (157 MB): `--optimize-for-size` sizes the young
 * generation down itself.) Not for the simulator, whose many in-process nodes allocate fast.
 *
 * - `--max-semi-space-size=1`: a 1 MB young generation instead of V8's default 16 MB per
 *   semi-space: an idle daemon allocates little; ~22 MB less resident memory (142 → 120 MB).
 * - `--optimize-for-size`: V8 favours memory over speed (smaller heap growth steps, less eager
 *   optimisation): an idle daemon's RSS 118 → 106 MB, its heap 42 → 33 MB (bench footprint).
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--optimize-for-size']
