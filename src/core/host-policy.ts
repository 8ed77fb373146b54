/**
 * How much of this machine fedmesh offers its peers, given what the machine is doing: a pure
 * function of the host's signals, the owner's policy, a manual pause and the time of day, so
 * every rule is tested under injected signals and time. The slots it gives are for remote work
 * only: the owner's own tasks are the owner's call and always run.
 */

/** Is someone at the machine? */
export type Presence = 'active' | 'idle' | 'unknown'

/** What the host component measured (services/host). */
export interface HostSignals {
  cores: number
  power: { onBattery: boolean, batteryPercent?: number }
  presence: { state: Presence, idleMs?: number }
  /** Cores the owner's own programs keep busy (fedmesh's own work excluded); undefined until measured. */
  ownerBusyCores?: number
}

/** The owner's policy (daemon config `policy`); every field has a documented default. */
export interface HostPolicy {
  /** On battery below this charge, percent, serve nothing. Default 30; 0 = never for the charge. */
  batteryFloorPercent: number
  /** On battery (above the floor), serve at most this share of the slots (at least one). Default 0.5. */
  onBatteryShare: number
  /** While someone uses the machine, serve at most this many slots. Default 1. */
  activeUserSlots: number
  /** Local time span `HH:MM-HH:MM` (may cross midnight) when nothing is served; null = none. Default null. */
  quietHours: string | null
  /** Serve only on the cores the owner's own programs leave free. Default true. */
  yieldToOwner: boolean
}

export const DEFAULT_HOST_POLICY: HostPolicy = {
  batteryFloorPercent: 30,
  onBatteryShare: 0.5,
  activeUserSlots: 1,
  quietHours: null,
  yieldToOwner: true
}

/** A pause asked for by the owner (`fedmesh pause [--for D]`). */
export interface ManualPause {
  /** When it was asked for, epoch ms. */
  since: number
  /** When it ends by itself, epoch ms; undefined = until `fedmesh resume`. */
  until?: number
}

/** Why this node serves less than its slots: the reason codes adverts and tables carry. */
export type ServingReason = 'paused' | 'quiet-hours' | 'battery-low' | 'on-battery' | 'owner-busy' | 'user-active'

export interface Serving {
  /** Slots remote peers' tasks may take here now (0 … configured). */
  slots: number
  /** Nothing is served: no remote task is accepted or started. */
  paused: boolean
  /** Why `slots` is below the configured concurrency (the strongest rule); undefined when it is not. */
  reason?: ServingReason
  /** One sentence for people. */
  detail?: string
  /** A manual pause's end, epoch ms. */
  until?: number
}

export interface PolicyInput {
  signals: HostSignals
  policy: HostPolicy
  /** Task slots configured (`concurrency`). */
  slots: number
  /** Epoch ms. */
  now: number
  /** Minutes since local midnight at `now` (the caller knows the time zone). */
  minuteOfDay: number
  pause?: ManualPause
}

/** The serving decision: the most restrictive rule that applies wins, with its reason. */
export function decideServing (input: PolicyInput): Serving {
  const { signals, policy, slots, now } = input
  const pause = input.pause != null && (input.pause.until == null || input.pause.until > now) ? input.pause : undefined
  if (pause != null) {
    return { slots: 0, paused: true, reason: 'paused', detail: pause.until == null ? 'paused by its owner' : `paused by its owner until ${new Date(pause.until).toISOString()}`, ...(pause.until != null ? { until: pause.until } : {}) }
  }
  if (policy.quietHours != null && inQuietHours(policy.quietHours, input.minuteOfDay)) {
    return { slots: 0, paused: true, reason: 'quiet-hours', detail: `quiet hours (${policy.quietHours})` }
  }
  const { onBattery, batteryPercent } = signals.power
  if (onBattery && batteryPercent != null && batteryPercent < policy.batteryFloorPercent) {
    return { slots: 0, paused: true, reason: 'battery-low', detail: `on battery at ${batteryPercent} % (below ${policy.batteryFloorPercent} %)` }
  }
  // Each cap that applies, tightest first wins; ties keep this order.
  const caps: Array<{ slots: number, reason: ServingReason, detail: string }> = []
  if (onBattery) {
    caps.push({ slots: Math.max(1, Math.floor(slots * policy.onBatteryShare)), reason: 'on-battery', detail: `on battery${batteryPercent != null ? ` at ${batteryPercent} %` : ''}` })
  }
  if (policy.yieldToOwner && signals.ownerBusyCores != null) {
    const free = Math.max(0, Math.round(signals.cores - signals.ownerBusyCores))
    caps.push({ slots: free, reason: 'owner-busy', detail: `the owner's programs keep ${signals.ownerBusyCores.toFixed(1)} of ${signals.cores} cores busy` })
  }
  if (signals.presence.state === 'active') {
    caps.push({ slots: policy.activeUserSlots, reason: 'user-active', detail: 'someone is using this machine' })
  }
  let best: Serving = { slots, paused: false }
  for (const cap of caps) {
    if (cap.slots < best.slots) best = { slots: cap.slots, paused: cap.slots === 0, reason: cap.reason, detail: cap.detail }
  }
  return best
}

/** `HH:MM-HH:MM` → minutes since midnight, or undefined when malformed. */
export function parseQuietHours (span: string): { from: number, to: number } | undefined {
  const m = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/.exec(span)
  if (m == null) return undefined
  return { from: Number(m[1]) * 60 + Number(m[2]), to: Number(m[3]) * 60 + Number(m[4]) }
}

/** Is `minuteOfDay` inside the span (start included, end excluded; it may cross midnight)? */
export function inQuietHours (span: string, minuteOfDay: number): boolean {
  const hours = parseQuietHours(span)
  if (hours == null || hours.from === hours.to) return false
  return hours.from < hours.to
    ? minuteOfDay >= hours.from && minuteOfDay < hours.to
    : minuteOfDay >= hours.from || minuteOfDay < hours.to
}

/** Same decision (for "did anything change?"). */
export function sameServing (a: Serving, b: Serving): boolean {
  return a.slots === b.slots && a.paused === b.paused && a.reason === b.reason && a.until === b.until
}
