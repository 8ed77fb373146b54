/** Errors of /fedmesh/cache-sync/1.0.0. Each has a stable `name`. */

/**
 * A peer sent something that breaks the protocol (undecodable, over a limit, out of turn): the
 * stream is reset and the peer loses reputation.
 */
export class InvalidSyncMessageError extends Error {
  constructor (message: string) {
    super(`invalid cache-sync message: ${message}`)
    this.name = 'InvalidSyncMessageError'
  }
}

/**
 * The responder declined a session (it already runs one with this peer, or as many as it
 * allows): the stream was reset without blame and the initiator tries again later.
 */
export class SyncBusyError extends Error {
  constructor (message = 'the peer declined the session (busy)') {
    super(message)
    this.name = 'SyncBusyError'
  }
}

/** The stream ended before both sides had said DONE. */
export class SessionIncompleteError extends Error {
  constructor (message = 'the sync stream ended before the session was done') {
    super(message)
    this.name = 'SessionIncompleteError'
  }
}
