import { describe, expect, it } from 'vitest'
import { RecentResults } from '../../../../src/services/tasks/recent-results.js'
import type { TaskRecord } from '../../../../src/store/task-journal.js'

const record = (taskId: string, output = ''): TaskRecord => ({ taskId, kind: 'echo', status: 'ok', peer: 'p', attempts: 1, durationMs: 1, submittedAt: 0, output })

describe('RecentResults', () => {
  it('keeps the newest `limit` records, forgetting the oldest first', () => {
    const recent = new RecentResults(3)
    for (let i = 1; i <= 5; i++) recent.remember(record(`t${i}`))
    expect(recent.newestFirst().map(r => r.taskId)).toEqual(['t5', 't4', 't3'])
    expect(recent.get('t2')).toBeUndefined()
    expect(recent.get('t3')?.taskId).toBe('t3')
  })

  it('an id remembered again is the newest, and its old place does not evict it', () => {
    const recent = new RecentResults(3)
    for (const id of ['a', 'b', 'c']) recent.remember(record(id))
    recent.remember(record('a', 'again'))
    recent.remember(record('d'))
    expect(recent.newestFirst().map(r => r.taskId)).toEqual(['d', 'a', 'c'])
    expect(recent.get('a')?.output).toBe('again')
    // Many re-remembered ids: the stale places are dropped, the order holds.
    for (let i = 0; i < 50; i++) recent.remember(record(['a', 'c', 'd'][i % 3], String(i)))
    // The last three were d (47), a (48), c (49).
    expect(recent.newestFirst().map(r => r.taskId)).toEqual(['c', 'a', 'd'])
    recent.remember(record('e'))
    expect(recent.newestFirst().map(r => r.taskId)).toEqual(['e', 'c', 'a'])
  })

  it('keeps nothing at limit 0', () => {
    const recent = new RecentResults(0)
    recent.remember(record('a'))
    expect(recent.newestFirst()).toEqual([])
    expect(recent.get('a')).toBeUndefined()
  })
})
