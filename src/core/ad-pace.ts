/**
 * How often a node sends its capacity ad when nothing changes. Ads are the routing input and the
 * liveness heartbeat, and they go at once on any change that matters to routers (the queue moved,
 * the node filled up or emptied, a pause or another serving change, idle to busy). Between
 * changes, a node with work (or with some a moment ago) beats every `busyMs`, so its load stays
 * fresh and a cut link is noticed within seconds while tasks are in flight; an idle node beats
 * every `idleMs`: nothing in its ad moves, and on three idle daemons ads every second were most
 * of each link's bytes and of the idle CPU (bench footprint). Every ad carries the gap to the
 * next one (`interval_ms`), so receivers expire it and judge the peer's liveness by that gap.
 */
export interface AdPace {
  /** Gap between periodic ads while the node has work, ms. */
  busyMs: number
  /** Gap between periodic ads while it is idle, ms (never below `busyMs`). */
  idleMs: number
  /** A node is idle once it had no task running or queued for this long, ms. */
  idleAfterMs: number
}

/** Gap until the next periodic ad, given when the node last had work (`undefined`: never). */
export function adGapMs (pace: AdPace, lastBusyAt: number | undefined, now: number): number {
  const busy = lastBusyAt != null && now - lastBusyAt < pace.idleAfterMs
  return busy ? pace.busyMs : Math.max(pace.busyMs, pace.idleMs)
}
