import { spawn } from 'node:child_process'
import { ErrorCode } from '../../wire/task.js'
import { TaskError } from './task-error.js'
import type { TaskHandler } from './handlers.js'

/** An owner-configured kind (config `tasks`): a program, never a shell string. */
export interface CommandSpec {
  command: string[]
  timeoutMs: number
  maxInputBytes?: number
  maxOutputBytes: number
  cwd?: string
  /** Who may run it (allow-list.ts). Default `["self"]`: only the node's owner. */
  allow?: string[]
  /** Same input, same output on every node: this node's submissions of the kind are spot-checked. */
  deterministic?: boolean
}

/** After SIGTERM at the deadline, a child gets this long before SIGKILL. */
const KILL_GRACE_MS = 500
const STDERR_TAIL_BYTES = 2048

/**
 * Runs the owner's command with the task input on stdin and returns its stdout. The child is
 * killed at the deadline or when its output passes the cap; a non-zero exit is a failure with
 * the end of stderr as the message.
 */
export function commandHandler (spec: CommandSpec): TaskHandler {
  return async (input, ctx) => {
    if (spec.maxInputBytes != null && input.byteLength > spec.maxInputBytes) {
      throw new TaskError(ErrorCode.INPUT_TOO_LARGE, `input of ${input.byteLength} bytes is larger than this kind's limit of ${spec.maxInputBytes}`)
    }
    const limit = Math.min(spec.maxOutputBytes, ctx.maxOutputBytes)
    const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(spec.timeoutMs)])
    return new Promise<Uint8Array>((resolve, reject) => {
      // Its own process group: a script's children die with it at the deadline.
      const child = spawn(spec.command[0], spec.command.slice(1), { cwd: spec.cwd, stdio: ['pipe', 'pipe', 'pipe'], detached: true })
      const out: Buffer[] = []
      let outBytes = 0
      let errTail = Buffer.alloc(0)
      let failure: TaskError | undefined
      let killTimer: NodeJS.Timeout | undefined

      const signalGroup = (sig: NodeJS.Signals): void => {
        try {
          if (child.pid != null) process.kill(-child.pid, sig)
        } catch {
          child.kill(sig)
        }
      }
      const kill = (reason: TaskError): void => {
        failure ??= reason
        signalGroup('SIGTERM')
        killTimer = setTimeout(() => { signalGroup('SIGKILL') }, KILL_GRACE_MS)
        killTimer.unref()
      }
      const onAbort = (): void => { kill(new TaskError(ErrorCode.TIMED_OUT, `${spec.command[0]} did not finish in time`)) }
      signal.addEventListener('abort', onAbort, { once: true })

      child.stdout.on('data', (chunk: Buffer) => {
        outBytes += chunk.length
        if (outBytes > limit) {
          kill(new TaskError(ErrorCode.OUTPUT_TOO_LARGE, `output passed ${limit} bytes`))
          return
        }
        out.push(chunk)
      })
      child.stderr.on('data', (chunk: Buffer) => {
        errTail = Buffer.concat([errTail, chunk]).subarray(-STDERR_TAIL_BYTES)
      })
      child.stdin.on('error', () => {}) // the child may exit without reading its input
      child.stdin.end(input)

      child.on('error', (err) => {
        failure ??= new TaskError(ErrorCode.FAILED, `cannot run ${spec.command[0]}: ${err.message}`)
      })
      // After a kill, settle on exit: a grandchild holding the pipes must not keep the slot busy.
      child.on('exit', () => {
        if (failure == null) return
        child.stdout.destroy()
        child.stderr.destroy()
      })
      child.on('close', (code, sig) => {
        clearTimeout(killTimer)
        signal.removeEventListener('abort', onAbort)
        if (failure != null) {
          signalGroup('SIGKILL') // whatever is left of the group
          reject(failure)
          return
        }
        if (code !== 0) {
          const why = sig != null ? `killed by ${sig}` : `exited with ${code}`
          reject(new TaskError(ErrorCode.FAILED, `${spec.command[0]} ${why}: ${errTail.toString('utf8').trim()}`))
          return
        }
        resolve(new Uint8Array(Buffer.concat(out)))
      })
    })
  }
}
