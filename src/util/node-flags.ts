/**
 * Node/V8 flags the daemon runs with where fedmesh starts it (`npm start`, `fedmesh service
 * install`, `bench footprint`). A 1 MB young generation instead of V8's default 16 MB per
 * semi-space: an idle daemon allocates little, and this measured ~22 MB less resident memory
 * after importing fedmesh (142 → 120 MB) at no visible CPU cost for an idle node. Not for the
 * simulator, whose many in-process nodes allocate fast.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1']
