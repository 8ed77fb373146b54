/**
 * L3 of the cache: GET one key from peers, FOUND with the entry held for it (if any). One short
 * stream per question: GET → FOUND, then both sides close.
 */
import { verifyEntry } from '../cache/entry.js'
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
  maxValueBytes: number
  /** A peer answered with something that is not a valid entry for the key. */
  onInvalid: (peer: PeerId, why: string) => void
  signal?: AbortSignal
}

/**
 * Ask every peer at once; the first answer that is a valid, correctly signed entry for the key
 * wins and the other questions are cancelled. Undefined when nobody holds the key (or every
 * answer was bad, or the signal fired first).
 */
export async function fetchFirst (init: FetchInit): Promise<Uint8Array | undefined> {
  if (init.peers.length === 0) return undefined
  const controller = new AbortController()
  const signal = init.signal != null ? AbortSignal.any([init.signal, controller.signal]) : controller.signal
  try {
    return await new Promise<Uint8Array | undefined>((resolve) => {
      let left = init.peers.length
      const settle = (): void => { if (--left === 0) resolve(undefined) }
      signal.addEventListener('abort', () => { resolve(undefined) }, { once: true })
      for (const peer of init.peers) {
        init.ask(peer, init.key, { signal })
          .then(async (wire) => {
            if (wire == null) return
            const entry = await verifyEntry(wire, init.maxValueBytes).catch((err: Error) => {
              init.onInvalid(peer, err.message)
              return undefined
            })
            if (entry == null) return
            if (entry.key !== init.key) {
              init.onInvalid(peer, 'answered GET with an entry for another key')
              return
            }
            resolve(wire)
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
