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
      let res: Response
      try {
        res = await fetch(url + path, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' })
          },
          body: body === undefined ? undefined : JSON.stringify(body)
        })
      } catch (err: any) {
        const code = err?.cause?.code
        if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') {
          throw new CliError(`no daemon running at ${url}`)
        }
        throw new CliError(`cannot reach the daemon at ${url}: ${err?.cause?.message ?? err.message}`)
      }
      const text = await res.text()
      let doc: any
      try { doc = text === '' ? null : JSON.parse(text) } catch { doc = text }
      if (!res.ok) {
        const message = typeof doc === 'object' && doc?.error != null ? doc.error : `HTTP ${res.status}`
        throw new ApiError(res.status, message, doc)
      }
      return doc as T
    }
  }
}

/** The daemon answered with an error status. */
export class ApiError extends CliError {
  constructor (readonly status: number, message: string, readonly doc: unknown) {
    super(status === 401 ? `the daemon refused the token (${message})` : message)
  }
}
