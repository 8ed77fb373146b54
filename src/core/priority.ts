/**
 * Task priorities: `interactive` before `normal` before `batch`, first come first served within
 * one. On the wire (task.proto `priority`) a number, so an unknown future value decodes as
 * `normal` instead of failing the frame: 0 normal (what old peers send), 1 interactive, 2 batch.
 */

export type Priority = 'interactive' | 'normal' | 'batch'

export const PRIORITIES: readonly Priority[] = ['interactive', 'normal', 'batch']

export const DEFAULT_PRIORITY: Priority = 'normal'

/** Lower runs first. */
export const PRIORITY_RANK: Readonly<Record<Priority, number>> = { interactive: 0, normal: 1, batch: 2 }

const TO_WIRE: Readonly<Record<Priority, number>> = { normal: 0, interactive: 1, batch: 2 }
const FROM_WIRE: readonly Priority[] = ['normal', 'interactive', 'batch']

export function priorityToWire (p: Priority | undefined): number {
  return TO_WIRE[p ?? DEFAULT_PRIORITY]
}

export function priorityFromWire (n: number | undefined): Priority {
  return FROM_WIRE[n ?? 0] ?? DEFAULT_PRIORITY
}

export function isPriority (v: unknown): v is Priority {
  return typeof v === 'string' && (PRIORITIES as readonly string[]).includes(v)
}

export function rankOf (p: Priority | undefined): number {
  return PRIORITY_RANK[p ?? DEFAULT_PRIORITY]
}
