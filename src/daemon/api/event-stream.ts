import { EVENT_TYPES } from '../../node/events.js'
import { BadRequestError } from '../../util/errors.js'
import { SECOND } from '../../util/time.js'
import type { Route } from './server.js'
import type { EventLevel, EventType, NodeEvent, NodeEvents } from '../../node/events.js'
import type { IncomingHttpHeaders, ServerResponse } from 'node:http'

export interface EventStreamOptions {
  /**
   * Bytes written to a client that does not read them, at most; past that it is disconnected (it
   * may reconnect with `Last-Event-ID` and get what the node still remembers). Default 1 MiB.
   */
  maxBacklogBytes?: number
  /** A comment line this often keeps the connection visibly alive. Default 15 s. */
  heartbeatMs?: number
}

export const DEFAULT_MAX_BACKLOG_BYTES = 1024 * 1024
export const DEFAULT_HEARTBEAT_MS = 15 * SECOND
/** What a browser's EventSource waits before reconnecting, ms (the SSE `retry` field). */
const RECONNECT_MS = 2 * SECOND

const LEVELS: readonly EventLevel[] = ['debug', 'info', 'warn', 'error']

/** Which events a client asked for: `types` (names or `prefix:*`), a minimum `level`, replay after an id. */
export interface EventFilter {
  afterId: number | undefined
  types: Array<(type: EventType) => boolean>
  minLevel: number
}

/**
 * `?since=ID` (or the `Last-Event-ID` header a reconnecting EventSource sends): replay remembered
 * events after ID first (`since=0`: all remembered). `?types=peer:*,task:finished`: only those.
 * `?level=info`: that level and above.
 */
export function parseEventFilter (query: URLSearchParams, headers: IncomingHttpHeaders): EventFilter {
  const since = query.get('since') ?? (typeof headers['last-event-id'] === 'string' ? headers['last-event-id'] : null)
  if (since != null && !/^\d{1,15}$/.test(since)) throw new BadRequestError('since must be an event id (a non-negative integer)')
  const types: EventFilter['types'] = []
  for (const name of (query.get('types') ?? '').split(',').map(t => t.trim()).filter(t => t !== '')) {
    const prefix = name.endsWith(':*') ? name.slice(0, -1) : undefined
    if (prefix != null ? !EVENT_TYPES.some(t => t.startsWith(prefix)) : !EVENT_TYPES.includes(name as EventType)) {
      throw new BadRequestError(`unknown event type "${name}" (known: ${EVENT_TYPES.join(', ')}; or a prefix such as task:*)`)
    }
    types.push(prefix != null ? (t) => t.startsWith(prefix) : (t) => t === name)
  }
  const level = query.get('level') ?? 'debug'
  const minLevel = LEVELS.indexOf(level as EventLevel)
  if (minLevel < 0) throw new BadRequestError(`level must be one of ${LEVELS.join(', ')}`)
  return { afterId: since == null ? undefined : Number(since), types, minLevel }
}

export function matches (filter: EventFilter, e: NodeEvent): boolean {
  if (LEVELS.indexOf(e.level) < filter.minLevel) return false
  return filter.types.length === 0 || filter.types.some(match => match(e.type))
}

/** One event in the SSE wire format. */
export function sseFrame (e: NodeEvent): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`
}

/** Write the stream: remembered events first (when asked), then each new one as it happens. */
export function streamEvents (res: ServerResponse, bus: NodeEvents, filter: EventFilter, options: EventStreamOptions = {}): void {
  const maxBacklog = options.maxBacklogBytes ?? DEFAULT_MAX_BACKLOG_BYTES
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' })
  const write = (chunk: string): void => {
    if (res.destroyed || res.writableEnded) return
    res.write(chunk)
    // A client that stopped reading: drop it rather than buffer without bound.
    if (res.writableLength > maxBacklog) res.destroy()
  }
  write(`retry: ${RECONNECT_MS}\n\n`)
  if (filter.afterId != null) for (const e of bus.recent(filter.afterId)) if (matches(filter, e)) write(sseFrame(e))
  const unsubscribe = bus.subscribe(e => { if (matches(filter, e)) write(sseFrame(e)) })
  const heartbeat = setInterval(() => { write(': keep-alive\n\n') }, options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS)
  res.once('close', () => {
    unsubscribe()
    clearInterval(heartbeat)
  })
}

/** `GET /v1/events`: the node's events as Server-Sent Events (docs/CONTRACT.md "Events"). */
export function eventStreamRoute (bus: NodeEvents, options: EventStreamOptions = {}): Route {
  return {
    method: 'GET',
    path: /^\/v1\/events$/,
    handle: async ({ query, headers }) => {
      const filter = parseEventFilter(query, headers)
      return { stream: (res) => { streamEvents(res, bus, filter, options) } }
    }
  }
}
