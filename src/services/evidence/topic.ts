/** The gossipsub topic evidence of wrong results travels on (protocols/evidence.md). */
export const EVIDENCE_TOPIC = '/fedmesh/evidence/1'
