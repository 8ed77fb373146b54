import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../../helpers/daemon.js'

/**
 * flushIdleCode (src/util/node-flags.ts) in a process of its own (it sets V8 flags): the
 * bytecode of functions that ran once is dropped, they still work when called again, and the
 * process's global gets no `gc`.
 */

const NODE_FLAGS = join(ROOT, 'dist', 'src', 'util', 'node-flags.js')

describe('flushIdleCode', () => {
  it('drops the bytecode of code that ran once and leaves it working', () => {
    const script = `
      const { getHeapCodeStatistics } = await import('node:v8')
      const { flushIdleCode } = await import(${JSON.stringify(NODE_FLAGS)})
      // Many functions, each run once (as start-up runs its code).
      const fns = new Function(Array.from({ length: 3000 }, (_, i) => 'function f' + i + ' (x) { let s = x; for (let j = 0; j < 3; j++) s += j * ' + i + '; return s }').join('\\n') + '; return [' + Array.from({ length: 3000 }, (_, i) => 'f' + i).join(',') + ']')()
      const first = fns.map(f => f(1))
      const before = getHeapCodeStatistics().bytecode_and_metadata_size
      flushIdleCode()
      const after = getHeapCodeStatistics().bytecode_and_metadata_size
      const again = fns.map(f => f(1))
      console.log(JSON.stringify({ before, after, same: JSON.stringify(first) === JSON.stringify(again), gc: typeof globalThis.gc }))
    `
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
    expect(run.stderr).toBe('')
    const { before, after, same, gc } = JSON.parse(run.stdout) as { before: number, after: number, same: boolean, gc: string }
    expect(after).toBeLessThan(before / 2)
    expect(same).toBe(true)
    expect(gc).toBe('undefined')
  })
})
