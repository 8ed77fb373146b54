/** The gossipsub topic evidence of wrong results travels on (protocols/evidence.md). */
export const EVIDENCE_TOPIC = '/fedmesh/evidence/1'

/**
 * Evidence examined per sender: each one may cost a local run. Up to three at once (an honest
 * node's checks may catch several wrong peers in a burst, at the start of a mesh), then one
 * every 10 s.
 */
export const EVIDENCE_ALLOWANCE = { burst: 3, intervalMs: 10_000 } as const
