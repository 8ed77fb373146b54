import { describe, expect, it } from 'vitest'
import { formatEventLine, parseSse } from '../../../src/cli/commands/monitor.js'
import { NodeEvents } from '../../../src/node/events.js'

describe('fedmesh monitor', () => {
  it('parses Server-Sent Events across chunk boundaries, ignoring comments and retry hints', () => {
    const bus = new NodeEvents({ clock: { now: () => Date.UTC(2030, 0, 2, 3, 4, 5, 678) } })
    const e1 = bus.emit('mode:changed', { from: 'federated', to: 'solo' })
    const e2 = bus.emit('peer:refused', { peer: 'p1', reason: 'no membership handshake in time' })
    const text = `retry: 2000\n\n: keep-alive\n\nid: 1\nevent: mode:changed\ndata: ${JSON.stringify(e1)}\n\nid: 2\r\nevent: peer:refused\r\ndata: ${JSON.stringify(e2)}\r\n\r\n`
    let rest = ''
    const got = []
    for (let i = 0; i < text.length; i += 7) {
      const parsed = parseSse(rest + text.slice(i, i + 7))
      rest = parsed.rest
      got.push(...parsed.events)
    }
    expect(got).toEqual([e1, e2])
    expect(rest).toBe('')
    expect(parseSse('data: {"id":').events).toEqual([])
    expect(parseSse('data: not json\n\n').events).toEqual([])
  })

  it('prints one readable line per event', () => {
    const bus = new NodeEvents({ clock: { now: () => Date.UTC(2030, 0, 2, 3, 4, 5, 678) } })
    expect(formatEventLine(bus.emit('mode:changed', { from: 'federated', to: 'solo' }))).toBe('03:04:05.678 info  mode:changed      no live peer: running solo')
    expect(formatEventLine(bus.emit('storage:failed', { error: 'EIO', op: 'put' }))).toBe('03:04:05.678 error storage:failed    storage failed, refusing writes until it recovers: EIO')
  })
})
