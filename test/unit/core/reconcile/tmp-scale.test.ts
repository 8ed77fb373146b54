import { it } from 'vitest'
import { ItemIndex } from '../../../../src/core/reconcile/item-index.js'
import { runSession, prng, randomBytes } from './sync-helpers.js'

it('scale', () => {
  for (const [T, B, M] of [[32, 16, 512], [32, 16, 4096], [16, 16, 4096], [8, 16, 4096], [8, 8, 4096], [4, 4, 4096], [16,4,4096]]) {
  const random = prng(42)
  const hex = (n: number) => Array.from(randomBytes(random, n), b => b.toString(16).padStart(2, '0')).join('')
  const a = new ItemIndex(); const b = new ItemIndex()
  const t0 = performance.now()
  for (let i = 0; i < 100_000; i++) { const k = `task/${hex(10)}`; const h = randomBytes(random, 16); a.upsert(k, h); b.upsert(k, h) }
  for (let i = 0; i < 10_000; i++) {
    const k = `task/${hex(10)}`; const r = i % 3
    if (r === 0) a.upsert(k, randomBytes(random, 16))
    else if (r === 1) b.upsert(k, randomBytes(random, 16))
    else { a.upsert(k, randomBytes(random, 16)); b.upsert(k, randomBytes(random, 16)) }
  }
  a.rank(''); b.rank('')
  const t1 = performance.now()
  const rep = runSession(a, b, { itemThreshold: T, branching: B, maxRangesPerMessage: M })
  const t2 = performance.now()
  console.log(T, B, M, 'build', (t1 - t0).toFixed(0), 'sync', (t2 - t1).toFixed(0), rep.messages, rep.bytes, rep.haveA.length, rep.haveB.length, rep.maxRanges)
  }
})
