import { createServer } from 'node:http'
import { tokensEqual } from '../api-files.js'
import { errorMessage } from '../../util/errors.js'
import { SECOND } from '../../util/time.js'
import { declaredBytes, readJsonBody } from './json-body.js'
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE'

export interface RequestContext {
  params: Record<string, string>
  query: URLSearchParams
  body: unknown
  headers: IncomingHttpHeaders
  /** Aborted when the client goes away. */
  signal: AbortSignal
}

export interface RouteResult {
  status?: number
  json?: unknown
  text?: string
  contentType?: string
  /** Extra response headers (the dashboard's Content-Security-Policy). */
  headers?: Record<string, string>
  /**
   * A long-lived answer (Server-Sent Events): the route writes the response itself. The server
   * counts it against `maxEventStreams` and ends it when it closes.
   */
  stream?: (res: ServerResponse) => void
}

export interface Route {
  method: Method
  /** Anchored pattern; named groups become `params` (URL-decoded). */
  path: RegExp
  /** Answered without a token (the dashboard's static page and assets only; the Host check still applies). */
  public?: boolean
  handle(ctx: RequestContext): Promise<RouteResult>
}

export interface ControlApiLimits {
  /** Largest request body accepted, bytes. Default 2 MiB (task inputs are capped at 1 MiB by default). */
  maxBodyBytes?: number
  /** Deepest nesting of arrays and objects in a JSON body (deeper: 400). Default 64. */
  maxJsonDepth?: number
  /** Time a client has to send its request headers, ms (then the connection is closed). Default 10 s. */
  headersTimeoutMs?: number
  /**
   * Time a client has to send its whole request, headers and body, ms (then 408 and closed).
   * Waiting for the answer is not limited: a task may run for an hour. Default 30 s.
   */
  requestTimeoutMs?: number
  /** An idle keep-alive connection is closed after this, ms. Default 5 s. */
  keepAliveTimeoutMs?: number
  /**
   * Open connections at most (a file-descriptor budget). At the cap a new connection closes the
   * oldest one that has not made an authenticated request yet (so a flood of slow token-less
   * clients cannot lock the CLI out), else the oldest authenticated one idle between requests
   * (keep-alive), else, when every open one waits for an answer (each submitted task waits for
   * its result), it is answered 503 with a sentence and closed. Default 4,096.
   */
  maxConnections?: number
  /** Request headers at most (more are ignored). Default 64. */
  maxHeadersCount?: number
  /** Event streams (`GET /v1/events`) open at once at most; beyond, 503 with Retry-After. Default 64. */
  maxEventStreams?: number
}

export interface ControlApiInit extends ControlApiLimits {
  host: string
  port: number
  token: string
  routes: Route[]
  onError?: (err: unknown, req: IncomingMessage) => void
}

export const DEFAULT_API_LIMITS: Required<ControlApiLimits> = {
  maxBodyBytes: 2 * 1024 * 1024,
  maxJsonDepth: 64,
  headersTimeoutMs: 10 * SECOND,
  requestTimeoutMs: 30 * SECOND,
  keepAliveTimeoutMs: 5 * SECOND,
  maxConnections: 4_096,
  maxHeadersCount: 64,
  maxEventStreams: 64
}

/** How long a connection answered 503 at the cap may stay open for its client to read that, ms. */
const TURNED_AWAY_LINGER_MS = 1_000

/** Headers larger than this (all together) are refused by Node with 431. */
const MAX_HEADER_BYTES = 16 * 1024

/** Maps fedmesh's error classes (by name) to HTTP status codes. */
const STATUS_BY_ERROR: Record<string, number> = {
  BadRequestError: 400,
  CacheWriteRefusedError: 403,
  ClockSkewError: 503,
  ConfigError: 400,
  InvalidParametersError: 400,
  NotFoundError: 404,
  TooLargeError: 413,
  OverloadedError: 503,
  ForbiddenError: 403,
  NotAdminError: 403,
  InvalidInviteError: 400,
  InvalidRolesError: 400,
  AlreadyMemberError: 409,
  NotFederatedError: 409,
  FederationConflictError: 409,
  RevocationRefusedError: 409,
  JoinFailedError: 502,
  TimeoutError: 504,
  StorageFullError: 507,
  StorageFaultError: 507
}

class HttpError extends Error {
  constructor (readonly status: number, message: string) { super(message) }
}

/**
 * The control API: JSON over HTTP on a loopback address, bearer token compared in constant
 * time, Host header checked (defeats DNS rebinding), no CORS. Bounded everywhere a client could
 * hold it: header and request timeouts, a connection cap, body size and JSON depth; a request
 * without a valid token is answered before its body is read and its connection closed.
 */
export class ControlApi {
  private readonly server: Server
  private readonly limits: Required<ControlApiLimits>
  private allowedHosts = new Set<string>()
  private refused = 0
  /** Open connections, oldest first. */
  private readonly sockets = new Set<Socket>()
  /** Connections that made a request with the right token. */
  private readonly trusted = new WeakSet<Socket>()
  /** Requests read and not answered yet, per connection. */
  private readonly waiting = new Map<Socket, number>()
  /** Connections answered 503 at the cap: what they send is not served. */
  private readonly turnedAway = new WeakSet<Socket>()
  /** Long-lived answers being written (event streams). */
  private readonly streams = new Set<ServerResponse>()

  constructor (private readonly init: ControlApiInit) {
    this.limits = { ...DEFAULT_API_LIMITS }
    for (const key of Object.keys(DEFAULT_API_LIMITS) as Array<keyof ControlApiLimits>) {
      if (init[key] != null) this.limits[key] = init[key]
    }
    const { headersTimeoutMs, requestTimeoutMs } = this.limits
    this.server = createServer({
      headersTimeout: headersTimeoutMs,
      requestTimeout: Math.max(requestTimeoutMs, headersTimeoutMs),
      // Node checks both timeouts on this interval (default 30 s, which let trickling clients stay ~40 s).
      connectionsCheckingInterval: Math.max(50, Math.min(SECOND, headersTimeoutMs / 4)),
      maxHeaderSize: MAX_HEADER_BYTES
    }, (req, res) => {
      const socket = req.socket
      if (this.turnedAway.has(socket)) return
      this.waiting.set(socket, (this.waiting.get(socket) ?? 0) + 1)
      res.once('close', () => {
        const left = (this.waiting.get(socket) ?? 1) - 1
        if (left > 0) this.waiting.set(socket, left)
        else this.waiting.delete(socket)
      })
      this.serve(req, res).catch(err => { this.init.onError?.(err, req) })
    })
    this.server.keepAliveTimeout = this.limits.keepAliveTimeoutMs
    this.server.maxHeadersCount = this.limits.maxHeadersCount
    this.server.on('connection', (socket: Socket) => { this.admit(socket) })
  }

  /** Event streams open now. */
  get openStreams (): number {
    return this.streams.size
  }

  /** Connections closed at once because a connection cap was reached. */
  get connectionsRefused (): number {
    return this.refused
  }

  /** Requests read and not answered yet (for tests and metrics). */
  get requestsWaiting (): number {
    let n = 0
    for (const count of this.waiting.values()) n += count
    return n
  }

  private admit (socket: Socket): void {
    this.sockets.add(socket)
    socket.once('close', () => {
      this.sockets.delete(socket)
      this.waiting.delete(socket)
    })
    if (this.sockets.size <= this.limits.maxConnections) return
    const victim = this.oldestWhere(socket, s => !this.trusted.has(s)) ??
      // Idle between requests: closing it cuts nothing (as the keep-alive timeout would).
      this.oldestWhere(socket, s => !this.waiting.has(s))
    if (victim != null) {
      this.drop(victim)
      return
    }
    this.turnAway(socket)
  }

  private oldestWhere (except: Socket, test: (s: Socket) => boolean): Socket | undefined {
    for (const s of this.sockets.keys()) {
      if (s !== except && test(s)) return s
    }
    return undefined
  }

  private drop (socket: Socket): void {
    this.sockets.delete(socket)
    socket.destroy()
    this.refused++
  }

  /** Every open connection waits for an answer: say so (the CLI shows it) rather than reset. */
  private turnAway (socket: Socket): void {
    this.sockets.delete(socket)
    this.turnedAway.add(socket)
    this.refused++
    const body = JSON.stringify({ error: `the control API is at its connection cap of ${this.limits.maxConnections} open connections, every one waiting for an answer; retry when some have been answered` })
    socket.on('error', () => {})
    socket.end(`HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncache-control: no-store\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
    // Not destroyed at once: a reset while the request still arrives could discard the answer
    // before the client reads it. The client closes on reading it; this bounds the wait.
    socket.setTimeout(TURNED_AWAY_LINGER_MS, () => { socket.destroy() })
  }

  /** Listen; resolves to the base URL (with the real port when port 0 was asked for). */
  async listen (): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(this.init.port, this.init.host, () => {
        this.server.off('error', reject)
        resolve()
      })
    })
    const { port } = this.server.address() as AddressInfo
    this.allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`])
    const host = this.init.host.includes(':') ? `[${this.init.host}]` : this.init.host
    return `http://${host}:${port}`
  }

  async close (): Promise<void> {
    if (!this.server.listening) return
    const closed = new Promise<void>(resolve => { this.server.close(() => { resolve() }) })
    // Event streams never end by themselves: end them now, so their clients see a clean close.
    for (const res of this.streams) res.end()
    this.server.closeIdleConnections()
    // Requests still waiting (a long task) are cut: the daemon is shutting down.
    setTimeout(() => { this.server.closeAllConnections() }, 1_000).unref()
    await closed
  }

  private async serve (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const controller = new AbortController()
    res.on('close', () => { controller.abort() })
    try {
      const result = await this.dispatch(req, controller.signal)
      if (result.stream != null) {
        this.openStream(res, result.stream)
      } else if (result.text != null) {
        send(res, result.status ?? 200, result.contentType ?? 'text/plain; charset=utf-8', result.text, result.headers)
      } else {
        send(res, result.status ?? 200, 'application/json', JSON.stringify(result.json ?? null))
      }
    } catch (err) {
      const closed = isStoreClosed(err)
      const status = err instanceof HttpError ? err.status : closed ? 503 : STATUS_BY_ERROR[(err as Error)?.name] ?? 500
      if (status === 500) this.init.onError?.(err, req)
      if (!res.headersSent) {
        const headers: Record<string, string> = status === 401 ? { 'www-authenticate': 'Bearer' } : {}
        // A body left unread is not read on: the connection is closed. Except an over-size body
        // from a client with the token, up to a bound: closing while it still sends would reset
        // the connection before it reads the 413, and the CLI could only say the daemon is gone.
        if (!req.complete) {
          if (status === 413 && this.trusted.has(req.socket) && (declaredBytes(req) ?? Infinity) <= this.limits.maxBodyBytes * DRAIN_FACTOR) req.resume()
          else headers.connection = 'close'
        }
        const retryAfter = (err as { retryAfterSeconds?: unknown })?.retryAfterSeconds
        if (status === 503 && typeof retryAfter === 'number') headers['retry-after'] = String(retryAfter)
        const message = closed ? 'the store is closed for a moment (reopening after a disk error, or the daemon is stopping); retry' : errorMessage(err)
        send(res, status, 'application/json', JSON.stringify({ error: message }), headers)
      }
    }
  }

  private openStream (res: ServerResponse, write: (res: ServerResponse) => void): void {
    if (this.streams.size >= this.limits.maxEventStreams) {
      send(res, 503, 'application/json', JSON.stringify({ error: `too many event streams open (${this.limits.maxEventStreams}); close one or retry later` }), { 'retry-after': '5' })
      return
    }
    this.streams.add(res)
    res.once('close', () => { this.streams.delete(res) })
    write(res)
  }

  private async dispatch (req: IncomingMessage, signal: AbortSignal): Promise<RouteResult> {
    if (!this.allowedHosts.has(req.headers.host ?? '')) throw new HttpError(403, 'bad Host header')
    const url = new URL(req.url ?? '/', 'http://localhost')
    const open = this.init.routes.find(r => r.public === true && r.method === req.method && r.path.test(url.pathname))
    if (open != null) return open.handle({ params: {}, query: url.searchParams, body: undefined, headers: req.headers, signal })
    const auth = req.headers.authorization ?? ''
    const token = auth.startsWith('Bearer ') ? auth.slice(7).trim() : ''
    if (!tokensEqual(token, this.init.token)) throw new HttpError(401, 'missing or invalid bearer token')
    this.trusted.add(req.socket)

    let pathMatched = false
    for (const route of this.init.routes) {
      const m = route.path.exec(url.pathname)
      if (m == null) continue
      pathMatched = true
      if (route.method !== req.method) continue
      const body = await readJsonBody(req, { maxBytes: this.limits.maxBodyBytes, maxDepth: this.limits.maxJsonDepth })
      const params: Record<string, string> = {}
      for (const [k, v] of Object.entries(m.groups ?? {})) {
        try { params[k] = decodeURIComponent(v) } catch { throw new HttpError(400, `bad escape in ${k}`) }
      }
      return route.handle({ params, query: url.searchParams, body, headers: req.headers, signal })
    }
    throw new HttpError(pathMatched ? 405 : 404, pathMatched ? `method ${req.method ?? ''} not allowed` : `no such endpoint ${url.pathname}`)
  }
}

/** An over-size body from a client with the token is read and dropped up to this many times the limit. */
const DRAIN_FACTOR = 16

/** LevelDB refused because it is closed: for milliseconds while the store recovers, or at shutdown. */
function isStoreClosed (err: unknown): boolean {
  const code = (err as { code?: unknown })?.code
  return code === 'LEVEL_DATABASE_NOT_OPEN' || code === 'LEVEL_ITERATOR_NOT_OPEN'
}

function send (res: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', ...headers })
  res.end(body)
}
