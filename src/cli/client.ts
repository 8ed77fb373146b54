import { request } from 'node:http'
import { readApiFiles } from '../daemon/api-files.js'
import { resolveDataDir } from '../daemon/config.js'

/** How a CLI command reaches the daemon: `--api URL` + `$FEDMESH_API_TOKEN`, or the data dir's files. */
export interface EndpointOptions {
  api?: string
  dataDir?: string
}

/** A failure the user should read as one sentence; `exitCode` is what the CLI exits with. */
export class CliError extends Error {
  constructor (message: string, readonly exitCode = 1) {
    super(message)
    this.name = 'CliError'
  }
}

export interface ApiClient {
  url: string
  request<T>(method: string, path: string, body?: unknown): Promise<T>
}

export async function connect (opts: EndpointOptions, env: NodeJS.ProcessEnv = process.env): Promise<ApiClient> {
  let url: string
  let token: string
  if (opts.api != null) {
    url = opts.api.replace(/\/+$/, '')
    token = env.FEDMESH_API_TOKEN ?? ''
    if (token === '') throw new CliError('--api needs the token in FEDMESH_API_TOKEN')
  } else {
    const dataDir = resolveDataDir(opts.dataDir, env)
    const files = await readApiFiles(dataDir)
    if (files == null) throw new CliError(`no daemon running at ${dataDir} (no api file; start one with: fedmesh daemon)`)
    url = files.url
    token = files.token
  }
  return {
    url,
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      let res: { status: number, text: string }
      try {
        res = await send(url + path, method, token, body)
      } catch (err: any) {
        const code = err?.code
        if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EPIPE') {
          throw new CliError(`no daemon running at ${url}`)
        }
        throw new CliError(`cannot reach the daemon at ${url}: ${err?.message ?? String(err)}`)
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

/**
 * One request with node:http: unlike fetch, no timeout on the answer's headers, so a task that
 * runs for an hour (`run --timeout 3600000`) is waited for.
 */
async function send (url: string, method: string, token: string, body?: unknown): Promise<{ status: number, text: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method,
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
    req.on('error', reject)
    req.end(payload)
  })
}

/** The daemon answered with an error status. */
export class ApiError extends CliError {
  constructor (readonly status: number, message: string, readonly doc: unknown) {
    super(status === 401 ? `the daemon refused the token (${message})` : message)
  }
}
