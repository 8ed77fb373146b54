import { execFileSync, spawn } from 'node:child_process'
import { netnsUnavailableReason } from './netns.js'
import type { ChildProcess } from 'node:child_process'

/**
 * A small internet in network namespaces the test creates, with real NATs (nftables masquerade):
 *
 *   pub (30.0.0.1) ──┐
 *                    ├── wan (a bridge)
 *   ra (30.0.0.2) ───┤        ra: NAT for home-a (192.168.1.2 behind 192.168.1.1)
 *   rb (30.0.0.3) ───┘        rb: NAT for home-b (192.168.2.2 behind 192.168.2.1)
 *
 * 30.0.0.0/24 stands for the internet: it must count as public for libp2p (documentation ranges
 * such as 203.0.113.0/24 count as private there), and it exists only inside these namespaces —
 * they have no route to the machine's real interfaces, so nothing leaves them.
 *
 * The routers keep conntrack state and drop unsolicited packets from the WAN, like a home router.
 * `cone` NATs map a home's UDP port to the same external port whatever the destination (Linux
 * masquerade keeps the source port when it can): a hole punch works. `symmetric` NATs
 * (`masquerade random`) pick a new external port per destination: the port a STUN server saw is
 * not the one the other home's packets would need, so a hole punch cannot work.
 */
export interface NatTopology {
  pub: Host
  homeA: Host
  homeB: Host
  /** Run a process in a namespace (killed by destroy()). */
  spawnIn(host: Host, cmd: string[]): ChildProcess
  destroy(): void
}

export interface Host {
  ns: string
  prefix: string[]
  ip: string
}

/** Why this test cannot run here, or undefined. */
export function natTopologyUnavailableReason (): string | undefined {
  const reason = netnsUnavailableReason()
  if (reason != null) return reason
  try {
    execFileSync('nft', ['--version'], { stdio: 'ignore' })
  } catch {
    return 'nft (nftables) is not installed: apt-get install nftables'
  }
  return undefined
}

function ip (...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

function inNs (ns: string, cmd: string[], input?: string): void {
  execFileSync('ip', ['netns', 'exec', ns, ...cmd], { input, stdio: [input == null ? 'ignore' : 'pipe', 'ignore', 'pipe'] })
}

function routerRules (symmetric: boolean): string {
  return `
table ip nat {
  chain postrouting {
    type nat hook postrouting priority 100; policy accept
    oifname "wan" ${symmetric ? 'masquerade random' : 'masquerade'}
  }
}
table ip filter {
  chain forward_filter {
    type filter hook forward priority 0; policy drop
    ct state established,related accept
    iifname "lan" accept
  }
  chain input_filter {
    type filter hook input priority 0; policy accept
    iifname "wan" ct state established,related accept
    iifname "wan" drop
  }
}
`
}

const HOSTS = ['wan', 'pub', 'ra', 'rb', 'ha', 'hb']
/** Namespaces of this helper: `fn<pid of the test process><c|s>-<host>`. */
const OURS = /^fn(\d+)[cs]-(wan|pub|ra|rb|ha|hb)$/

/** Kill what still runs in a namespace (processes this helper started there), then delete it. */
function removeNamespace (ns: string): void {
  let pids: string[] = []
  try {
    pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(/\s+/).filter(p => p !== '')
  } catch {}
  for (const pid of pids) { try { process.kill(Number(pid), 'SIGKILL') } catch {} }
  try { ip('netns', 'del', ns) } catch {}
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err: any) {
    return err?.code === 'EPERM'
  }
}

/** Namespaces (and processes in them) left by a test process that died before its cleanup. */
function sweepStale (): void {
  let list = ''
  try {
    list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
  } catch {}
  for (const line of list.split('\n')) {
    const ns = line.split(' ')[0]
    const m = OURS.exec(ns)
    if (m != null && !alive(Number(m[1]))) removeNamespace(ns)
  }
}

/**
 * A topology whose namespaces are named after this test process, so a later run removes them
 * (and what still runs there) if this process dies before destroy().
 */
export function createNatTopology (nat: 'cone' | 'symmetric'): NatTopology {
  sweepStale()
  // Interface names (at most 15 characters) derive from it: `fn` + a pid (7 digits at most) + 1.
  const tag = `fn${process.pid}${nat[0]}`
  const names = HOSTS.map(n => `${tag}-${n}`)
  const [wan, pub, ra, rb, ha, hb] = names
  const processes = new Set<ChildProcess>()
  const destroy = (): void => {
    for (const p of processes) { try { p.kill('SIGKILL') } catch {} }
    processes.clear()
    for (const n of names) removeNamespace(n)
  }
  destroy()
  try {
    for (const n of names) {
      ip('netns', 'add', n)
      ip('-n', n, 'link', 'set', 'lo', 'up')
    }
    ip('-n', wan, 'link', 'add', 'br0', 'type', 'bridge')
    ip('-n', wan, 'link', 'set', 'br0', 'up')
    const cable = (nsA: string, devA: string, nsB: string, devB: string): void => {
      ip('link', 'add', `${tag}x`, 'netns', nsA, 'type', 'veth', 'peer', 'name', `${tag}y`, 'netns', nsB)
      ip('-n', nsA, 'link', 'set', `${tag}x`, 'name', devA)
      ip('-n', nsB, 'link', 'set', `${tag}y`, 'name', devB)
      ip('-n', nsA, 'link', 'set', devA, 'up')
      ip('-n', nsB, 'link', 'set', devB, 'up')
    }
    cable(pub, 'eth0', wan, 'p0')
    cable(ra, 'wan', wan, 'a0')
    cable(rb, 'wan', wan, 'b0')
    for (const port of ['p0', 'a0', 'b0']) ip('-n', wan, 'link', 'set', port, 'master', 'br0')
    cable(ha, 'eth0', ra, 'lan')
    cable(hb, 'eth0', rb, 'lan')
    ip('-n', pub, 'addr', 'add', '30.0.0.1/24', 'dev', 'eth0')
    ip('-n', ra, 'addr', 'add', '30.0.0.2/24', 'dev', 'wan')
    ip('-n', ra, 'addr', 'add', '192.168.1.1/24', 'dev', 'lan')
    ip('-n', rb, 'addr', 'add', '30.0.0.3/24', 'dev', 'wan')
    ip('-n', rb, 'addr', 'add', '192.168.2.1/24', 'dev', 'lan')
    ip('-n', ha, 'addr', 'add', '192.168.1.2/24', 'dev', 'eth0')
    ip('-n', ha, 'route', 'add', 'default', 'via', '192.168.1.1')
    ip('-n', hb, 'addr', 'add', '192.168.2.2/24', 'dev', 'eth0')
    ip('-n', hb, 'route', 'add', 'default', 'via', '192.168.2.1')
    for (const r of [ra, rb]) {
      inNs(r, ['sysctl', '-qw', 'net.ipv4.ip_forward=1'])
      inNs(r, ['nft', '-f', '-'], routerRules(nat === 'symmetric'))
    }
  } catch (err) {
    destroy()
    throw err
  }
  const host = (ns: string, hostIp: string): Host => ({ ns, prefix: ['ip', 'netns', 'exec', ns], ip: hostIp })
  return {
    pub: host(pub, '30.0.0.1'),
    homeA: host(ha, '192.168.1.2'),
    homeB: host(hb, '192.168.2.2'),
    spawnIn: (h, cmd) => {
      const p = spawn('ip', ['netns', 'exec', h.ns, ...cmd], { stdio: 'ignore' })
      processes.add(p)
      p.on('exit', () => { processes.delete(p) })
      return p
    },
    destroy
  }
}

/** Is a STUN server (coturn's `turnserver`) installed? */
export function stunServerUnavailableReason (): string | undefined {
  try {
    execFileSync('turnserver', ['--help'], { stdio: 'ignore' })
  } catch (err: any) {
    if (err?.code === 'ENOENT') return 'coturn (turnserver) is not installed: apt-get install coturn'
  }
  return undefined
}
