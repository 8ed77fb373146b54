import { readFile } from 'node:fs/promises'
import { availableParallelism, homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import { ConfigError } from '../util/errors.js'
import { isValidKind } from '../services/tasks/frame-limits.js'
import { BUILTIN_KINDS } from '../services/tasks/kinds.js'
import { isValidAllowEntry } from '../services/tasks/allow-list.js'
import { DEFAULT_HOST_POLICY, parseQuietHours } from '../core/host-policy.js'
import { DEFAULT_RELAY_LIMITS } from '../node/config.js'
import { DEFAULT_POWER_SUPPLY_DIR } from '../services/host/power.js'
import { DEFAULT_HOST_SAMPLE_MS } from '../services/host/host-monitor.js'

/**
 * The daemon's configuration: defaults < config file (JSON) < environment < flags. Everything is
 * validated before anything starts; the first problem stops the daemon with a sentence naming
 * the key (exit code 2).
 */

const MAX_TIMEOUT_MS = 60 * 60 * 1000

const multiaddrString = z.string().refine(s => {
  try { multiaddr(s); return s.startsWith('/') } catch { return false }
}, { message: 'is not a valid multiaddr' })

const peerMultiaddr = multiaddrString.refine(s => /\/p2p\/[1-9A-HJ-NP-Za-km-z]+$/.test(s), {
  message: 'must end with /p2p/<peer id>'
})

const stunUrl = z.string().regex(/^stuns?:[A-Za-z0-9.-]{1,253}(:\d{1,5})?$/, { message: 'must be stun:HOST or stun:HOST:PORT' })

const loopbackHostPort = z.string().refine(s => parseHostPort(s) != null, {
  message: 'must be HOST:PORT with a loopback host (127.0.0.1, ::1 or localhost) and a port 0-65535'
})

/** An owner-configured task kind: a command run as a child process, never a shell string. */
export const commandKindSchema = z.object({
  command: z.array(z.string().min(1)).min(1),
  timeoutMs: z.number().int().positive().max(MAX_TIMEOUT_MS).default(60_000),
  // A task's input and output travel in one frame: at most the node's 1 MiB task limit.
  maxInputBytes: z.number().int().positive().max(1024 * 1024).default(1024 * 1024),
  maxOutputBytes: z.number().int().positive().max(1024 * 1024).default(1024 * 1024),
  cwd: z.string().optional(),
  // Who may run it: "self" (the owner, default), "members", a role, or peer ids.
  allow: z.array(z.string().refine(isValidAllowEntry, { message: 'must be "self", "members", a role (submit, serve, cache-write, admin) or a peer id' })).min(1).max(256).default(['self']),
  // Same input, same output on every node: this node's submissions of it are spot-checked.
  deterministic: z.boolean().default(false)
}).strict()

export type CommandKind = z.infer<typeof commandKindSchema>

export const daemonConfigSchema = z.object({
  name: z.string().min(1).max(64).optional(),
  dataDir: z.string().min(1).optional(),
  listen: z.array(multiaddrString).min(1).default(['/ip4/0.0.0.0/tcp/4101']),
  api: loopbackHostPort.default('127.0.0.1:4102'),
  bootstrap: z.array(peerMultiaddr).default([]),
  mdns: z.boolean().default(true),
  dht: z.boolean().default(true),
  // Serve as a relay for members behind NATs (true = the default limits, or the limits given).
  relay: z.union([z.boolean(), z.strictObject({
    maxReservations: z.number().int().min(1).max(10_000).default(DEFAULT_RELAY_LIMITS.maxReservations),
    durationLimitMs: z.number().int().min(10_000).max(MAX_TIMEOUT_MS).default(DEFAULT_RELAY_LIMITS.durationLimitMs),
    dataLimitBytes: z.number().int().min(16 * 1024).max(1024 ** 3).default(DEFAULT_RELAY_LIMITS.dataLimitBytes)
  })]).default(false),
  // Hole-punch relayed connections with WebRTC (UDP); STUN servers it asks for its public address.
  webrtc: z.boolean().default(true),
  stun: z.array(stunUrl).max(16).default([]),
  // Map the listen port on a UPnP gateway (never when listening on loopback only).
  upnp: z.boolean().default(true),
  // Addresses announced as dialable without members confirming them first (a relay's public address).
  announce: z.array(multiaddrString).max(32).default([]),
  concurrency: z.number().int().min(1).max(1024).default(availableParallelism()),
  // Tasks submitted here that may wait for a free slot in the mesh; beyond, POST /v1/tasks answers 503.
  admissionQueueLimit: z.number().int().min(1).max(1_000_000).default(10_000),
  maxConnections: z.number().int().min(1).max(10_000).default(300),
  profile: z.enum(['lan', 'local']).default('lan'),
  // An open mesh (labs, tests): no federation boundary, any peer that connects takes part.
  open: z.boolean().default(false),
  // Share of this node's slots and queue places one remote submitter may hold at once.
  fairShare: z.number().gt(0).max(1).default(0.75),
  // What one writer may keep in this node's cache (keep it the same on every member).
  cacheQuota: z.strictObject({
    entries: z.number().int().min(1).max(100_000_000).default(10_000),
    bytes: z.number().int().min(1024).max(1024 ** 4).default(16 * 1024 * 1024)
  }).prefault({}),
  // A good citizen on the owner's machine (README "On a laptop"): what peers may use of it, when.
  policy: z.strictObject({
    // On battery below this charge (percent), serve peers nothing.
    batteryFloorPercent: z.number().min(0).max(100).default(DEFAULT_HOST_POLICY.batteryFloorPercent),
    // On battery above it, serve at most this share of the slots (at least one).
    onBatteryShare: z.number().gt(0).max(1).default(DEFAULT_HOST_POLICY.onBatteryShare),
    // While someone uses the machine (logind's idle hint), serve at most this many slots.
    activeUserSlots: z.number().int().min(0).max(1024).default(DEFAULT_HOST_POLICY.activeUserSlots),
    // Local time span when nothing is served, e.g. "22:00-07:00"; null = none.
    quietHours: z.string().refine(s => parseQuietHours(s) != null, { message: 'must be HH:MM-HH:MM (24-hour local time), e.g. 22:00-07:00' }).nullable().default(DEFAULT_HOST_POLICY.quietHours),
    // Serve only on the cores the owner's own programs leave free.
    yieldToOwner: z.boolean().default(DEFAULT_HOST_POLICY.yieldToOwner),
    // Peers' tasks running when serving pauses: let them finish, or stop and hand them back.
    onPause: z.enum(['finish', 'handBack']).default('finish'),
    // Read power, presence and the owner's load. Default: yes, except in the `local` profile
    // (daemons sharing one host would count each other as the owner).
    hostSignals: z.boolean().optional(),
    // Where the power supplies are listed (Linux).
    powerSupplyDir: z.string().min(1).default(DEFAULT_POWER_SUPPLY_DIR),
    // How often power and the owner's load are read, ms (presence: every 30 s).
    sampleIntervalMs: z.number().int().min(100).max(600_000).default(DEFAULT_HOST_SAMPLE_MS)
  }).prefault({}),
  // The daemon's log on stderr: readable lines (text) or pino-style JSON; lines below the level are not written.
  logFormat: z.enum(['text', 'json']).default('text'),
  logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /** Control API bounds (README "Control API"); each defaults to DEFAULT_API_LIMITS. */
  apiLimits: z.object({
    maxConnections: z.number().int().min(1).max(60_000).optional(),
    headersTimeoutMs: z.number().int().min(100).max(MAX_TIMEOUT_MS).optional(),
    requestTimeoutMs: z.number().int().min(100).max(MAX_TIMEOUT_MS).optional(),
    keepAliveTimeoutMs: z.number().int().min(100).max(MAX_TIMEOUT_MS).optional(),
    maxBodyBytes: z.number().int().min(1024).max(64 * 1024 * 1024).optional(),
    maxJsonDepth: z.number().int().min(1).max(10_000).optional(),
    maxEventStreams: z.number().int().min(1).max(10_000).optional()
  }).strict().default({}),
  /** Spot checks of deterministic kinds (README "Spot checks"); `fraction` defaults to DEFAULT_SPOT_CHECK_FRACTION. */
  spotCheck: z.object({
    fraction: z.number().min(0).max(1).optional(),
    kinds: z.array(z.string().refine(isValidKind, { message: 'is not a valid kind name' })).max(256).optional()
  }).strict().default({}),
  tasks: z.record(z.string(), commandKindSchema).default({}).superRefine((tasks, ctx) => {
    for (const kind of Object.keys(tasks)) {
      if (!isValidKind(kind)) {
        ctx.addIssue({ code: 'custom', path: [kind], message: 'is not a valid kind name (lower case letters, digits, . _ -; at most 64)' })
      } else if (BUILTIN_KINDS.includes(kind)) {
        ctx.addIssue({ code: 'custom', path: [kind], message: 'is a built-in kind and cannot be replaced' })
      }
    }
  })
}).strict()

export type DaemonConfig = z.infer<typeof daemonConfigSchema> & { dataDir: string, configFile?: string }

/** Flags as the CLI parsed them; undefined = not given. */
export interface DaemonFlags {
  dataDir?: string
  listen?: string[]
  api?: string
  bootstrap?: string[]
  mdns?: boolean
  dht?: boolean
  name?: string
  concurrency?: string
  config?: string
  open?: boolean
  relay?: boolean
  announce?: string[]
  stun?: string[]
  upnp?: boolean
  /** An invite token to redeem at start (ignored when already a member of its federation). */
  join?: string
  logFormat?: string
  logLevel?: string
}

export function parseHostPort (s: string): { host: string, port: number } | undefined {
  const m = /^(\[::1\]|::1|127\.0\.0\.1|localhost):(\d{1,5})$/.exec(s)
  if (m == null) return undefined
  const port = Number(m[2])
  if (port > 65535) return undefined
  return { host: m[1].replace(/^\[|\]$/g, ''), port }
}

/** The data dir: flag, `$FEDMESH_DATA_DIR`, the config file's `dataDir`, `$XDG_DATA_HOME/fedmesh`, `~/.local/share/fedmesh`. */
export function resolveDataDir (flag: string | undefined, env: NodeJS.ProcessEnv, fromFile?: string): string {
  const dir = flag ?? nonEmpty(env.FEDMESH_DATA_DIR) ?? fromFile ??
    (nonEmpty(env.XDG_DATA_HOME) != null ? join(env.XDG_DATA_HOME as string, 'fedmesh') : join(nonEmpty(env.HOME) ?? homedir(), '.local', 'share', 'fedmesh'))
  return resolve(dir)
}

/** Environment variables the daemon reads, mapped to config keys. */
function fromEnv (env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const list = (v: string | undefined): string[] | undefined => nonEmpty(v)?.split(',').map(s => s.trim()).filter(Boolean)
  const set = (key: string, value: unknown): void => { if (value !== undefined) out[key] = value }
  set('name', nonEmpty(env.FEDMESH_NAME))
  set('listen', list(env.FEDMESH_LISTEN))
  set('api', nonEmpty(env.FEDMESH_API))
  set('bootstrap', list(env.FEDMESH_BOOTSTRAP))
  set('mdns', envBool('FEDMESH_MDNS', env.FEDMESH_MDNS))
  set('dht', envBool('FEDMESH_DHT', env.FEDMESH_DHT))
  set('concurrency', envInt('FEDMESH_CONCURRENCY', env.FEDMESH_CONCURRENCY))
  set('profile', nonEmpty(env.FEDMESH_PROFILE))
  set('open', envBool('FEDMESH_OPEN', env.FEDMESH_OPEN))
  set('logFormat', nonEmpty(env.FEDMESH_LOG_FORMAT))
  set('logLevel', nonEmpty(env.FEDMESH_LOG_LEVEL))
  return out
}

function fromFlags (flags: DaemonFlags): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const set = (key: string, value: unknown): void => { if (value !== undefined) out[key] = value }
  set('name', flags.name)
  set('listen', flags.listen)
  set('api', flags.api)
  set('bootstrap', flags.bootstrap)
  set('mdns', flags.mdns)
  set('dht', flags.dht)
  set('concurrency', flags.concurrency == null ? undefined : intFrom('--concurrency', flags.concurrency))
  set('open', flags.open)
  set('logFormat', flags.logFormat)
  set('logLevel', flags.logLevel)
  set('relay', flags.relay)
  set('announce', flags.announce)
  set('stun', flags.stun)
  set('upnp', flags.upnp)
  return out
}

async function readConfigFile (path: string): Promise<Record<string, unknown>> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err: any) {
    throw new ConfigError(`cannot read config file ${path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`, 'config')
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err: any) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${err.message}`, 'config')
  }
  if (parsed == null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path} must hold a JSON object`, 'config')
  }
  return parsed as Record<string, unknown>
}

/** Load, merge and validate. Throws ConfigError naming the offending key. */
export async function loadDaemonConfig (flags: DaemonFlags, env: NodeJS.ProcessEnv = process.env): Promise<DaemonConfig> {
  const configFile = flags.config ?? nonEmpty(env.FEDMESH_CONFIG)
  const file = configFile != null ? await readConfigFile(configFile) : {}
  const merged = { ...file, ...fromEnv(env), ...fromFlags(flags) }
  const result = daemonConfigSchema.safeParse(merged)
  if (!result.success) {
    throw configErrorFrom(result.error, configFile)
  }
  const dataDir = resolveDataDir(flags.dataDir, env, typeof file.dataDir === 'string' ? resolve(file.dataDir) : undefined)
  return { ...result.data, dataDir, configFile }
}

function configErrorFrom (error: z.ZodError, configFile?: string): ConfigError {
  const issue = error.issues[0]
  const where = configFile != null ? ` (config file ${configFile}, environment or flags)` : ''
  if (issue.code === 'unrecognized_keys') {
    const key = [...issue.path, issue.keys[0]].join('.')
    return new ConfigError(`config: unknown key "${key}"${where}`, key)
  }
  const key = issue.path.join('.')
  const message = issue.code === 'invalid_type'
    ? `must be ${issue.expected}`
    : issue.message.replace(/^Too (small|big): expected (\w+) to (be|have) /, 'must be ')
  return new ConfigError(`config: "${key}" ${message}${where}`, key)
}

function nonEmpty (v: string | undefined): string | undefined {
  return v == null || v === '' ? undefined : v
}

function envBool (name: string, v: string | undefined): boolean | undefined {
  if (nonEmpty(v) == null) return undefined
  if (/^(1|true|yes|on)$/i.test(v as string)) return true
  if (/^(0|false|no|off)$/i.test(v as string)) return false
  throw new ConfigError(`${name} must be true or false, not "${v}"`, name)
}

function envInt (name: string, v: string | undefined): number | undefined {
  if (nonEmpty(v) == null) return undefined
  return intFrom(name, v as string)
}

function intFrom (name: string, v: string): number {
  if (!/^-?\d+$/.test(v.trim())) throw new ConfigError(`${name} must be an integer, not "${v}"`, name)
  return Number(v)
}
