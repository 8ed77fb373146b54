import type { ServingDoc } from '../node/documents.js'

/** `fedmesh pause`, `resume` and the `serving` lines of `status`. */
export function formatServing (s: ServingDoc): string {
  const head = s.paused
    ? `paused    takes no work from peers: ${s.detail ?? s.reason ?? 'paused'}`
    : s.reason != null
      ? `serving   ${s.slots} of ${s.of} slots to peers: ${s.detail ?? s.reason}`
      : `serving   all ${s.of} slots to peers`
  const g = s.signals
  const power = g.onBattery ? `on battery${g.batteryPercent != null ? ` ${g.batteryPercent} %` : ''}` : `on AC${g.batteryPercent != null ? ` (battery ${g.batteryPercent} %)` : ''}`
  const load = g.ownerBusyCores != null ? `, owner uses ${g.ownerBusyCores.toFixed(1)} of ${g.cores} cores` : ''
  return `${head}\nhost      ${power}, user ${g.presence}${load}`
}

/** The `peers` table's SERVING cell: `all`, `less: REASON` (fewer slots) or `none: REASON` (takes no work); at most 17 characters. */
export function servingCell (c: { paused?: boolean, servingReason?: string } | null | undefined): string {
  if (c == null) return '-'
  if (c.paused === true) return `none: ${c.servingReason ?? 'paused'}`
  return c.servingReason != null ? `less: ${c.servingReason}` : 'all'
}
