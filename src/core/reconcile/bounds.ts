/**
 * Key order and range bounds. Keys are compared as JavaScript strings (UTF-16 code units, what
 * `<` and `Array.prototype.sort()` do); every peer must use this same order, so a non-JS
 * implementation has to compare UTF-16 code units too, not UTF-8 bytes.
 */

export function compareKeys (a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0
  return a < b ? -1 : 1
}

/**
 * The shortest prefix p of `b` with a < p <= b, for a < b. A range bound only has to separate
 * two neighbouring keys, and the shortest separator costs far fewer bytes than a whole key.
 * A surrogate pair is never cut in half, so the bound survives a round trip through UTF-8.
 */
export function boundBetween (a: string, b: string): string {
  let i = 0
  while (i < a.length && a.charCodeAt(i) === b.charCodeAt(i)) i++
  let end = i + 1
  const code = b.charCodeAt(i)
  if (code >= 0xd800 && code <= 0xdbff && end < b.length) end++
  return b.slice(0, end)
}
