import { request } from 'node:http'
import { readApiFiles } from '../daemon/api-files.js'
import { resolveDataDir } from '../daemon/config.js'
import { ApiError, CliError, NoDaemonError, UsageError } from './errors.js'

export { ApiError, CliError } from './errors.js'

/** How a CLI command reaches the daemon: `--api URL|HOST:PORT` + `$FEDMESH_API_TOKEN`, or the data dir's files. */
export interface EndpointOptions {
  api?: string
  dataDir?: string
}

export interface ApiClient {
  url: string
  /** The bearer token it sends (for requests it cannot make through `request`, e.g. an event stream). */
  token: string
  request<T>(method: string, path: string, body?: unknown, options?: RequestOptions): Promise<T>
}

export interface RequestOptions {
  /** Abandon the request (the CLI's Ctrl-C). */
  signal?: AbortSignal
}

/**
 * `--api` as the daemon takes it (`127.0.0.1:4102`, `[::1]:4102`, `localhost:4102`) or as a
 * base URL (`http://127.0.0.1:4102`); the base URL without a trailing slash.
 */
export function apiBaseUrl (api: string): string {
  const text = api.trim()
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`
  let url: URL
  try {
    url = new URL(withScheme)
  } catch {
    throw new UsageError(`--api must be HOST:PORT or a URL such as http://127.0.0.1:4102 (got "${api}")`)
  }
  if (url.protocol !== 'http:' || url.port === '' || (url.pathname !== '/' && url.pathname !== '') || url.search !== '') {
    throw new UsageError(`--api must be HOST:PORT or a URL such as http://127.0.0.1:4102 (got "${api}")`)
  }
  return `${url.protocol}//${url.host}`
}

export async function connect (opts: EndpointOptions, env: NodeJS.ProcessEnv = process.env): Promise<ApiClient> {
  let url: string
  let token: string
  if (opts.api != null) {
    url = apiBaseUrl(opts.api)
    token = env.FEDMESH_API_TOKEN ?? ''
    if (token === '') throw new UsageError('--api needs the token in FEDMESH_API_TOKEN')
  } else {
    const dataDir = resolveDataDir(opts.dataDir, env)
    const files = await readApiFiles(dataDir)
    if (files == null) throw new NoDaemonError(`no daemon running at ${dataDir} (no api file; start one with: fedmesh daemon)`)
    url = files.url
    token = files.token
  }
  return {
    url,
    token,
    async request<T>(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
      let res: { status: number, text: string }
      try {
        res = await send(url + path, method, token, body, options.signal)
      } catch (err: any) {
        if (options.signal?.aborted === true) throw err
        throw unreachable(url, err)
      }
      let doc: any
      try { doc = res.text === '' ? null : JSON.parse(res.text) } catch { doc = res.text }
      if (res.status < 200 || res.status >= 300) {
        const message = typeof doc === 'object' && doc?.error != null ? doc.error : `HTTP ${res.status}`
        throw new ApiError(res.status, message, doc)
      }
      return doc as T
    }
  }
}

/** Marks a request error that came after the connection was made. */
const CONNECTED = Symbol('connected')

/** The CLI's error for a request that never got an answer: no daemon (exit 3), or why not. */
export function unreachable (url: string, err: any): CliError {
  const code = err?.code
  if (err?.[CONNECTED] === true && (code === 'ECONNRESET' || code === 'EPIPE')) {
    return new CliError(`the daemon at ${url} closed the connection before it answered`)
  }
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EPIPE' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH') {
    return new NoDaemonError(`no daemon running at ${url}`)
  }
  return new CliError(`cannot reach the daemon at ${url}: ${err?.message ?? String(err)}`)
}

/**
 * One request with node:http: unlike fetch, no timeout on the answer's headers, so a task that
 * runs for an hour (`run --timeout 3600000`) is waited for.
 */
async function send (url: string, method: string, token: string, body?: unknown, signal?: AbortSignal): Promise<{ status: number, text: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method,
      signal,
      headers: {
        authorization: `Bearer ${token}`,
        ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) })
      }
    }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }) })
      res.on('error', reject)
    })
    // A connection that was made and then cut is a daemon that hung up, not one that is absent.
    let connected = false
    req.on('socket', socket => {
      if (!socket.connecting) connected = true
      else socket.once('connect', () => { connected = true })
    })
    req.on('error', (err: any) => { reject(connected && err != null && typeof err === 'object' ? Object.assign(err, { [CONNECTED]: true }) : err) })
    req.end(payload)
  })
}
