import { createServer } from 'node:http'
import { tokensEqual } from '../api-files.js'
import { errorMessage } from '../../util/errors.js'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE'

export interface RequestContext {
  params: Record<string, string>
  query: URLSearchParams
  body: unknown
  /** Aborted when the client goes away. */
  signal: AbortSignal
}

export interface RouteResult {
  status?: number
  json?: unknown
  text?: string
  contentType?: string
}

export interface Route {
  method: Method
  /** Anchored pattern; named groups become `params` (URL-decoded). */
  path: RegExp
  handle(ctx: RequestContext): Promise<RouteResult>
}

export interface ControlApiInit {
  host: string
  port: number
  token: string
  routes: Route[]
  /** Largest request body accepted. Default 2 MiB (task inputs are capped at 1 MiB by default). */
  maxBodyBytes?: number
  onError?: (err: unknown, req: IncomingMessage) => void
}

const DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024

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
  TimeoutError: 504
}

class HttpError extends Error {
  constructor (readonly status: number, message: string) { super(message) }
}

/**
 * The control API: JSON over HTTP on a loopback address, bearer token compared in constant
 * time, Host header checked (defeats DNS rebinding), no CORS, bounded bodies.
 */
export class ControlApi {
  private readonly server: Server
  private readonly maxBodyBytes: number
  private allowedHosts = new Set<string>()

  constructor (private readonly init: ControlApiInit) {
    this.maxBodyBytes = init.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
    this.server = createServer({ requestTimeout: 0, headersTimeout: 10_000 }, (req, res) => {
      this.serve(req, res).catch(err => { this.init.onError?.(err, req) })
    })
    this.server.keepAliveTimeout = 5_000
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
      if (result.text != null) {
        send(res, result.status ?? 200, result.contentType ?? 'text/plain; charset=utf-8', result.text)
      } else {
        send(res, result.status ?? 200, 'application/json', JSON.stringify(result.json ?? null))
      }
    } catch (err) {
      const status = err instanceof HttpError ? err.status : STATUS_BY_ERROR[(err as Error)?.name] ?? 500
      if (status === 500) this.init.onError?.(err, req)
      if (!res.headersSent) {
        const headers: Record<string, string> = status === 401 ? { 'www-authenticate': 'Bearer' } : {}
        send(res, status, 'application/json', JSON.stringify({ error: errorMessage(err) }), headers)
      }
    }
  }

  private async dispatch (req: IncomingMessage, signal: AbortSignal): Promise<RouteResult> {
    if (!this.allowedHosts.has(req.headers.host ?? '')) throw new HttpError(403, 'bad Host header')
    const auth = req.headers.authorization ?? ''
    const token = auth.startsWith('Bearer ') ? auth.slice(7).trim() : ''
    if (!tokensEqual(token, this.init.token)) throw new HttpError(401, 'missing or invalid bearer token')

    const url = new URL(req.url ?? '/', 'http://localhost')
    let pathMatched = false
    for (const route of this.init.routes) {
      const m = route.path.exec(url.pathname)
      if (m == null) continue
      pathMatched = true
      if (route.method !== req.method) continue
      const body = await readJsonBody(req, this.maxBodyBytes)
      const params: Record<string, string> = {}
      for (const [k, v] of Object.entries(m.groups ?? {})) {
        try { params[k] = decodeURIComponent(v) } catch { throw new HttpError(400, `bad escape in ${k}`) }
      }
      return route.handle({ params, query: url.searchParams, body, signal })
    }
    throw new HttpError(pathMatched ? 405 : 404, pathMatched ? `method ${req.method ?? ''} not allowed` : `no such endpoint ${url.pathname}`)
  }
}

async function readJsonBody (req: IncomingMessage, max: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > max) throw new HttpError(413, `request body larger than ${max} bytes`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > max) throw new HttpError(413, `request body larger than ${max} bytes`)
    chunks.push(chunk as Buffer)
  }
  if (size === 0) return undefined
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw new HttpError(400, 'request body is not valid JSON')
  }
}

function send (res: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', ...headers })
  res.end(body)
}
