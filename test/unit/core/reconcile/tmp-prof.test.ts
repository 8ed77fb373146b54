import { it } from 'vitest'
import { prng, randomBytes } from './sync-helpers.js'
it('prof', () => {
  const random = prng(1)
  const items = Array.from({ length: 110_000 }, (_, i) => ({ key: `task/${Math.floor(random() * 1e15).toString(16)}-${i}`, hash: randomBytes(random, 16) }))
  for (let r = 0; r < 3; r++) {
    let t = performance.now()
    const lap = (name: string) => { const n = performance.now(); console.log(name, (n - t).toFixed(1)); t = n }
    const keys: string[] = []; const pool = new Uint8Array(items.length * 16)
    let i = 0
    for (const it of items) { keys.push(it.key); pool.set(it.hash, i * 16); i++ }
    lap('collect')
    const objs = items.slice().sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
    lap('sort objects')
    const idx = Array.from(keys, (_, i) => i).sort((a, b) => keys[a] < keys[b] ? -1 : keys[a] > keys[b] ? 1 : 0)
    lap('sort indices')
    const k1 = keys.slice().sort()
    lap('sort default')
    let sorted = true
    for (let j = 1; j < k1.length; j++) if (!(k1[j - 1] < k1[j])) { sorted = false; break }
    lap('check sorted')
    console.log(objs.length, idx.length, sorted)
  }
})
