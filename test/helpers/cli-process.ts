import { spawn } from 'node:child_process'
import { BIN } from './daemon.js'
import type { ChildProcess } from 'node:child_process'
import type { CliResult } from './daemon.js'

/** The CLI as a process with a pipe for stdin (and the process, to signal it). */
export interface CliProcess {
  proc: ChildProcess
  stdout: () => string
  stderr: () => string
  done: Promise<CliResult>
}

export function spawnCli (args: string[], options: { env?: Record<string, string>, input?: Uint8Array | string, command?: string[] } = {}): CliProcess {
  const cmd = options.command ?? [process.execPath, BIN, ...args]
  const proc = spawn(cmd[0], cmd.slice(1), { env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  proc.stdout?.on('data', (d: Buffer) => { stdout += d.toString() })
  proc.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  if (options.input !== undefined) proc.stdin?.end(options.input)
  const timer = setTimeout(() => { proc.kill('SIGKILL') }, 60_000)
  const done = new Promise<CliResult>((resolve, reject) => {
    proc.on('error', reject)
    proc.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code: code ?? (signal != null ? -1 : 0), stdout, stderr })
    })
  })
  return { proc, stdout: () => stdout, stderr: () => stderr, done }
}

/**
 * A command run in a pseudo-terminal (util-linux `script`), so the CLI sees a TTY on stdin, stdout
 * and stderr. `exec` leaves no shell between: a Ctrl-C typed on the terminal signals the whole
 * foreground group, and a shell waiting there could die of it; `script -e` exits with the CLI's code.
 */
export function spawnInTty (args: string[], env: Record<string, string> = {}): CliProcess {
  const line = [process.execPath, BIN, ...args].map(a => `'${a.replace(/'/g, '\'\\\'\'')}'`).join(' ')
  return spawnCli([], { env: { TERM: 'xterm', ...env }, command: ['script', '-qfec', `exec ${line}`, '/dev/null'] })
}
