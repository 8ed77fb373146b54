/**
 * One anti-entropy session over one stream, the same code on both sides (the protocol is
 * symmetric once the initiator has sent the first RECONCILE):
 *
 * - RECONCILE messages alternate: each side answers the other's with its own, or with DONE when
 *   it has nothing left to ask. The first one each side sends carries its tombstone horizon.
 * - While reconciling, each side pushes ENTRIES for the keys its Reconciler reports in `have`
 *   (batched, bounded bytes per message), ahead of its next RECONCILE or DONE.
 * - A side that received DONE answers DONE (after its last pushes) unless it already sent one.
 *   After DONE a side sends nothing more and closes its side of the stream.
 *
 * Reading never waits for writing and writing never waits for reading, so two sides pushing
 * large batches at each other cannot deadlock on full windows. Received entries are imported
 * (verified, then merged) by a worker that the reader feeds; when more than a bound of bytes
 * waits for it, reading pauses and the peer runs out of window.
 */
import { peerIdFromMultihash } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { timestampToBigInt } from '../../core/hlc.js'
import { InvalidReconcileMessageError, Reconciler, itemHash } from '../../core/reconcile/index.js'
import { CacheEntry } from '../../wire/cache.js'
import { InvalidSyncMessageError, SessionIncompleteError } from './errors.js'
import { MAX_ENTRIES_PER_MESSAGE } from './codec.js'
import type { SyncChannel } from './channel.js'
import type { SyncFrame } from './codec.js'
import type { ItemIndex, Message, ReconcilerInit } from '../../core/reconcile/index.js'
import type { StoredEntry } from '../cache/entry.js'
import type { AbortOptions, Logger } from '@libp2p/interface'

export type SessionRole = 'initiator' | 'responder'

export interface SessionDeps {
  /** This node's reconciliation index (the cache store's, kept current on every write). */
  index: ItemIndex
  /** This node's tombstone horizon now, ms since the epoch. */
  horizonMs: () => number
  /** The stored entries of these keys (keys no longer held are skipped). */
  load: (keys: string[]) => Promise<StoredEntry[]>
  /** Verify and merge entries the peer pushed. */
  import: (wires: Uint8Array[]) => Promise<{ applied: number, rejected: number }>
  reconciler?: ReconcilerInit
  /** Bytes of entries per ENTRIES message we send, at most (one larger entry goes alone). */
  maxEntriesBytes: number
  /** Received entry bytes waiting to be imported before reading pauses. */
  maxPendingImportBytes: number
  log: Logger
}

export interface SessionResult {
  role: SessionRole
  /** Reconciliation messages this side handled (initiate counts as one). */
  rounds: number
  entriesSent: number
  /** Bytes of the entries we pushed (their encoded CacheEntry bytes, without framing). */
  entryBytesSent: number
  entriesReceived: number
  /** Received entries that changed what this node holds. */
  applied: number
  /** Received entries refused: bad signature, undecodable, or a clock too far ahead. */
  rejected: number
  bytesSent: number
  bytesReceived: number
  /** The peer's tombstone horizon, ms since the epoch. */
  peerHorizonMs: number
}

/** Keys loaded from the store per batch when pushing entries. */
const LOAD_BATCH = 256

type Outgoing = { kind: 'push', keys: string[] } | { kind: 'reply', message: Message } | { kind: 'done' }

/** A peer horizon further than this from ours is worth a log line. */
const HORIZON_SKEW_LOG_MS = 60 * 60 * 1000

/**
 * Run a session to its end. The responder passes the initiator's first frame (already read to
 * tell a session from a fetch) and the rest of the frames.
 *
 * @throws InvalidSyncMessageError when the peer breaks the protocol (the caller resets the stream and blames it)
 */
export async function runSession (channel: SyncChannel, role: SessionRole, deps: SessionDeps, options: AbortOptions & { first?: SyncFrame, frames?: AsyncGenerator<SyncFrame, void, undefined> } = {}): Promise<SessionResult> {
  return new Session(channel, role, deps, options).run(options)
}

class Session {
  private readonly reconciler: Reconciler
  /** The peer owes us a RECONCILE or DONE. */
  private awaitingPeer = true
  private sentDone = false
  private gotDone = false
  private peerHorizonMs: number | undefined
  private readonly result: SessionResult
  /** What the writer sends, in order: each round's pushes, then its reply (or DONE). */
  private readonly outbox: Outgoing[] = []
  /**
   * Versions the peer pushed in this session, by key: it holds them, so ours are not sent unless
   * newer (`hash`: the item hash of the bytes it pushed, for a version held in two encodings).
   */
  private readonly received = new Map<string, { hlc: bigint, origin: Uint8Array, hash: Uint8Array }>()
  private wakeWriter: PromiseWithResolvers<void> | undefined
  /** Imports of received entries, in order. */
  private importing: Promise<void> = Promise.resolve()
  private pendingImportBytes = 0
  private importDrained: PromiseWithResolvers<void> | undefined
  private failure: Error | undefined

  constructor (private readonly channel: SyncChannel, private readonly role: SessionRole, private readonly deps: SessionDeps, private readonly options: AbortOptions) {
    this.reconciler = new Reconciler(deps.index, deps.reconciler)
    this.result = { role, rounds: 0, entriesSent: 0, entryBytesSent: 0, entriesReceived: 0, applied: 0, rejected: 0, bytesSent: 0, bytesReceived: 0, peerHorizonMs: 0 }
  }

  async run (input: { first?: SyncFrame, frames?: AsyncGenerator<SyncFrame, void, undefined> }): Promise<SessionResult> {
    const frames = input.frames ?? this.channel.frames()
    if (this.role === 'initiator') this.outbox.push({ kind: 'reply', message: this.reconciler.initiate() })
    const writing = this.write()
    try {
      if (input.first != null) await this.handle(input.first)
      while (!this.gotDone) {
        this.throwIfFailed()
        const next = await frames.next()
        if (next.done === true) throw new SessionIncompleteError()
        await this.handle(next.value)
      }
    } catch (err) {
      this.fail(err as Error)
    } finally {
      // Stop listening: after DONE the peer has nothing more to say in this session.
      await frames.return(undefined).catch(() => {})
    }
    await writing
    await this.importing
    this.throwIfFailed()
    this.result.rounds = this.reconciler.rounds
    this.result.bytesSent = this.channel.bytesSent
    this.result.bytesReceived = this.channel.bytesReceived
    this.result.peerHorizonMs = this.peerHorizonMs ?? 0
    return this.result
  }

  private async handle (frame: SyncFrame): Promise<void> {
    switch (frame.type) {
      case 'reconcile': {
        if (!this.awaitingPeer || this.sentDone) throw new InvalidSyncMessageError('RECONCILE out of turn')
        this.noteHorizon(frame.horizonMs)
        this.awaitingPeer = false
        let answer
        try {
          answer = this.reconciler.respond(frame.message)
        } catch (err) {
          if (err instanceof InvalidReconcileMessageError) throw new InvalidSyncMessageError(err.message)
          throw err
        }
        if (answer.have.length > 0) this.outbox.push({ kind: 'push', keys: answer.have })
        if (answer.reply != null) {
          this.awaitingPeer = true
          this.outbox.push({ kind: 'reply', message: answer.reply })
        } else {
          this.sentDone = true
          this.outbox.push({ kind: 'done' })
        }
        this.wakeWriter?.resolve()
        break
      }
      case 'entries':
        await this.receive(frame.entries)
        break
      case 'done':
        this.noteHorizon(frame.horizonMs)
        this.gotDone = true
        if (!this.sentDone) {
          this.sentDone = true
          this.outbox.push({ kind: 'done' })
          this.wakeWriter?.resolve()
        }
        break
      default:
        throw new InvalidSyncMessageError(`${frame.type.toUpperCase()} inside a session`)
    }
  }

  private noteHorizon (ms: number): void {
    if (this.peerHorizonMs !== undefined) return
    this.peerHorizonMs = ms
    const skew = ms - this.deps.horizonMs()
    if (Math.abs(skew) > HORIZON_SKEW_LOG_MS) this.deps.log('peer horizon differs from ours by %d ms (clock skew or another tombstone grace period)', skew)
  }

  /**
   * The writer. A round's pushes go before its reply: when the reply asks the peer for entries
   * (a need range), the peer has already received ours for that range, so where both sides
   * hold a key it sends its version only if it is newer than ours (see `received`).
   */
  private async write (): Promise<void> {
    try {
      while (this.failure == null) {
        const next = this.outbox[0]
        if (next == null) {
          this.wakeWriter = Promise.withResolvers()
          await this.wakeWriter.promise
          this.wakeWriter = undefined
        } else if (next.kind === 'push') {
          const keys = next.keys.splice(0, LOAD_BATCH)
          if (next.keys.length === 0) this.outbox.shift()
          await this.sendEntries(await this.deps.load(keys))
        } else if (next.kind === 'reply') {
          this.outbox.shift()
          await this.channel.send({ type: 'reconcile', horizonMs: this.deps.horizonMs(), message: next.message }, this.options)
        } else {
          await this.channel.send({ type: 'done', horizonMs: this.deps.horizonMs() }, this.options)
          await this.channel.close(this.options)
          return
        }
      }
    } catch (err) {
      this.fail(err as Error)
    }
  }

  /** ENTRIES messages of at most maxEntriesBytes (a larger entry goes alone) and MAX_ENTRIES_PER_MESSAGE. */
  private async sendEntries (all: StoredEntry[]): Promise<void> {
    // Entries older than the peer's horizon would be refused there (they may be deletes it has
    // forgotten): not worth the bytes, session after session.
    const horizon = this.peerHorizonMs ?? 0
    const entries = all.filter(e => e.version.ts.wallMs >= horizon)
    let batch: Uint8Array[] = []
    let bytes = 0
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return
      const wires = batch
      this.result.entriesSent += wires.length
      this.result.entryBytesSent += bytes
      batch = []
      bytes = 0
      await this.channel.send({ type: 'entries', entries: wires }, this.options)
    }
    for (const entry of entries) {
      if (this.peerHolds(entry)) continue
      const wire = entry.wire
      if (batch.length > 0 && (bytes + wire.byteLength > this.deps.maxEntriesBytes || batch.length >= MAX_ENTRIES_PER_MESSAGE)) await flush()
      batch.push(wire)
      bytes += wire.byteLength
    }
    await flush()
  }

  /**
   * The peer pushed us this key in this session in a newer version than ours, or in ours with the
   * same bytes. The same version in other bytes is sent: the larger encoding wins the store's tie
   * rule, and the peer's filter drops ours if it is not that one.
   */
  private peerHolds (entry: StoredEntry): boolean {
    const theirs = this.received.get(entry.key)
    if (theirs == null) return false
    const ours = timestampToBigInt(entry.version.ts)
    if (theirs.hlc !== ours) return theirs.hlc > ours
    let origin: string
    try {
      origin = peerIdFromMultihash(Digest.decode(theirs.origin)).toString()
    } catch {
      return false
    }
    if (origin !== entry.version.origin) return origin > entry.version.origin
    return equalBytes(theirs.hash, itemHash(entry.key, entry.wire))
  }

  /** Hand entries to the import worker; wait (reading paused) while too many bytes are queued. */
  private async receive (entries: Uint8Array[]): Promise<void> {
    const size = entries.reduce((n, e) => n + e.byteLength, 0)
    this.result.entriesReceived += entries.length
    for (const wire of entries) {
      try {
        const { key, hlc, origin } = CacheEntry.decode(wire)
        this.received.set(key, { hlc, origin, hash: itemHash(key, wire) })
      } catch {} // the import rejects it and blames the peer
    }
    this.pendingImportBytes += size
    this.importing = this.importing.then(async () => {
      if (this.failure != null) return
      try {
        const r = await this.deps.import(entries)
        this.result.applied += r.applied
        this.result.rejected += r.rejected
      } catch (err) {
        this.fail(err as Error)
      } finally {
        this.pendingImportBytes -= size
        if (this.pendingImportBytes <= this.deps.maxPendingImportBytes / 2) this.importDrained?.resolve()
      }
    })
    while (this.pendingImportBytes > this.deps.maxPendingImportBytes && this.failure == null) {
      this.channel.pause()
      this.importDrained = Promise.withResolvers()
      await this.importDrained.promise
      this.importDrained = undefined
    }
    this.channel.resume()
  }

  /** The first failure ends the session: the stream is reset so reader and writer stop too. */
  private fail (err: Error): void {
    if (this.failure != null) return
    this.failure = err
    this.importDrained?.resolve()
    this.wakeWriter?.resolve()
    this.channel.abort(err)
  }

  private throwIfFailed (): void {
    if (this.failure != null) throw this.failure
  }
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0
}
