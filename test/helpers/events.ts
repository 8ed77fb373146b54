import { request } from 'node:http'
import { parseSse } from '../../src/cli/commands/monitor.js'
import type { NodeEvent } from '../../src/node/events.js'
import type { Daemon } from './daemon.js'
import type { ClientRequest } from 'node:http'

/** A client of `GET /v1/events` that keeps everything it received. */
export interface EventStream {
  status: number
  headers: Record<string, string | string[] | undefined>
  events: NodeEvent[]
  /** Resolves when the server ended or cut the stream. */
  closed: Promise<void>
  isClosed: () => boolean
  /** Go away (the client side closes the socket). */
  close: () => void
  /** The first received event matching `match` (waits for it). */
  next: <E extends NodeEvent = NodeEvent>(match: (e: NodeEvent) => boolean, timeoutMs?: number) => Promise<E>
}

export async function openEvents (d: Daemon, query = '', headers: Record<string, string> = {}): Promise<EventStream> {
  const url = `${await d.apiUrl()}/v1/events${query === '' ? '' : `?${query}`}`
  const token = await d.token()
  const events: NodeEvent[] = []
  const waiters = new Set<() => void>()
  let closed = false
  let req: ClientRequest | undefined
  let markClosed: () => void = () => {}
  const closedPromise = new Promise<void>(resolve => {
    markClosed = () => {
      closed = true
      resolve()
      for (const w of waiters) w()
    }
  })
  const head = await new Promise<{ status: number, headers: EventStream['headers'] }>((resolve, reject) => {
    req = request(url, { headers: { authorization: `Bearer ${token}`, ...headers } }, (res) => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers })
      let buffered = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        const parsed = parseSse(buffered + chunk)
        buffered = parsed.rest
        events.push(...parsed.events)
        for (const w of waiters) w()
      })
      res.on('close', markClosed)
      res.on('error', () => {})
    })
    req.on('error', (err) => {
      markClosed()
      reject(err)
    })
    req.end()
  })
  const next = async <E extends NodeEvent>(match: (e: NodeEvent) => boolean, timeoutMs = 15_000): Promise<E> => {
    return new Promise<E>((resolve, reject) => {
      const got = (): string => events.map(e => e.type).join(', ')
      const settle = (result: E | Error): void => {
        clearTimeout(timer)
        waiters.delete(check)
        if (result instanceof Error) reject(result)
        else resolve(result)
      }
      const check = (): void => {
        const found = events.find(match)
        if (found != null) settle(found as E)
        else if (closed) settle(new Error(`event stream closed before the event came (got ${got()})`))
      }
      const timer = setTimeout(() => { settle(new Error(`no such event within ${timeoutMs} ms (got ${got()})`)) }, timeoutMs)
      waiters.add(check)
      check()
    })
  }
  return { ...head, events, closed: closedPromise, isClosed: () => closed, close: () => { req?.destroy() }, next }
}
