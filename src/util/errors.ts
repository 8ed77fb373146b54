/**
 * fedmesh's own error classes. Each has a stable `name` so callers (and the control API) can
 * map them to a status code without string matching on messages.
 */

/** The user's input (a flag, a config key, a request body) is wrong; shown as one sentence. */
export class ConfigError extends Error {
  constructor (message: string, readonly key?: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

/** Another process holds the LevelDB lock of the data dir. */
export class StoreLockedError extends Error {
  constructor (readonly dir: string) {
    super(`the data dir ${dir} is in use by another fedmesh daemon (its LevelDB store is locked)`)
    this.name = 'StoreLockedError'
  }
}

/** The store was written by an incompatible version of fedmesh. */
export class StoreVersionError extends Error {
  constructor (readonly dir: string, readonly found: string, readonly expected: string) {
    super(`the store in ${dir} has layout version ${found}; this fedmesh expects ${expected}`)
    this.name = 'StoreVersionError'
  }
}

/** A request to the node is malformed or out of bounds (maps to HTTP 400). */
export class BadRequestError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'BadRequestError'
  }
}

/** A request was too large (maps to HTTP 413). */
export class TooLargeError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'TooLargeError'
  }
}

/** Something asked for does not exist (maps to HTTP 404). */
export class NotFoundError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'NotFoundError'
  }
}

/** The node refuses work because it is full or stopping (maps to HTTP 503, with Retry-After when known). */
export class OverloadedError extends Error {
  constructor (message: string, readonly retryAfterSeconds?: number) {
    super(message)
    this.name = 'OverloadedError'
  }
}

/** This node or the asking peer lacks the role or permission (maps to HTTP 403). */
export class ForbiddenError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'ForbiddenError'
  }
}

/**
 * A cache write was refused because this node's clock disagrees with its peers' (maps to HTTP
 * 503: it succeeds once the clock is fixed, or in a moment when the node is re-dating).
 */
export class ClockSkewError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'ClockSkewError'
  }
}

/** A cache write was refused by the node's authorization policy (maps to HTTP 403). */
export class CacheWriteRefusedError extends Error {
  constructor (readonly reason: string, detail?: string) {
    super(`cache write refused: ${detail ?? reason}`)
    this.name = 'CacheWriteRefusedError'
  }
}

/**
 * The disk holding the store is full: the write was not made (maps to HTTP 507). The store
 * refuses writes until space is back, then resumes by itself.
 */
export class StorageFullError extends Error {
  constructor (message = 'no space left on device: the write was not made; writes resume by themselves once space is freed') {
    super(message)
    this.name = 'StorageFullError'
  }
}

/**
 * The disk holding the store failed a write (an I/O error other than a full disk): the write was
 * not made (maps to HTTP 507). Writes resume once a probe write succeeds again.
 */
export class StorageFaultError extends Error {
  constructor (message = 'the store could not write to disk: the write was not made; writes resume by themselves once the disk works again') {
    super(message)
    this.name = 'StorageFaultError'
  }
}

/** Message of any thrown value, for one-line user-facing reports. */
export function errorMessage (err: unknown): string {
  if (err instanceof Error) return err.message
  return String(err)
}
