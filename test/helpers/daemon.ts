import { spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ChildProcess } from 'node:child_process'

/**
 * Real daemons as separate processes for integration tests. Every daemon listens on 127.0.0.1
 * only, with mDNS off unless the test runs it inside its own network namespace. Every daemon
 * started here is killed when the test file ends (`stopAll`), so no test leaves a process.
 */

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))
export const BIN = join(ROOT, 'bin', 'fedmesh.js')

export interface CliResult { code: number, stdout: string, stderr: string }

export interface StartOptions {
  name?: string
  args?: string[]
  /** Extra config file content (JSON). */
  config?: Record<string, unknown>
  env?: Record<string, string>
  /** Run the daemon through this prefix (e.g. `ip netns exec ns`). */
  prefix?: string[]
  dataDir?: string
  /** Keep mDNS on (only inside a namespace the test created). */
  mdns?: boolean
  listen?: string
  /**
   * Run an open mesh (`--open`). Default true: the older tests run lab meshes; federation tests
   * pass false to get a private daemon (a federation of one until it joins another).
   */
  open?: boolean
  /** Send the daemon's stdout and stderr to this file (e.g. /dev/full) instead of pipes. */
  output?: string
}

const running = new Set<Daemon>()
const dataDirs = new Set<string>()

export class Daemon {
  stdout = ''
  stderr = ''
  exited: Promise<number | null>
  private exitCode: number | null | undefined

  constructor (readonly proc: ChildProcess, readonly dataDir: string, readonly prefix: string[]) {
    proc.stdout?.on('data', (d: Buffer) => { this.stdout += d.toString() })
    proc.stderr?.on('data', (d: Buffer) => { this.stderr += d.toString() })
    this.exited = new Promise(resolve => {
      proc.on('exit', (code, signal) => {
        this.exitCode = code ?? (signal != null ? null : code)
        running.delete(this)
        resolve(code)
      })
    })
  }

  get alive (): boolean { return this.exitCode === undefined }

  async apiUrl (): Promise<string> {
    return (await readFile(join(this.dataDir, 'api'), 'utf8')).trim()
  }

  async token (): Promise<string> {
    return (await readFile(join(this.dataDir, 'api.token'), 'utf8')).trim()
  }

  /** Run a CLI command against this daemon (through the same namespace prefix). */
  async cli (...args: string[]): Promise<CliResult> {
    return runCli([...args, '--data-dir', this.dataDir], {}, this.prefix)
  }

  /** `fedmesh <args> --json`, parsed; throws with stderr when the command fails. */
  async json<T = any>(...args: string[]): Promise<T> {
    const r = await this.cli(...args, '--json')
    if (r.code !== 0) throw new Error(`fedmesh ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
    return JSON.parse(r.stdout) as T
  }

  /** Call the control API directly. */
  async api (method: string, path: string, body?: unknown, token?: string): Promise<{ status: number, body: any }> {
    const res = await fetch(await this.apiUrl() + path, {
      method,
      headers: {
        authorization: `Bearer ${token ?? await this.token()}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' })
      },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    const text = await res.text()
    let parsed: unknown = text
    try { parsed = JSON.parse(text) } catch {}
    return { status: res.status, body: parsed }
  }

  async peerId (): Promise<string> {
    return (await this.json<{ peerId: string }>('status')).peerId
  }

  /** A dialable TCP address (with /p2p/). */
  async address (): Promise<string> {
    const s = await this.json<{ addresses: string[] }>('status')
    const a = s.addresses.find(a => a.includes('/tcp/'))
    if (a == null) throw new Error('daemon has no tcp address')
    return a
  }

  async stop (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (!this.alive) return this.exitCode ?? null
    this.proc.kill(signal)
    return this.exited
  }

  async kill9 (): Promise<void> {
    if (!this.alive) return
    this.proc.kill('SIGKILL')
    await this.exited
  }
}

export async function tempDir (prefix = 'fedmesh-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  dataDirs.add(dir)
  return dir
}

/** Start a daemon and wait until its control API answers. */
export async function startDaemon (opts: StartOptions = {}): Promise<Daemon> {
  const dataDir = opts.dataDir ?? await tempDir()
  const args = [
    BIN, 'daemon', '--data-dir', dataDir,
    '--listen', opts.listen ?? '/ip4/127.0.0.1/tcp/0',
    '--api', '127.0.0.1:0',
    ...(opts.mdns === true ? [] : ['--no-mdns']),
    ...(opts.open === false ? [] : ['--open']),
    ...(opts.name != null ? ['--name', opts.name] : []),
    ...(opts.args ?? [])
  ]
  if (opts.config != null) {
    const file = join(dataDir, 'test-config.json')
    await writeFile(file, JSON.stringify(opts.config))
    args.push('--config', file)
  }
  const prefix = opts.prefix ?? []
  const cmd = [...prefix, process.execPath, ...args]
  const outFd = opts.output != null ? openSync(opts.output, 'w') : undefined
  const proc = spawn(cmd[0], cmd.slice(1), {
    env: { ...process.env, FEDMESH_PROFILE: 'local', ...opts.env },
    stdio: ['ignore', outFd ?? 'pipe', outFd ?? 'pipe']
  })
  if (outFd != null) closeSync(outFd)
  const daemon = new Daemon(proc, dataDir, prefix)
  running.add(daemon)
  await waitFor(async () => {
    if (!daemon.alive) throw new Error(`daemon exited early: ${daemon.stderr}`)
    const r = await daemon.cli('status', '--json')
    return r.code === 0
    // Usually 1-3 s; 40 s because a CI run on two cores may start six NAT-test daemons and a
    // coturn beside this one (a start that took over 20 s was seen once).
  }, 40_000, 'daemon to answer on its control API')
  return daemon
}

/** Run the CLI as a process. */
export async function runCli (args: string[], env: Record<string, string> = {}, prefix: string[] = []): Promise<CliResult> {
  const cmd = [...prefix, process.execPath, BIN, ...args]
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd[0], cmd.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    proc.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    proc.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const timer = setTimeout(() => { proc.kill('SIGKILL') }, 30_000)
    proc.on('error', reject)
    proc.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code: code ?? -1, stdout, stderr })
    })
  })
}

/** Poll until `check` returns true (errors count as "not yet" until the deadline). */
export async function waitFor (check: () => Promise<boolean> | boolean, timeoutMs: number, what: string, intervalMs = 100): Promise<number> {
  const start = Date.now()
  let lastError: unknown
  while (Date.now() - start < timeoutMs) {
    try {
      if (await check()) return Date.now() - start
    } catch (err) {
      lastError = err
    }
    await new Promise(resolve => setTimeout(resolve, intervalMs))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError != null ? `: ${String(lastError)}` : ''}`)
}

/** Kill every daemon this file started and remove their data dirs. */
export async function stopAll (): Promise<void> {
  await Promise.all([...running].map(async d => { await d.kill9() }))
  await Promise.all([...dataDirs].map(async dir => { await rm(dir, { recursive: true, force: true }) }))
  dataDirs.clear()
}
