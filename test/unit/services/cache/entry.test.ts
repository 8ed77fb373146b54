import { beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { DEFAULT_MAX_VALUE_BYTES, InvalidEntryError, MAX_KEY_BYTES, MAX_TTL_SECONDS, formatVersion, fromStoredBytes, signEntry, verifyEntry } from '../../../../src/services/cache/entry.js'
import { CacheEntry as WireEntry } from '../../../../src/wire/cache.js'
import { identity, signed, utf8 } from '../../../helpers/unit-cache.js'
import type { Identity } from '../../../helpers/unit-cache.js'
import type { StoredEntry } from '../../../../src/services/cache/entry.js'

const NOW = 1_700_000_000_000
let alice: Identity
let mallory: Identity

beforeAll(async () => {
  alice = await identity()
  mallory = await identity()
})

/** Decode the wire bytes, change fields, encode again (the signature is kept as it was). */
function tamper (e: StoredEntry, change: (w: WireEntry) => WireEntry): Uint8Array {
  return WireEntry.encode(change(WireEntry.decode(e.wire)))
}

/** The bytes the origin signs (cache.proto): a domain prefix, then the entry without its signature. */
function signedBytes (w: WireEntry): Uint8Array {
  const domain = new TextEncoder().encode('fedmesh/cache-entry/1\n')
  const body = WireEntry.encode({ ...w, signature: new Uint8Array(0) })
  const out = new Uint8Array(domain.byteLength + body.byteLength)
  out.set(domain)
  out.set(body, domain.byteLength)
  return out
}

async function rejection (bytes: Uint8Array, maxValueBytes = DEFAULT_MAX_VALUE_BYTES): Promise<InvalidEntryError> {
  try {
    await verifyEntry(bytes, maxValueBytes)
  } catch (err) {
    if (err instanceof InvalidEntryError) return err
    throw new Error(`expected InvalidEntryError, got ${String(err)}`)
  }
  throw new Error('expected a rejection, the entry verified')
}

describe('signEntry / verifyEntry', () => {
  it('round-trips a signed entry with its version, TTL and origin', async () => {
    const e = await signed(alice, { key: 'user/42', value: 'hello', wallMs: NOW, counter: 7, ttlSeconds: 60 })
    const v = await verifyEntry(e.wire, DEFAULT_MAX_VALUE_BYTES)
    expect(v.key).toBe('user/42')
    expect(utf8(v.value)).toBe('hello')
    expect(v.version).toEqual({ ts: { wallMs: NOW, counter: 7 }, origin: alice.peerId.toString() })
    expect(v.tombstone).toBe(false)
    expect(v.expiresAtMs).toBe(NOW + 60_000)
    expect(v.wire).toEqual(e.wire)
    expect(formatVersion(v.version)).toBe(`${NOW}-7`)
    expect(fromStoredBytes(e.wire)).toMatchObject({ key: 'user/42', version: v.version })
  })

  it('round-trips a tombstone, which has no expiry without a TTL', async () => {
    const e = await signed(alice, { key: 'k', wallMs: NOW, tombstone: true })
    const v = await verifyEntry(e.wire, DEFAULT_MAX_VALUE_BYTES)
    expect(v.tombstone).toBe(true)
    expect(v.value.byteLength).toBe(0)
    expect(v.expiresAtMs).toBeUndefined()
  })

  it('refuses the same signed content in other bytes (a relay cannot re-encode an entry)', async () => {
    const e = await signed(alice, { key: 'k', wallMs: NOW, tombstone: true })
    // The tombstone flag (field 6, varint) sent as 3 instead of 1: it decodes to the same entry.
    const flag = Buffer.from(e.wire).indexOf(Buffer.from([0x30, 0x01]))
    expect(flag).toBeGreaterThanOrEqual(0)
    const as3 = Uint8Array.from(e.wire)
    as3[flag + 1] = 0x03
    expect(WireEntry.decode(as3).tombstone).toBe(true)
    // An unknown field appended: the decoder skips it.
    const extra = Uint8Array.from([...e.wire, 0x78, 0x01])
    for (const bytes of [as3, extra]) {
      const err = await rejection(bytes)
      expect(err.forged).toBe(false)
      expect(err.message).toMatch(/canonical/)
    }
  })

  describe('forgeries are rejected with forged: true', () => {
    it('a flipped value byte', async () => {
      const e = await signed(alice, { key: 'k', value: 'pay alice 10', wallMs: NOW })
      const bytes = tamper(e, w => ({ ...w, value: new TextEncoder().encode('pay alice 99') as Uint8Array<ArrayBuffer> }))
      expect((await rejection(bytes)).forged).toBe(true)
    })

    it('a flipped signature byte', async () => {
      const e = await signed(alice, { key: 'k', value: 'v', wallMs: NOW })
      const bytes = tamper(e, w => { const signature = w.signature.slice(); signature[10] ^= 1; return { ...w, signature } })
      expect((await rejection(bytes)).forged).toBe(true)
    })

    it('a newer version or a changed key, tombstone flag or TTL under the old signature', async () => {
      const e = await signed(alice, { key: 'k', value: 'v', wallMs: NOW })
      const changes: Array<(w: WireEntry) => WireEntry> = [
        w => ({ ...w, hlc: w.hlc + 1n }),
        w => ({ ...w, key: 'other' }),
        w => ({ ...w, ttlSeconds: 1 }),
        w => ({ ...w, value: new Uint8Array(0), tombstone: true })
      ]
      for (const change of changes) expect((await rejection(tamper(e, change))).forged).toBe(true)
    })

    it('an entry naming another peer as origin, signed by someone else', async () => {
      const claimed = await signEntry(mallory.key, alice.peerId, { key: 'k', value: new TextEncoder().encode('evil'), ts: { wallMs: NOW, counter: 0 }, ttlSeconds: 0, tombstone: false })
      expect((await rejection(claimed.wire)).forged).toBe(true)
    })

    it("another peer's entry re-signed by someone else", async () => {
      const e = await signed(alice, { key: 'k', value: 'v', wallMs: NOW })
      const w = WireEntry.decode(e.wire)
      const signature = await mallory.key.sign(signedBytes(w))
      const bytes = WireEntry.encode({ ...w, signature: signature as Uint8Array<ArrayBuffer> })
      expect((await rejection(bytes)).forged).toBe(true)
    })

    it('whereas taking the entry over as its own origin is a new, legitimate write by that peer', async () => {
      const e = await signed(alice, { key: 'k', value: 'v', wallMs: NOW })
      const w = { ...WireEntry.decode(e.wire), origin: mallory.peerId.toMultihash().bytes as Uint8Array<ArrayBuffer> }
      const signature = await mallory.key.sign(signedBytes(w))
      const v = await verifyEntry(WireEntry.encode({ ...w, signature: signature as Uint8Array<ArrayBuffer> }), DEFAULT_MAX_VALUE_BYTES)
      expect(v.version.origin).toBe(mallory.peerId.toString())
    })
  })

  describe('limits are rejected without forged', () => {
    const rows: Array<[string, () => Promise<Uint8Array>, RegExp, number?]> = [
      ['an empty key', async () => (await signed(alice, { key: '', value: 'v', wallMs: NOW })).wire, /key/],
      ['a key over MAX_KEY_BYTES in UTF-8', async () => (await signed(alice, { key: 'é'.repeat(MAX_KEY_BYTES / 2 + 1), value: 'v', wallMs: NOW })).wire, /key/],
      ['a value over the limit', async () => (await signed(alice, { key: 'k', value: new Uint8Array(17), wallMs: NOW })).wire, /value too large/, 16],
      ['a tombstone with a value', async () => (await signed(alice, { key: 'k', value: 'v', wallMs: NOW, tombstone: true })).wire, /tombstone/],
      ['version 0', async () => (await signed(alice, { key: 'k', value: 'v', wallMs: 0 })).wire, /version/],
      ['a TTL over a year', async () => (await signed(alice, { key: 'k', value: 'v', wallMs: NOW, ttlSeconds: MAX_TTL_SECONDS + 1 })).wire, /ttl/],
      ['no origin', async () => tamper(await signed(alice, { key: 'k', wallMs: NOW }), w => ({ ...w, origin: new Uint8Array(0) })), /origin/],
      ['an origin that is not a peer id', async () => tamper(await signed(alice, { key: 'k', wallMs: NOW }), w => ({ ...w, origin: new Uint8Array([1, 2, 3]) })), /origin/],
      ['an origin without an inline key (RSA-style hash)', async () => tamper(await signed(alice, { key: 'k', wallMs: NOW }), w => ({ ...w, origin: new Uint8Array([0x12, 0x20, ...new Uint8Array(32).fill(7)]) })), /inline public key/],
      ['no signature', async () => tamper(await signed(alice, { key: 'k', wallMs: NOW }), w => ({ ...w, signature: new Uint8Array(0) })), /signature/],
      ['a huge signature', async () => tamper(await signed(alice, { key: 'k', wallMs: NOW }), w => ({ ...w, signature: new Uint8Array(129) })), /signature/],
      ['bytes far over the size limit', async () => new Uint8Array(DEFAULT_MAX_VALUE_BYTES + 1024), /too large/],
      ['bytes that do not decode', async () => new Uint8Array([0x0a, 0xff]), /undecodable/]
    ]
    it.each(rows)('%s', async (_name, make, reason, maxValueBytes) => {
      const err = await rejection(await make(), maxValueBytes)
      expect(err.message).toMatch(reason)
      expect(err.forged).toBe(false)
    })

    it('values and keys at exactly the limits pass', async () => {
      const e = await signed(alice, { key: 'k'.repeat(MAX_KEY_BYTES), value: new Uint8Array(16), wallMs: NOW, ttlSeconds: MAX_TTL_SECONDS })
      await expect(verifyEntry(e.wire, 16)).resolves.toMatchObject({ key: 'k'.repeat(MAX_KEY_BYTES) })
    })
  })

  describe('never throws anything but InvalidEntryError', () => {
    it('on arbitrary bytes', async () => {
      await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async bytes => {
        await verifyEntry(bytes, 1024).then(() => { throw new Error('random bytes verified') }, (err: unknown) => {
          expect(err).toBeInstanceOf(InvalidEntryError)
        })
      }), { numRuns: 10_000 })
    })

    it('on well-formed entries with arbitrary fields, origins and signatures', async () => {
      const origins = [alice.peerId.toMultihash().bytes, mallory.peerId.toMultihash().bytes, new Uint8Array([0, 0]), new Uint8Array(0)]
      const wire = fc.record({
        key: fc.string({ maxLength: 40 }),
        value: fc.uint8Array({ maxLength: 40 }),
        hlc: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        origin: fc.oneof(fc.constantFrom(...origins), fc.uint8Array({ maxLength: 70 })),
        ttlSeconds: fc.integer({ min: 0, max: 0xffff_ffff }),
        tombstone: fc.boolean(),
        signature: fc.uint8Array({ maxLength: 140 })
      })
      await fc.assert(fc.asyncProperty(wire, async w => {
        const bytes = WireEntry.encode(w as WireEntry)
        await verifyEntry(bytes, 1024).then(() => { throw new Error('an entry with a random signature verified') }, (err: unknown) => {
          expect(err).toBeInstanceOf(InvalidEntryError)
        })
      }), { numRuns: 3_000 })
    })

    it('on mutations of a real signed entry: it either fails, or verifies to exactly what alice signed', async () => {
      const e = await signed(alice, { key: 'config/x', value: 'the value', wallMs: NOW, counter: 3, ttlSeconds: 600 })
      const mutation = fc.array(fc.record({ at: fc.nat(), op: fc.constantFrom('flip', 'cut', 'insert'), byte: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 3 })
      await fc.assert(fc.asyncProperty(mutation, async ms => {
        let bytes: Uint8Array = e.wire
        for (const m of ms) {
          const at = bytes.byteLength === 0 ? 0 : m.at % bytes.byteLength
          if (m.op === 'flip' && bytes.byteLength > 0) { bytes = bytes.slice(); bytes[at] ^= m.byte | 1 }
          if (m.op === 'cut') bytes = bytes.subarray(0, at)
          if (m.op === 'insert') bytes = new Uint8Array([...bytes.subarray(0, at), m.byte, ...bytes.subarray(at)])
        }
        let v: StoredEntry
        try {
          v = await verifyEntry(bytes, 1024)
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidEntryError)
          return
        }
        expect({ key: v.key, value: utf8(v.value), version: v.version, tombstone: v.tombstone, ttl: v.ttlSeconds })
          .toEqual({ key: e.key, value: 'the value', version: e.version, tombstone: false, ttl: 600 })
      }), { numRuns: 3_000 })
    })
  })
})
