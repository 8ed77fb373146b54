import { InvalidDataLengthLengthError, LengthPrefixedDecoder } from '@libp2p/utils'
import * as varint from 'uint8-varint'
import type { Uint8ArrayList } from 'uint8arraylist'

/**
 * A length-prefixed decoder that refuses a bad length prefix as soon as its bytes arrive.
 *
 * `LengthPrefixedDecoder`'s default varint reader cannot tell "the prefix is not complete yet"
 * from "this prefix is longer than any varint it can read": both are a RangeError, which it takes
 * as "wait for more bytes". So a prefix of 2^63 (ten bytes, nine with the continuation bit) left
 * the stream idling instead of being reset. Here a prefix may take at most as many bytes as the
 * largest allowed length needs, and must be minimal (no padding with 0x80 bytes), so a bad one
 * throws `InvalidDataLengthLengthError` the moment its bytes are in, whatever follows.
 */
export function strictLengthPrefixedDecoder (maxDataLength: number, maxBufferSize = 2 * maxDataLength + 16): LengthPrefixedDecoder {
  const maxLengthLength = varint.encodingLength(maxDataLength)
  return new LengthPrefixedDecoder({
    maxDataLength,
    maxBufferSize,
    // An incomplete prefix reads as the largest allowed length: the message cannot be complete
    // in the bytes buffered, so the decoder waits for more. (A RangeError does the same but
    // captures a stack trace, and the decoder meets one after every message, looking for the next
    // prefix in an empty buffer: on an idle daemon, for every 1 s capacity ad.)
    lengthDecoder: (data) => readLength(data, maxLengthLength) ?? maxDataLength,
    encodingLength: varint.encodingLength
  })
}

/** The varint at the start of `data`; undefined = not all of it is here yet. */
function readLength (data: Uint8Array | Uint8ArrayList, maxLengthLength: number): number | undefined {
  const byteAt = (i: number): number => data instanceof Uint8Array ? data[i] : data.get(i)
  let value = 0
  for (let i = 0; i < maxLengthLength; i++) {
    if (i >= data.byteLength) return undefined
    const b = byteAt(i)
    value += (b & 0x7f) * 2 ** (7 * i)
    if (b < 0x80) {
      if (i > 0 && b === 0) throw new InvalidDataLengthLengthError('length prefix is not minimally encoded')
      return value
    }
  }
  throw new InvalidDataLengthLengthError(`length prefix longer than ${maxLengthLength} bytes`)
}
