import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../helpers/daemon.js'

/** examples/embed-node.ts runs as a user would run it (Node strips its types), from the built package. */
describe('examples/embed-node.ts', () => {
  it('embeds two nodes, registers handlers in code and runs them across the mesh', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'examples', 'embed-node.ts')], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 })
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^word-count: ok on worker \(1 attempt\) -> \{"words":5\}$/m)
    expect(r.stdout).toMatch(/^reverse-bytes: ok on worker \(1 attempt\) -> "desserts"$/m)
    expect(r.stdout).toMatch(/^bad input: error on worker \(1 attempt\) -> BAD_INPUT: word-count needs/m)
    expect(r.stdout).toMatch(/^sha256: ok on (app|worker) .*"hex":"2cf24dba/m)
  })
})
