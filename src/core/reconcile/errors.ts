/** Errors of range-based set reconciliation. Each has a stable `name`. */

/** An item handed to the index is malformed (a caller bug, not a peer's fault). */
export class InvalidItemError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'InvalidItemError'
  }
}

/** A peer sent a reconciliation message that breaks the protocol; end the session. */
export class InvalidReconcileMessageError extends Error {
  constructor (message: string) {
    super(`invalid reconciliation message: ${message}`)
    this.name = 'InvalidReconcileMessageError'
  }
}

/** A session did not finish within its round limit; end it (the next connection retries). */
export class ReconcileRoundLimitError extends Error {
  constructor (readonly maxRounds: number) {
    super(`set reconciliation did not finish within ${maxRounds} rounds`)
    this.name = 'ReconcileRoundLimitError'
  }
}
