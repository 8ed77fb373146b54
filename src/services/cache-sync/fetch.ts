/**
 * L3 of the cache: GET one key from peers, FOUND with the entry held for it (if any). One short
 * stream per question: GET → FOUND, then both sides close.
 */
import { InvalidSyncMessageError } from './errors.js'
import type { SyncChannel } from './channel.js'
import type { AbortOptions, PeerId } from '@libp2p/interface'

/** Answer one GET from what this node holds (live, tombstone or expired: the asker merges it). */
export async function serveGet (channel: SyncChannel, key: string, lookup: (key: string) => Promise<Uint8Array | undefined>, options: AbortOptions = {}): Promise<void> {
  const entry = await lookup(key)
  await channel.send(entry == null ? { type: 'found' } : { type: 'found', entry }, options)
  await channel.close(options)
}

/** Ask one peer; undefined when it holds nothing for the key. */
export async function getFrom (channel: SyncChannel, key: string, options: AbortOptions = {}): Promise<Uint8Array | undefined> {
  await channel.send({ type: 'get', key }, options)
  await channel.close(options)
  const frames = channel.frames()
  try {
    const next = await frames.next()
    if (next.done === true) return undefined
    if (next.value.type !== 'found') throw new InvalidSyncMessageError(`${next.value.type.toUpperCase()} in answer to GET`)
    return next.value.entry
  } finally {
    await frames.return(undefined).catch(() => {})
  }
}

export interface FetchInit {
  key: string
  /** Peers to ask, in order of preference (all asked at once). */
  peers: PeerId[]
  ask: (peer: PeerId, key: string, options: AbortOptions) => Promise<Uint8Array | undefined>
  /**
   * Take in one answer (the cache's intake, path `fetch`: verified, skew-checked, authorized,
   * merged); true when it was usable. The intake blames the peer for a bad entry.
   */
  accept: (peer: PeerId, wire: Uint8Array) => Promise<boolean>
  /** A peer broke the protocol (not FOUND in answer to GET, undecodable). */
  onInvalid: (peer: PeerId, why: string) => void
  signal?: AbortSignal
}

/**
 * Ask every peer at once; the first answer the cache takes in wins and the other questions are
 * cancelled. False when nobody holds the key (or every answer was refused, or the signal fired
 * first).
 */
export async function fetchFirst (init: FetchInit): Promise<boolean> {
  if (init.peers.length === 0) return false
  const controller = new AbortController()
  const signal = init.signal != null ? AbortSignal.any([init.signal, controller.signal]) : controller.signal
  try {
    return await new Promise<boolean>((resolve) => {
      let left = init.peers.length
      const settle = (): void => { if (--left === 0) resolve(false) }
      signal.addEventListener('abort', () => { resolve(false) }, { once: true })
      for (const peer of init.peers) {
        init.ask(peer, init.key, { signal })
          .then(async (wire) => {
            if (wire != null && await init.accept(peer, wire)) resolve(true)
          })
          .catch((err: Error) => {
            if (err instanceof InvalidSyncMessageError) init.onInvalid(peer, err.message)
          })
          .finally(settle)
      }
    })
  } finally {
    controller.abort()
  }
}
