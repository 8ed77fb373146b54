import { describe, expect, it } from 'vitest'
import { MAX_RANGES_PER_MESSAGE, messageSize, validateMessage } from '../../../../src/core/reconcile/message.js'
import { InvalidReconcileMessageError } from '../../../../src/core/reconcile/errors.js'
import type { Message, Range } from '../../../../src/core/reconcile/message.js'

const fp = new Uint8Array(16)

describe('reconciliation messages', () => {
  it('estimate their encoded size from bounds, fingerprints, hashes and bitfields', () => {
    expect(messageSize({ ranges: [] })).toBe(0)
    // framing 3 + bound (tag, length, 3 bytes)
    expect(messageSize({ ranges: [{ mode: 'skip', upper: 'abc' }] })).toBe(3 + 5)
    // framing 3 + fingerprint (tag, length, 16) + count (tag, varint 300 = 2 bytes)
    expect(messageSize({ ranges: [{ mode: 'fingerprint', fingerprint: fp, count: 300 }] })).toBe(3 + 18 + 3)
    // 'é' and '😀' are 2 and 4 bytes in UTF-8
    expect(messageSize({ ranges: [{ mode: 'items', upper: 'é😀', hashes: new Uint8Array(160) }] })).toBe(3 + 8 + 163)
    expect(messageSize({ ranges: [{ mode: 'need', upper: 'b', bitfield: new Uint8Array(2) }] })).toBe(3 + 3 + 4)
  })

  it('accept a well-formed message', () => {
    const msg: Message = {
      ranges: [
        { mode: 'skip', upper: 'a' },
        { mode: 'fingerprint', upper: 'b', fingerprint: fp, count: 3 },
        { mode: 'items', upper: 'c', hashes: new Uint8Array(32) },
        { mode: 'need', bitfield: new Uint8Array(1) }
      ]
    }
    expect(() => { validateMessage(msg) }).not.toThrow()
  })

  it('reject what breaks the protocol', () => {
    const bad: Array<readonly Range[]> = [
      [{ mode: 'skip', upper: '' }],
      [{ mode: 'skip', upper: 'b' }, { mode: 'skip', upper: 'a' }],
      [{ mode: 'skip', upper: 'b' }, { mode: 'skip', upper: 'b' }],
      [{ mode: 'skip' }, { mode: 'skip', upper: 'z' }],
      [{ mode: 'skip', upper: '\udc00' }],
      [{ mode: 'fingerprint', fingerprint: new Uint8Array(8), count: 1 }],
      [{ mode: 'fingerprint', fingerprint: fp, count: -1 }],
      [{ mode: 'fingerprint', fingerprint: fp, count: 1.5 }],
      [{ mode: 'items', hashes: new Uint8Array(17) }],
      [{ mode: 'need', bitfield: [1] as unknown as Uint8Array }],
      [{ mode: 'other' } as unknown as Range]
    ]
    for (const ranges of bad) expect(() => { validateMessage({ ranges }) }).toThrow(InvalidReconcileMessageError)
    expect(() => { validateMessage(null as unknown as Message) }).toThrow(InvalidReconcileMessageError)
    const tooMany = Array.from({ length: MAX_RANGES_PER_MESSAGE + 1 }, (_, i): Range => ({ mode: 'skip', upper: String(i).padStart(5, '0') }))
    expect(() => { validateMessage({ ranges: tooMany }) }).toThrow(/at most 4096/)
  })
})
