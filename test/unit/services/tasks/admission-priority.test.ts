import { describe, expect, it } from 'vitest'
import { Admission } from '../../../../src/services/tasks/admission.js'
import { settle } from '../../../helpers/unit-tasks.js'
import type { Priority } from '../../../../src/core/priority.js'
import type { Release } from '../../../../src/services/tasks/admission.js'

describe('Admission priorities', () => {
  it('waiting tasks leave interactive first, batch last, FIFO within one; a task back again leads its priority', async () => {
    const admission = new Admission({ window: () => 1 })
    const order: string[] = []
    const releases = new Map<string, Release>()
    const enter = (name: string, priority?: Priority, again = false): void => {
      admission.enter('k', 1, { priority, again }).then(r => { order.push(name); releases.set(name, r) }, () => {})
    }
    enter('first')
    await settle()
    enter('b1', 'batch')
    enter('n1')
    enter('i1', 'interactive')
    enter('b2', 'batch')
    enter('n2', 'normal')
    enter('i2', 'interactive')
    enter('n0', 'normal', true)
    await settle()
    expect(order).toEqual(['first'])
    for (let i = 0; i < 7; i++) {
      releases.get(order[order.length - 1])?.()
      await settle()
    }
    expect(order).toEqual(['first', 'i1', 'i2', 'n0', 'n1', 'n2', 'b1', 'b2'])
    admission.close(new Error('test over'))
  })
})
