import { execFile } from 'node:child_process'
import { readdir } from 'node:fs/promises'

/** Is someone using this machine? `unknown` when the session manager cannot tell. */
export type PresenceState = 'active' | 'idle' | 'unknown'

export interface PresenceSignal {
  state: PresenceState
  /** How long the sessions have been idle, ms (when idle and logind says since when). */
  idleMs?: number
}

/** Runs a command and returns its stdout (tests inject a fake). */
export type RunCommand = (file: string, args: string[], options: { timeoutMs: number }) => Promise<string>

const COMMAND_TIMEOUT_MS = 2_000
/** Where systemd-logind keeps one file per open session (absent without logind). */
export const LOGIND_SESSIONS_DIR = '/run/systemd/sessions'
/** Sessions looked at, at most (a server with hundreds of logins is not a laptop). */
const MAX_SESSIONS = 16

export const runCommand: RunCommand = async (file, args, options) => new Promise((resolve, reject) => {
  execFile(file, args, { timeout: options.timeoutMs, maxBuffer: 64 * 1024, windowsHide: true }, (err, stdout) => {
    if (err != null) reject(err)
    else resolve(stdout)
  })
})

/**
 * The owner's presence from systemd-logind: among the active user sessions (`loginctl
 * list-sessions`), any with `IdleHint=no` means someone is at the machine; all idle means
 * nobody is (`IdleSinceHint`, µs since the epoch, says since when). No logind, no active
 * session or an error: `unknown` (the policy then does not cap for presence). When logind's
 * session directory (`sessionsDir`) is missing or empty, nobody is logged in and loginctl is not
 * run: a server or container then starts no process every 30 s to learn nothing.
 */
export async function readPresence (now: number, run: RunCommand = runCommand, sessionsDir = LOGIND_SESSIONS_DIR): Promise<PresenceSignal> {
  if (!await mayHaveSessions(sessionsDir)) return { state: 'unknown' }
  try {
    const list = await run('loginctl', ['list-sessions', '--no-legend', '--no-pager'], { timeoutMs: COMMAND_TIMEOUT_MS })
    const ids = list.split('\n').map(l => l.trim().split(/\s+/)[0]).filter(id => id != null && /^[\w-]{1,64}$/.test(id)).slice(0, MAX_SESSIONS)
    let sawIdle = false
    let idleSince = 0
    for (const id of ids) {
      const props = parseProperties(await run('loginctl', ['show-session', id, '-p', 'Active', '-p', 'Class', '-p', 'IdleHint', '-p', 'IdleSinceHint'], { timeoutMs: COMMAND_TIMEOUT_MS }))
      if (props.Active !== 'yes' || (props.Class != null && props.Class !== 'user')) continue
      if (props.IdleHint === 'no') return { state: 'active' }
      if (props.IdleHint === 'yes') {
        sawIdle = true
        idleSince = Math.max(idleSince, Number(props.IdleSinceHint ?? 0) / 1000)
      }
    }
    if (!sawIdle) return { state: 'unknown' }
    return idleSince > 0 && idleSince <= now ? { state: 'idle', idleMs: Math.round(now - idleSince) } : { state: 'idle' }
  } catch {
    return { state: 'unknown' }
  }
}

/** False when `dir` is missing or empty; true when it lists sessions or cannot be read (then loginctl decides). */
async function mayHaveSessions (dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length > 0
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT'
  }
}

function parseProperties (text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=')
    if (eq > 0) out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim()
  }
  return out
}
