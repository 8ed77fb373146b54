import { OverloadedError } from '../../util/errors.js'
import { rankOf } from '../../core/priority.js'
import type { Priority } from '../../core/priority.js'

/**
 * The admission queue for this node's own tasks (API, CLI, `node.run`). A task goes out to the
 * mesh only while fewer than `window(key)` tasks of its key (kind, or kind and pinned peer) are
 * out; the rest wait here, FIFO per key, and go as tasks finish. So a burst far beyond every slot
 * in the mesh queues locally and drains at the mesh's pace, instead of being pushed at peers
 * that can only refuse it. The queue is bounded (count and input bytes): beyond, submissions are
 * refused at once with an `OverloadedError` (HTTP 503 with Retry-After).
 */

export interface AdmissionInit {
  /**
   * How many tasks of this key may be out at once now. 0 = no eligible slot now (circuit open,
   * reputation, a peer offering no slots): the tasks wait, each until its deadline.
   */
  window: (key: string) => number
  /**
   * Is no node known that could ever take this key's tasks (a kind nobody serves, a pinned peer
   * unknown)? Then a window of 0 lets them go at once, and the dispatcher says why. Default: never.
   */
  unplaceable?: (key: string) => boolean
  /** Tasks waiting at most; beyond, new submissions are refused. Default 10,000. */
  maxWaiting?: number
  /** Input bytes of waiting tasks at most. Default 256 MiB. */
  maxWaitingBytes?: number
  /** While tasks wait, the windows are read again this often (adverts and breakers move them), ms. Default 250. */
  recheckMs?: number
  /** Seconds a refused client is told to wait before trying again (Retry-After). Default 1. */
  retryAfterSeconds?: number
}

/** A task's deadline passed while it waited for its turn. */
export class AdmissionTimeoutError extends Error {
  constructor (readonly timeoutMs: number) {
    super(`no turn within ${timeoutMs} ms`)
    this.name = 'AdmissionTimeoutError'
  }
}

export const DEFAULT_MAX_WAITING = 10_000
export const DEFAULT_MAX_WAITING_BYTES = 256 * 1024 * 1024
const DEFAULT_RECHECK_MS = 250

/** Frees the task's place among those out; idempotent. */
export type Release = () => void

interface Waiter {
  key: string
  rank: number
  bytes: number
  admit: (release: Release) => void
  fail: (err: Error) => void
}

export interface EnterOptions {
  /** Give up waiting (the submitter cancelled). */
  signal?: AbortSignal
  /**
   * Give up waiting after this long, ms (the task's deadline): rejects `AdmissionTimeoutError`.
   * A timer exists only while the task waits; one admitted at once costs none.
   */
  timeoutMs?: number
  /** A task coming back after every peer refused it: first in line (of its priority), and not refused for a full queue (it was accepted). */
  again?: boolean
  /** Its place in line: interactive before normal (default) before batch, FIFO within one. */
  priority?: Priority
}

export class Admission {
  private readonly out = new Map<string, number>()
  private readonly waiting = new Map<string, Waiter[]>()
  private waitingCount = 0
  private waitingBytes = 0
  private readonly maxWaiting: number
  private readonly maxWaitingBytes: number
  private readonly recheckMs: number
  private readonly retryAfterSeconds: number
  private timer: NodeJS.Timeout | undefined
  private closed: Error | undefined

  constructor (private readonly init: AdmissionInit) {
    this.maxWaiting = init.maxWaiting ?? DEFAULT_MAX_WAITING
    this.maxWaitingBytes = init.maxWaitingBytes ?? DEFAULT_MAX_WAITING_BYTES
    this.recheckMs = init.recheckMs ?? DEFAULT_RECHECK_MS
    this.retryAfterSeconds = init.retryAfterSeconds ?? 1
  }

  /** Tasks waiting now. */
  get queued (): number {
    return this.waitingCount
  }

  /** Tasks out now, all keys. */
  get outstanding (): number {
    let n = 0
    for (const v of this.out.values()) n += v
    return n
  }

  /**
   * Check that a task can be queued (throws OverloadedError synchronously, before anything is
   * journaled), then wait for its turn. Resolves with the release to call when it is done.
   */
  enter (key: string, bytes: number, options: EnterOptions = {}): Promise<Release> {
    this.checkRoom(bytes, options.again === true)
    const { signal, timeoutMs } = options
    if (signal?.aborted === true) return Promise.reject(signal.reason)
    const now = this.admitIfFree(key)
    if (now != null) return Promise.resolve(now)
    return new Promise<Release>((resolve, reject) => {
      const onAbort = (): void => {
        if (this.remove(waiter)) reject(signal?.reason ?? new Error('aborted'))
      }
      const timer = timeoutMs == null
        ? undefined
        : setTimeout(() => { if (this.remove(waiter)) reject(new AdmissionTimeoutError(timeoutMs)) }, timeoutMs)
      const done = (): void => {
        signal?.removeEventListener('abort', onAbort)
        clearTimeout(timer)
      }
      const waiter: Waiter = {
        key,
        rank: rankOf(options.priority),
        bytes,
        admit: (release) => { done(); resolve(release) },
        fail: (err) => { done(); reject(err) }
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      const line = this.waiting.get(key) ?? []
      line.splice(placeFor(line, waiter.rank, options.again === true), 0, waiter)
      this.waiting.set(key, line)
      this.waitingCount++
      this.waitingBytes += bytes
      this.pump()
    })
  }

  /**
   * `enter` without the wait: the release when the task is in at once (nobody of its key waits
   * and its window has room; no promise, no timer), undefined when it would have to wait (then
   * `enter`). Throws as `enter` does for a full queue.
   */
  tryEnter (key: string, bytes: number, options: Pick<EnterOptions, 'again'> = {}): Release | undefined {
    this.checkRoom(bytes, options.again === true)
    return this.admitIfFree(key)
  }

  /** Throws when closed, or when the queue is full for a new task. */
  private checkRoom (bytes: number, again: boolean): void {
    if (this.closed != null) throw this.closed
    const full = this.waitingCount >= this.maxWaiting || (this.waitingCount > 0 && this.waitingBytes + bytes > this.maxWaitingBytes)
    if (full && !again) {
      throw new OverloadedError(`${this.waitingCount} tasks already wait for a free slot in the mesh (limit ${this.maxWaiting} tasks, ${this.maxWaitingBytes} bytes of input); try again shortly`, this.retryAfterSeconds)
    }
  }

  /** Nobody waits for this key and its window has room: in at once, no waiter, no timer. */
  private admitIfFree (key: string): Release | undefined {
    if (this.waiting.has(key)) return undefined
    const out = this.out.get(key) ?? 0
    if (out >= this.init.window(key)) return undefined
    this.out.set(key, out + 1)
    return this.releaser(key)
  }

  /** Admit what the windows allow now. Called on every release, and on a timer while tasks wait. */
  pump (): void {
    for (const [key, line] of this.waiting) {
      const window = this.init.window(key)
      const nowhere = window === 0 && this.init.unplaceable?.(key) === true
      while (line.length > 0 && (nowhere || (this.out.get(key) ?? 0) < window)) {
        const waiter = line.shift() as Waiter
        this.forget(waiter)
        this.out.set(key, (this.out.get(key) ?? 0) + 1)
        waiter.admit(this.releaser(key))
      }
      if (line.length === 0) this.waiting.delete(key)
    }
    this.schedule()
  }

  /** Refuse everything waiting and everything new (shutdown). */
  close (reason: Error): void {
    this.closed = reason
    clearInterval(this.timer)
    this.timer = undefined
    for (const line of this.waiting.values()) {
      for (const waiter of line) waiter.fail(reason)
    }
    this.waiting.clear()
    this.waitingCount = 0
    this.waitingBytes = 0
  }

  /** Take new tasks again (a node started after a stop). */
  open (): void {
    this.closed = undefined
  }

  private releaser (key: string): Release {
    let released = false
    return () => {
      if (released) return
      released = true
      const n = (this.out.get(key) ?? 1) - 1
      if (n > 0) this.out.set(key, n)
      else this.out.delete(key)
      this.pump()
    }
  }

  private remove (waiter: Waiter): boolean {
    const line = this.waiting.get(waiter.key)
    const i = line?.indexOf(waiter) ?? -1
    if (line == null || i < 0) return false
    line.splice(i, 1)
    if (line.length === 0) this.waiting.delete(waiter.key)
    this.forget(waiter)
    this.schedule()
    return true
  }

  private forget (waiter: Waiter): void {
    this.waitingCount--
    this.waitingBytes -= waiter.bytes
  }

  /** A timer runs only while tasks wait: windows grow when peers advertise or breakers close. */
  private schedule (): void {
    if (this.waitingCount > 0 && this.timer == null && this.closed == null) {
      this.timer = setInterval(() => { this.pump() }, this.recheckMs)
      this.timer.unref?.()
    } else if (this.waitingCount === 0 && this.timer != null) {
      clearInterval(this.timer)
      this.timer = undefined
    }
  }
}

/**
 * Where a waiter of `rank` goes in a line kept sorted by rank: after the last of its rank (FIFO),
 * or before the first of its rank when it comes `again`.
 */
function placeFor (line: readonly Waiter[], rank: number, again: boolean): number {
  // Lines are short in the common case and appends dominate: search from the end.
  let i = line.length
  while (i > 0 && (again ? line[i - 1].rank >= rank : line[i - 1].rank > rank)) i--
  return i
}

/**
 * Tasks queue per kind (and per pinned peer): a kind few nodes serve does not hold up the others.
 * Each key is made once and the same string returned after: a new one per task was a string to
 * join, flatten and hash at every map it keys (the window's, the queue's, the count out).
 */
export function admissionKey (r: { kind: string, peer?: string }): string {
  const peer = r.peer ?? ''
  let byPeer = KEYS.get(r.kind)
  if (byPeer == null) {
    // Forgotten all at once past the bound: making them again is only slower.
    if (KEYS.size >= MAX_PARSED_KEYS) KEYS.clear()
    byPeer = new Map()
    KEYS.set(r.kind, byPeer)
  }
  let key = byPeer.get(peer)
  if (key == null) {
    if (byPeer.size >= MAX_PARSED_KEYS) byPeer.clear()
    key = `${r.kind}\n${peer}`
    byPeer.set(peer, key)
  }
  return key
}

/** Admission keys by kind, then pinned peer ('' for none). */
const KEYS = new Map<string, Map<string, string>>()

/**
 * The kind and pinned peer of a key. Parsed once per key (every admission asks its window): the
 * keys are few (kinds times pinned peers), the answers shared and frozen.
 */
export function parseAdmissionKey (key: string): Readonly<{ kind: string, peer?: string }> {
  let parsed = PARSED_KEYS.get(key)
  if (parsed == null) {
    const [kind, peer] = key.split('\n')
    parsed = Object.freeze({ kind, peer: peer === '' ? undefined : peer })
    // Forgotten all at once past the bound: parsing again is only slower.
    if (PARSED_KEYS.size >= MAX_PARSED_KEYS) PARSED_KEYS.clear()
    PARSED_KEYS.set(key, parsed)
  }
  return parsed
}

const PARSED_KEYS = new Map<string, Readonly<{ kind: string, peer?: string }>>()
const MAX_PARSED_KEYS = 1_024
