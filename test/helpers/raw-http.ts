import { connect } from 'node:net'
import type { Socket } from 'node:net'

/**
 * A hand-driven HTTP client on a raw socket, for clients that misbehave on purpose: send the
 * head now, trickle the body, never finish. `closed` resolves when the server has closed the
 * connection, with what it answered and when.
 */
export interface RawConnection {
  socket: Socket
  /** Resolves once connected. */
  ready: Promise<void>
  closed: Promise<{ response: string, afterMs: number }>
  send(text: string): void
  /** What the server answered so far. */
  response(): string
  /** Send one byte every `everyMs` until the server closes the connection (or `stop()`). */
  trickle(everyMs: number): void
  stop(): void
}

export function rawConnection (url: string): RawConnection {
  const { hostname, port } = new URL(url)
  const started = Date.now()
  const socket = connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port) })
  let response = ''
  let timer: NodeJS.Timeout | undefined
  socket.setEncoding('utf8')
  socket.on('data', (d: string) => { response += d })
  const ready = new Promise<void>((resolve, reject) => {
    socket.once('connect', () => { resolve() })
    socket.once('error', reject)
  })
  ready.catch(() => {})
  const closed = new Promise<{ response: string, afterMs: number }>(resolve => {
    socket.on('error', () => {})
    socket.once('close', () => {
      clearInterval(timer)
      resolve({ response, afterMs: Date.now() - started })
    })
  })
  return {
    socket,
    ready,
    closed,
    send (text) { if (!socket.destroyed) socket.write(text) },
    response: () => response,
    trickle (everyMs) {
      timer = setInterval(() => { if (!socket.destroyed && socket.writable) socket.write('1') }, everyMs)
    },
    stop () {
      clearInterval(timer)
      socket.destroy()
    }
  }
}

/** The head of a POST with a JSON body of `contentLength` bytes still to come. */
export function postHead (url: string, path: string, contentLength: number, token?: string): string {
  const { host } = new URL(url)
  return [
    `POST ${path} HTTP/1.1`,
    `Host: ${host}`,
    'Content-Type: application/json',
    `Content-Length: ${contentLength}`,
    ...(token != null ? [`Authorization: Bearer ${token}`] : []),
    '',
    ''
  ].join('\r\n')
}
