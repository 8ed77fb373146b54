import { describe, expect, it } from 'vitest'
import { ProgressLine, progressText } from '../../simulations/progress.js'

describe('the progress line of a long sim run', () => {
  it('says the elapsed time, the engine run, the virtual time and an estimate of what is left', () => {
    // Half of run 2 of 4 done after 30 s: 37.5 % of the work, so about 50 s left.
    expect(progressText({ label: 'random', run: 1, runs: 4, virtualMs: 15_000, endMs: 30_000 }, 30_000))
      .toBe('sim: 30 s elapsed, random (run 2 of 4) at 15.0 of 30.0 s virtual, about 50 s left')
  })

  it('stays quiet for 5 s; off a terminal it writes plain lines, every 10 s, with no escape codes', () => {
    let t = 0
    const out: string[] = []
    const line = new ProgressLine({ write: (s) => { out.push(s) }, tty: false, colour: false, now: () => t })
    const at = (ms: number): void => { t = ms; line.update({ label: 'fedmesh', run: 0, runs: 1, virtualMs: ms, endMs: 60_000 }) }
    at(1_000); at(4_999)
    expect(out).toEqual([])
    at(5_000); at(9_000); at(15_000)
    expect(out).toHaveLength(2)
    expect(out.join('')).not.toMatch(/\x1b/)
    expect(out[0].endsWith('\n')).toBe(true)
  })

  it('on a terminal rewrites one line in place, dimmed unless NO_COLOR, and clears it when done', () => {
    let t = 0
    const out: string[] = []
    const plain = new ProgressLine({ write: (s) => { out.push(s) }, tty: true, colour: false, now: () => t })
    t = 6_000
    plain.update({ label: 'fedmesh', run: 0, runs: 1, virtualMs: 1_000, endMs: 2_000 })
    expect(out[0].startsWith('\r\x1b[2K')).toBe(true)
    expect(out[0]).not.toMatch(/\x1b\[2m/)
    plain.done()
    expect(out.at(-1)).toBe('\r\x1b[2K')
    t = 0
    const colour = new ProgressLine({ write: (s) => { out.push(s) }, tty: true, colour: true, now: () => t })
    t = 6_000
    colour.update({ label: 'fedmesh', run: 0, runs: 1, virtualMs: 1_000, endMs: 2_000 })
    expect(out.at(-1)).toMatch(/\x1b\[2m/)
  })
})
