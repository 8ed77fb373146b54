import { afterAll, describe, expect, it } from 'vitest'
import { startDaemon, stopAll, waitFor } from '../helpers/daemon.js'
import { openEvents } from '../helpers/events.js'
import type { NodeEvent } from '../../src/node/events.js'

/**
 * Spot checks with real daemons: three members serve the deterministic kind `upper`, one of
 * them (the liar) with a command that answers wrongly. The submitter checks every answer
 * (fraction 1): no wrong output reaches it, and the liar, never an honest member, is blamed —
 * by the submitter, and by the other members once they have checked the shared evidence.
 */

afterAll(stopAll)

interface RunDoc { status: string, output: unknown, peer: string }
interface PeerDoc { peerId: string, reputation: number, reputationComponents?: Record<string, number>, capacity: { kinds: string[] } | null }

// 0.3 s per run with one slot each: six tasks at once spread over all three servers.
const serve = (shift: string): Record<string, unknown> => ({
  tasks: { upper: { command: ['sh', '-c', `sleep 0.3; tr a-z ${shift}`], timeoutMs: 5_000, allow: ['members'], deterministic: true } }
})

describe('spot checks of a deterministic kind', () => {
  it('never returns a liar\'s output; the liar alone is blamed for it', async () => {
    const a = await startDaemon({ name: 'submitter', config: { spotCheck: { fraction: 1, kinds: ['upper'] } } })
    const events = await openEvents(a)
    const bootstrap = ['--bootstrap', await a.address(), '--concurrency', '1']
    const honest = await Promise.all(['bravo', 'charlie'].map(async name => startDaemon({ name, args: bootstrap, config: serve('A-Z') })))
    const liar = await startDaemon({ name: 'liar', args: bootstrap, config: serve('b-za') })
    const liarId = await liar.peerId()
    const honestIds = await Promise.all(honest.map(async d => d.peerId()))
    await waitFor(async () => (await a.json<PeerDoc[]>('peers')).filter(p => p.capacity?.kinds.includes('upper') === true).length === 3, 15_000, 'A to see three servers of upper')

    const checks = (): Array<NodeEvent<'task:spot-checked'>> => events.events.filter((e): e is NodeEvent<'task:spot-checked'> => e.type === 'task:spot-checked')
    // Batches until the liar has answered or checked one (almost always in the first).
    let tasks = 0
    for (let batch = 0; batch < 4 && !checks().some(e => e.verdict === 'wrong-result'); batch++) {
      const runs = await Promise.all(Array.from({ length: 6 }, async () => a.json<RunDoc>('run', 'upper', '--input', '"shout"')))
      for (const r of runs) expect(r).toMatchObject({ status: 'ok', output: 'SHOUT' })
      expect(runs.map(r => r.peer)).not.toContain(liarId)
      tasks += runs.length
      await waitFor(() => checks().length >= tasks, 5_000, 'a verdict per task')
    }
    const caught = checks().find(e => e.verdict === 'wrong-result')
    expect(caught).toMatchObject({ wrong: liarId, level: 'warn' })
    const verdicts = checks()
    for (const v of verdicts) {
      expect(['agreed', 'wrong-result']).toContain(v.verdict)
      if (v.verdict === 'wrong-result') expect(v.wrong).toBe(liarId)
    }
    const peers = await a.json<PeerDoc[]>('peers')
    const score = (id: string): number => peers.find(p => p.peerId === id)?.reputationComponents?.tasks ?? 0
    expect(score(liarId)).toBeLessThan(0)
    for (const id of honestIds) expect(score(id)).toBeGreaterThanOrEqual(0)

    // The proof reaches the honest members (they never sent the liar a task): each re-runs the
    // input itself, sees the liar's signed claim is false, and charges the liar, not the others.
    const tasksScoreOn = async (d: typeof a, id: string): Promise<number> => (await d.json<PeerDoc[]>('peers')).find(p => p.peerId === id)?.reputationComponents?.tasks ?? 0
    for (const d of honest) {
      await waitFor(async () => await tasksScoreOn(d, liarId) < 0, 15_000, 'an honest member to apply the evidence')
      for (const id of honestIds) expect(await tasksScoreOn(d, id)).toBeGreaterThanOrEqual(0)
    }
    expect(honest[0].stderr).toMatch(new RegExp(`warn evidence from .* on kind upper: this node's own run proves .*${liarId.slice(-6)}\\) returned a wrong result`))
  }, 90_000)

  it('an answer without a receipt is checked whatever the fraction: a server that does not sign cannot be proven wrong to others', async () => {
    const a = await startDaemon({ name: 'submitter-unsigned', config: { spotCheck: { fraction: 0.001, kinds: ['upper'] } } })
    const events = await openEvents(a)
    const bootstrap = ['--bootstrap', await a.address(), '--concurrency', '1']
    // Not marked deterministic: these servers run `upper` but sign no receipt for it.
    const unsigned = { tasks: { upper: { command: ['tr', 'a-z', 'A-Z'], timeoutMs: 5_000, allow: ['members'] } } }
    await Promise.all(['delta', 'echo'].map(async name => startDaemon({ name, args: bootstrap, config: unsigned })))
    await waitFor(async () => (await a.json<PeerDoc[]>('peers')).filter(p => p.capacity?.kinds.includes('upper') === true).length === 2, 15_000, 'A to see two servers of upper')
    for (let i = 0; i < 3; i++) expect(await a.json<RunDoc>('run', 'upper', '--input', '"quiet"')).toMatchObject({ status: 'ok', output: 'QUIET' })
    // At a fraction of 0.001, three checks come only from the unsigned rule.
    await waitFor(() => events.events.filter(e => e.type === 'task:spot-checked').length >= 3, 10_000, 'a check of every unsigned answer')
    for (const e of events.events.filter((e): e is NodeEvent<'task:spot-checked'> => e.type === 'task:spot-checked')) expect(e.verdict).toBe('agreed')
  }, 60_000)
})
