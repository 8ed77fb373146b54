/** fast-check arbitraries shared by the reconciliation tests. */
import fc from 'fast-check'

/** Keys: full code points (astral ones as surrogate pairs), or a small alphabet for long shared prefixes. */
export const arbKey = fc.oneof(
  fc.string({ unit: fc.constantFrom('a', 'b', 'é', '😀', '\uffff', '\u0000'), maxLength: 6 }),
  fc.string({ unit: 'binary', maxLength: 8 })
)

export const arbHash = fc.uint8Array({ minLength: 16, maxLength: 16 })
