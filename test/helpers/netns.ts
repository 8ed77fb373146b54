import { execFileSync } from 'node:child_process'

/**
 * Linux network namespaces created by tests, so multicast (mDNS) and link cuts never touch the
 * machine's real interfaces. Needs root; `netnsAvailable()` says why not when it cannot.
 */

export function netnsUnavailableReason (): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux'
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root (ip netns add)'
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' })
  } catch {
    return 'the ip command (iproute2) is not available'
  }
  return undefined
}

/** Why two namespaces with a pullable cable cannot be made here (also needs `tc`), or undefined. */
export function vethUnavailableReason (): string | undefined {
  const reason = netnsUnavailableReason()
  if (reason != null) return reason
  try {
    execFileSync('tc', ['-V'], { stdio: 'ignore' })
  } catch {
    return 'the tc command (iproute2) is not available to cut the link'
  }
  return undefined
}

function ip (...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

/** `tc` inside a namespace. */
function tc (ns: string, ...args: string[]): void {
  execFileSync('ip', ['netns', 'exec', ns, 'tc', ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
}

/** A namespace with only `lo`, up, multicast on, and a route for 224.0.0.0/4 over it. */
export function createLoopbackNamespace (name: string): { name: string, prefix: string[], destroy(): void } {
  try { ip('netns', 'del', name) } catch {}
  ip('netns', 'add', name)
  ip('-n', name, 'link', 'set', 'lo', 'up')
  ip('-n', name, 'link', 'set', 'lo', 'multicast', 'on')
  ip('-n', name, 'route', 'add', '224.0.0.0/4', 'dev', 'lo')
  return {
    name,
    prefix: ['ip', 'netns', 'exec', name],
    destroy: () => { try { ip('netns', 'del', name) } catch {} }
  }
}

/**
 * Two namespaces joined by a veth pair (a cable the test can pull): `a` has 10.77.0.1/24 and `b`
 * has 10.77.0.2/24 (addresses that exist only inside them). `cut()` makes both ends drop every
 * packet they would send (a root `pfifo` queue of length 0), so nothing — no FIN, no RST, no
 * ICMP — crosses and neither side's stack reports an error: established connections just go
 * silent and new dials time out, as with a pulled cable. (Taking the link down instead makes the
 * local stacks fail sends and dials at once, which is a different failure; netem and iptables
 * are not needed.) `heal()` removes the queues.
 */
export function createVethPair (tag: string): {
  a: { name: string, prefix: string[], ip: string }
  b: { name: string, prefix: string[], ip: string }
  cut(): void
  heal(): void
  destroy(): void
} {
  const a = `${tag}-a`
  const b = `${tag}-b`
  for (const n of [a, b]) { try { ip('netns', 'del', n) } catch {} }
  ip('netns', 'add', a)
  ip('netns', 'add', b)
  ip('link', 'add', `${tag}-va`, 'netns', a, 'type', 'veth', 'peer', 'name', `${tag}-vb`, 'netns', b)
  ip('-n', a, 'addr', 'add', '10.77.0.1/24', 'dev', `${tag}-va`)
  ip('-n', b, 'addr', 'add', '10.77.0.2/24', 'dev', `${tag}-vb`)
  for (const [n, dev] of [[a, `${tag}-va`], [b, `${tag}-vb`]]) {
    ip('-n', n, 'link', 'set', 'lo', 'up')
    ip('-n', n, 'link', 'set', dev, 'up')
  }
  return {
    a: { name: a, prefix: ['ip', 'netns', 'exec', a], ip: '10.77.0.1' },
    b: { name: b, prefix: ['ip', 'netns', 'exec', b], ip: '10.77.0.2' },
    cut: () => {
      tc(a, 'qdisc', 'replace', 'dev', `${tag}-va`, 'root', 'pfifo', 'limit', '0')
      tc(b, 'qdisc', 'replace', 'dev', `${tag}-vb`, 'root', 'pfifo', 'limit', '0')
    },
    heal: () => {
      tc(a, 'qdisc', 'del', 'dev', `${tag}-va`, 'root')
      tc(b, 'qdisc', 'del', 'dev', `${tag}-vb`, 'root')
    },
    destroy: () => { for (const n of [a, b]) { try { ip('netns', 'del', n) } catch {} } }
  }
}
