import type { EventDraft, EventLevel, EventType } from './events.js'

/**
 * How loud each event is and the sentence it reads as. Per-task placement details are `debug`
 * (a busy node makes thousands a second); what an operator asks about — peers coming and
 * going, bans, refusals, mode changes, tasks finished and served for whom — is `info` or louder.
 */
const LEVELS: Record<EventType, EventLevel> = {
  'peer:connected': 'info',
  'peer:disconnected': 'info',
  'peer:refused': 'warn',
  'peer:banned': 'warn',
  'member:revoked': 'warn',
  'mode:changed': 'info',
  'task:submitted': 'debug',
  'task:started': 'debug',
  'task:routed': 'debug',
  'task:failed-over': 'info',
  'task:finished': 'info',
  'task:served': 'info',
  'task:spot-checked': 'debug',
  'evidence:examined': 'info',
  'cache:conflict': 'debug',
  'cache:refused': 'warn',
  'storage:failed': 'error',
  'storage:recovered': 'info',
  'host:paused': 'info',
  'host:capped': 'info',
  'host:resumed': 'info'
}

export function eventLevel (e: EventDraft): EventLevel {
  // A failed task is worth a look; a finished one is routine.
  if (e.type === 'task:finished' && e.status === 'error') return 'warn'
  // Served for whom matters when it is someone else; this node's own runs are routine.
  if (e.type === 'task:served' && e.origin === 'local') return 'debug'
  // A peer caught returning a wrong result, or runs that cannot be reconciled, need a look.
  if (e.type === 'task:spot-checked' && (e.verdict === 'wrong-result' || e.verdict === 'disputed')) return 'warn'
  if (e.type === 'evidence:examined' && e.verdict === 'applied') return 'warn'
  if (e.type === 'evidence:examined' && e.verdict === 'unverifiable') return 'debug'
  return LEVELS[e.type]
}

/** A peer as a person reads it: its name when known, and its id's ends; `self` reads "this node". */
export function peerLabel (peerId: string, name?: string, self?: string): string {
  if (self != null && peerId === self) return 'this node'
  const id = peerId.length > 16 ? `${peerId.slice(0, 6)}…${peerId.slice(-6)}` : peerId
  return name == null || name === '' ? id : `${name} (${id})`
}

function ms (n: number): string {
  return n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(1)} s`
}

function task (taskId: string, kind: string): string {
  return `${kind} task ${taskId.slice(0, 8)}`
}

/** The sentence an event reads as; `self` is this node's peer id, `nameOf` finds peers' names. */
export function eventMessage (e: EventDraft, self?: string, nameOf?: (peer: string) => string | undefined): string {
  const peer = (id: string, name?: string): string => peerLabel(id, name ?? nameOf?.(id), self)
  switch (e.type) {
    case 'peer:connected': return `peer ${peer(e.peer, e.name)} connected (${e.direction}, ${e.connection})`
    case 'peer:disconnected': return `peer ${peer(e.peer, e.name)} disconnected`
    case 'peer:refused': return `refused peer ${peer(e.peer)}: ${e.reason}`
    case 'peer:banned': return `banned peer ${peer(e.peer, e.name)} (reputation ${e.score.toFixed(0)})${e.until != null ? ` until ${e.until}` : ''}`
    case 'member:revoked': return `member ${peer(e.peer)} revoked: cut off`
    case 'mode:changed': return e.to === 'solo' ? 'no live peer: running solo' : 'a peer is live: federated'
    case 'task:submitted': return `${task(e.taskId, e.kind)} submitted${e.pinnedPeer != null ? ` for ${peer(e.pinnedPeer)}` : ''}`
    case 'task:started': return `${task(e.taskId, e.kind)} got a slot after ${ms(e.waitedMs)}`
    case 'task:routed': return `${task(e.taskId, e.kind)} attempt ${e.attempt}: ${e.reason}${e.peers.length > 0 ? ` → ${e.peers.map(p => peer(p)).join(', ')}` : ''}`
    case 'task:failed-over': return `${task(e.taskId, e.kind)} failed over from ${e.from.map(p => peer(p)).join(', ')} (attempt ${e.attempt})`
    case 'task:finished': return e.status === 'ok'
      ? `${task(e.taskId, e.kind)} done on ${peer(e.peer, e.peerName)} in ${ms(e.durationMs)}`
      : `${task(e.taskId, e.kind)} failed (${e.errorCode ?? 'error'}) after ${ms(e.durationMs)}: ${e.error ?? ''}`
    case 'task:spot-checked': return e.verdict === 'wrong-result'
      ? `spot check of ${task(e.taskId, e.kind)}: peer ${peer(e.wrong ?? '')} returned a wrong result (runs on ${e.peers.map(p => peer(p)).join(', ')}); the agreed one was returned`
      : `spot check of ${task(e.taskId, e.kind)}: ${e.verdict}${e.detail != null ? ` (${e.detail})` : ''} on ${e.peers.map(p => peer(p)).join(', ')}`
    case 'evidence:examined': return e.verdict === 'applied'
      ? `evidence from ${peer(e.from)} on kind ${e.kind}: this node's own run proves ${e.wrong.map(p => peer(p)).join(', ')} returned a wrong result`
      : `evidence from ${peer(e.from)} on kind ${e.kind}: ${e.verdict}${e.detail != null ? ` (${e.detail})` : ''}`
    case 'task:served': return `ran ${task(e.taskId, e.kind)} for ${e.origin === 'local' ? 'this node' : peer(e.origin, e.originName)}: ${e.status === 'ok' ? 'ok' : e.errorCode ?? 'error'} in ${ms(e.runMs)}`
    case 'cache:conflict': return `cache key "${e.key}": ${peer(e.winner)}'s version replaced ${peer(e.loser)}'s (last writer wins)`
    case 'cache:refused': return `refused cache entry "${e.key}" by ${peer(e.writer)}${e.from != null && e.from !== e.writer ? ` from ${peer(e.from)}` : ''} (${e.reason})`
    case 'storage:failed': return `storage failed, refusing writes until it recovers: ${e.error}`
    case 'storage:recovered': return `storage recovered, writes accepted again after ${ms(e.downMs)}`
    case 'host:paused': return `paused: takes no work from peers (${e.detail ?? e.reason})${e.until != null ? ` until ${e.until}` : ''}`
    case 'host:capped': return `serving peers ${e.slots} of ${e.of} slots (${e.detail ?? e.reason})`
    case 'host:resumed': return `serving peers every slot again (was ${e.after})`
  }
}
