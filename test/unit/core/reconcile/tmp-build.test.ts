import { it } from 'vitest'
import { ItemIndex } from '../../../../src/core/reconcile/item-index.js'
import { prng, randomBytes } from './sync-helpers.js'
it('build', () => {
  const random = prng(1)
  const items = Array.from({ length: 110_000 }, (_, i) => ({ key: `task/${Math.floor(random() * 1e15).toString(16)}-${i}`, hash: randomBytes(random, 16) }))
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now()
    const idx = new ItemIndex(items)
    idx.fingerprint('', undefined)
    const t1 = performance.now()
    for (let i = 0; i < 100; i++) idx.upsert(`task/x${i}`, items[i].hash)
    idx.fingerprint('a')
    const t2 = performance.now()
    let x = 0
    for (let i = 0; i < 100_000; i++) x += idx.fingerprint(items[i].key, items[i + 5].key).count
    const t3 = performance.now()
    console.log('build', (t1 - t0).toFixed(1), 'rebuild after 100 upserts', (t2 - t1).toFixed(1), '100k fingerprints', (t3 - t2).toFixed(1), x)
  }
})
