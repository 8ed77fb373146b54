import { EventEmitter } from 'node:events'
import { openSync, closeSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { createDaemonLog, fdWriter } from '../../../src/daemon/log.js'
import { installProcessGuards, isContainedFault } from '../../../src/daemon/process-guards.js'
import { StorageFullError } from '../../../src/util/errors.js'
import { NodeEvents } from '../../../src/node/events.js'

const at = (): Date => new Date(0)

function enospc (): Error {
  return Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write', errno: -28 })
}

describe('daemon log', () => {
  it('drops and counts lines it cannot write, then says how many when writing works again', () => {
    const written: string[] = []
    let full = false
    const log = createDaemonLog((line) => {
      if (full) throw enospc()
      written.push(line)
    }, at)
    log.info('one', { k: 'v w' })
    full = true
    log.info('two')
    log.error('three')
    expect(log.dropped).toBe(2)
    full = false
    log.warn('four')
    expect(written).toEqual([
      '1970-01-01T00:00:00.000Z info one k="v w"\n',
      '1970-01-01T00:00:00.000Z warn log lines dropped count=2 total=2\n',
      '1970-01-01T00:00:00.000Z warn four\n'
    ])
    log.countDropped(3)
    expect(log.dropped).toBe(5)
  })

  it('survives /dev/full as its output', () => {
    const fd = openSync('/dev/full', 'w')
    try {
      const log = createDaemonLog(fdWriter(fd), at)
      log.info('lost')
      log.info('lost too')
      expect(log.dropped).toBe(2)
    } finally {
      closeSync(fd)
    }
  })
})

describe('process guards', () => {
  function fakeProcess (): EventEmitter & { stdout: EventEmitter, stderr: EventEmitter } {
    return Object.assign(new EventEmitter(), { stdout: new EventEmitter(), stderr: new EventEmitter() })
  }

  it('counts stdout/stderr errors as dropped output instead of dying of them', () => {
    const target = fakeProcess()
    const log = createDaemonLog(() => {}, at)
    const guards = installProcessGuards({ log, target, exit: () => { throw new Error('must not exit') } })
    target.stdout.emit('error', enospc())
    target.stderr.emit('error', Object.assign(new Error('EPIPE'), { code: 'EPIPE', syscall: 'write' }))
    expect(log.dropped).toBe(2)
    guards.uninstall()
    expect(target.stdout.listenerCount('error')).toBe(0)
    expect(target.listenerCount('unhandledRejection')).toBe(0)
  })

  it('keeps running through disk and output faults, logs each message once a minute, and exits on anything else', () => {
    const target = fakeProcess()
    const lines: string[] = []
    const exits: number[] = []
    let now = 0
    const guards = installProcessGuards({ log: createDaemonLog((l) => { lines.push(l) }, at), target, exit: (code) => { exits.push(code) }, now: () => now })
    const wrapped = new Error(`PutFailedError: ${String(new StorageFullError('no space left on device (store in /d)'))}`)
    target.emit('unhandledRejection', wrapped)
    target.emit('unhandledRejection', wrapped)
    target.emit('uncaughtException', enospc())
    expect(guards.survived).toEqual({ rejection: 2, exception: 1 })
    expect(lines.filter(l => l.includes('kept running'))).toHaveLength(2)
    now = 61_000
    target.emit('unhandledRejection', wrapped)
    expect(lines.filter(l => l.includes('kept running'))).toHaveLength(3)
    expect(exits).toEqual([])

    target.emit('unhandledRejection', new TypeError('x is undefined'))
    expect(exits).toEqual([1])
    expect(lines.at(-1)).toMatch(/ error unhandled rejection, exiting error="x is undefined" stack=/)
    target.emit('uncaughtException', new RangeError('bug'))
    expect(exits).toEqual([1, 1])
    guards.uninstall()
  })

  it('recognises contained faults through causes', () => {
    expect(isContainedFault(new Error('outer', { cause: Object.assign(new Error('IO error'), { code: 'LEVEL_IO_ERROR' }) }))).toBe(true)
    expect(isContainedFault(Object.assign(new Error('read failed'), { code: 'EIO', syscall: 'read' }))).toBe(false)
    expect(isContainedFault(new Error('ENOSPC in a message only'))).toBe(false)
    expect(isContainedFault(undefined)).toBe(false)
  })
})

describe('daemon log formats and levels', () => {
  const bus = (): NodeEvents => new NodeEvents({ clock: { now: () => 0 } })

  it('writes readable lines by default, at info and above', () => {
    const written: string[] = []
    const log = createDaemonLog((line) => { written.push(line) }, at)
    const events = bus()
    events.subscribe(e => { log.event(e) })
    log.debug('not shown')
    events.emit('task:submitted', { taskId: 't-1', kind: 'echo' })
    events.emit('task:routed', { taskId: 't-1', kind: 'echo', attempt: 1, reason: 'late-binding', peers: ['a', 'b'] })
    events.emit('peer:refused', { peer: 'p1', reason: 'not a member' })
    expect(written).toEqual(['1970-01-01T00:00:00.000Z warn refused peer p1: not a member event=peer:refused eventId=3 peer=p1 reason="not a member"\n'])
    log.configure({ level: 'debug' })
    events.emit('task:routed', { taskId: 't-1', kind: 'echo', attempt: 2, reason: 'late-binding', peers: ['a', 'b'] })
    expect(written[1]).toBe('1970-01-01T00:00:00.000Z debug echo task t-1 attempt 2: late-binding → a, b event=task:routed eventId=4 taskId=t-1 kind=echo attempt=2 reason=late-binding peers=a,b\n')
  })

  it('writes one pino-style JSON object per line with --log-format json, and filters by level', () => {
    const written: string[] = []
    const log = createDaemonLog((line) => { written.push(line) }, at, { format: 'json', level: 'warn' })
    const events = bus()
    log.info('not shown')
    log.warn('disk slow', { ms: 12 })
    log.event(events.emit('storage:failed', { error: 'no space left on device', op: 'put' }))
    log.event(events.emit('peer:connected', { peer: 'p1', direction: 'inbound', connection: 'direct', address: '/ip4/1.2.3.4/tcp/1' }))
    const lines = written.map(l => JSON.parse(l) as Record<string, unknown>)
    expect(written.every(l => l.endsWith('}\n') && !l.slice(0, -1).includes('\n'))).toBe(true)
    expect(lines).toEqual([
      { level: 40, time: 0, pid: process.pid, hostname: expect.any(String), msg: 'disk slow', ms: 12 },
      { level: 50, time: 0, pid: process.pid, hostname: expect.any(String), msg: 'storage failed, refusing writes until it recovers: no space left on device', event: 'storage:failed', eventId: 1, error: 'no space left on device', op: 'put' }
    ])
    // Fields never replace pino's own keys.
    log.error('x', { level: 'mine', msg: 'mine too', time: 5 })
    expect(JSON.parse(written[2])).toMatchObject({ level: 50, msg: 'x', time: 0 })
  })
})
