import { execFileSync, spawnSync } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN, ROOT, runCli, startDaemon, stopAll, tempDir, waitFor } from '../helpers/daemon.js'
import { spawnCli } from '../helpers/cli-process.js'
import type { Daemon } from '../helpers/daemon.js'

/**
 * The CLI as people and scripts meet it, against real daemons: exit codes (2 usage, 3 no
 * daemon, 4 not found, 1 failed), one-line errors, 80-column tables, --peer by name or part of
 * an id, ping and rtt, --api HOST:PORT, raw task input from a file or stdin, version, completion.
 */

let a: Daemon
let b: Daemon
let idA: string
let idB: string

beforeAll(async () => {
  a = await startDaemon({
    name: 'alpha',
    // Command kinds get the input's bytes on stdin: `cat` sends them back, `wc -c` counts them.
    config: { tasks: { cat: { command: ['cat'], timeoutMs: 5_000 }, count: { command: ['wc', '-c'], timeoutMs: 5_000 } } }
  })
  b = await startDaemon({ name: 'bravo-worker', args: ['--bootstrap', await a.address()] })
  idA = await a.peerId()
  idB = await b.peerId()
  await waitFor(async () => (await a.json<Array<{ peerId: string, capacity: unknown }>>('peers')).some(p => p.peerId === idB && p.capacity != null), 15_000, 'A to hear B')
})

afterAll(stopAll)

/** Every line of stderr, for "one line" checks. */
const lines = (s: string): string[] => s.split('\n').filter(l => l !== '')

describe('exit codes and errors', () => {
  it('a usage mistake is one line naming the command and its help, exit 2', async () => {
    for (const args of [['nosuch'], ['run'], ['cache'], ['cache', 'nosuch'], ['run', 'echo', '--bogus'], ['run', 'echo', '--timeout', 'soon'], ['peers', '-o', 'yaml'], ['run', 'echo', '--input', '{oops']]) {
      const r = await a.cli(...args)
      expect(r.code, args.join(' ')).toBe(2)
      expect(lines(r.stderr), args.join(' ')).toHaveLength(1)
      expect(r.stderr).not.toMatch(/Usage:/)
    }
    expect((await a.cli('run', 'echo', '--bogus')).stderr).toMatch(/^fedmesh run: unknown option '--bogus' \(see: fedmesh run --help\)$/m)
    const group = await runCli(['cache'])
    expect(group.code).toBe(2)
    expect(group.stderr).toMatch(/^fedmesh: missing command for fedmesh cache: one of put, get, del, ls/)
    // An empty key, kind or task id names nothing: said before any request (no daemon needed).
    const nowhere = await tempDir()
    for (const [args, what] of [[['cache', 'put', '', 'v'], 'KEY'], [['cache', 'get', ''], 'KEY'], [['cache', 'del', ''], 'KEY'], [['run', ''], 'KIND'], [['route', ''], 'KIND'], [['tasks', 'show', ''], 'ID'], [['tasks', 'cancel', ''], 'ID']] as const) {
      const r = await runCli([...args, '--data-dir', nowhere])
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stderr, args.join(' ')).toBe(`fedmesh: ${what} must not be empty\n`)
    }
    // --help is not an error.
    const help = await runCli(['run', '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/--input-file/)
  })

  it('no daemon: exit 3, one line, whether found by data dir or --api', async () => {
    const none = await runCli(['status', '--data-dir', await tempDir()])
    expect(none.code).toBe(3)
    expect(lines(none.stderr)).toHaveLength(1)
    const refused = await runCli(['status', '--api', '127.0.0.1:1'], { FEDMESH_API_TOKEN: 'x' })
    expect(refused.code).toBe(3)
    expect(refused.stderr).toMatch(/no daemon running at http:\/\/127\.0\.0\.1:1/)
  })

  it('not found: exit 4 for an unknown task, a missing key, a kind nobody serves, a peer that matches nothing', async () => {
    for (const args of [['tasks', 'show', 'no-such-task'], ['tasks', 'cancel', 'no-such-task'], ['cache', 'get', 'no-such-key'], ['route', 'no-such-kind'], ['ping', 'nobody-by-that-name']]) {
      const r = await a.cli(...args)
      expect(r.code, args.join(' ')).toBe(4)
      expect(lines(r.stderr), args.join(' ')).toHaveLength(1)
    }
    // route still prints every candidate and why.
    expect((await a.cli('route', 'no-such-kind')).stdout).toMatch(/does not serve this kind/)
  })

  it('deleting a key nobody has says "not found" (exit 4) and writes no tombstone; a real delete still works', async () => {
    const never = await a.cli('cache', 'del', 'never-existed')
    expect(never.code).toBe(4)
    expect(never.stderr).toMatch(/not found: never-existed/)
    expect(never.stdout).not.toMatch(/deleted/)
    await a.json('cache', 'put', 'here', 'yes')
    expect((await a.cli('cache', 'del', 'here')).stdout).toMatch(/^here deleted \(version /)
    expect((await a.cli('cache', 'del', 'here')).code).toBe(4) // deleted already
  })

  it('a failed task exits 1 and still prints its document', async () => {
    const r = await a.cli('run', 'sleep', '--input', '{"ms":"soon"}', '--json')
    expect(r.code).toBe(1)
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'error', errorCode: 'BAD_INPUT' })
  })
})

describe('finding the daemon and the peers', () => {
  it('--api takes HOST:PORT as the daemon does', async () => {
    const url = new URL(await a.apiUrl())
    const r = await runCli(['status', '--json', '--api', url.host], { FEDMESH_API_TOKEN: await a.token() })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).peerId).toBe(idA)
  })

  it('--peer takes a name, the short id tables print, or a unique end of an id', async () => {
    const short = `${idB.slice(0, 6)}…${idB.slice(-6)}`
    for (const peer of ['bravo-worker', 'bravo', short, idB.slice(-8), idB]) {
      const run = await a.json<{ peer: string, status: string }>('run', 'echo', '--input', '"hi"', '--peer', peer)
      expect(run, peer).toMatchObject({ status: 'ok', peer: idB })
    }
    // Every peer id starts alike: a prefix that fits both nodes is ambiguous (a usage error).
    const both = await a.cli('run', 'echo', '--peer', '12D3KooW')
    expect(both.code).toBe(2)
    expect(both.stderr).toMatch(/matches 2 peers/)
  })

  it('ping measures round trips now; rtt shows the measured and the Vivaldi-estimated figure', async () => {
    // On a loaded machine a ping may time out (or its connection be recycled): most must answer.
    const ping = await a.json<{ peerId: string, name: string, sent: number, received: number, pings: Array<number | null> }>('ping', 'bravo', '-c', '3', '--interval', '50')
    expect(ping).toMatchObject({ peerId: idB, name: 'bravo-worker', sent: 3 })
    expect(ping.received).toBeGreaterThanOrEqual(2)
    expect(ping.pings.filter(p => p != null).every(p => typeof p === 'number' && p >= 0)).toBe(true)
    expect((await a.cli('ping', 'bravo', '-c', '2')).stdout).toMatch(/^2 sent, [12] answered, min\/avg\/max \d+\/[\d.]+\/\d+ ms$/m)
    // Background pings and capacity ads (with coordinates) fill both within a few seconds.
    await waitFor(async () => {
      const rtt = await a.json<{ measuredMs: number | null, estimatedMs: number | null }>('rtt', 'bravo')
      return rtt.measuredMs != null && rtt.estimatedMs != null
    }, 20_000, 'a measured and an estimated RTT')
    const rtt = await a.json<{ peerId: string, connected: boolean, source: string }>('rtt', idB.slice(-6))
    expect(rtt).toMatchObject({ peerId: idB, connected: true, source: 'ping' })
    expect((await a.cli('rtt', 'bravo')).stdout).toMatch(/^measured +\d/m)
    expect((await a.cli('ping', 'alpha')).code).toBe(2) // this node itself
  })
})

describe('output', () => {
  it('tables fit 80 columns when piped; -o wide adds columns and whole ids; no colour codes in a pipe', async () => {
    await a.json('cache', 'put', 'builds/linux-x64/artifacts/a-rather-long-key-name-for-an-artifact.tgz', 'x', '--ttl', '3600')
    for (const args of [['peers'], ['tasks'], ['route', 'echo'], ['cache', 'ls'], ['tasks', '--served']]) {
      const r = await a.cli(...args)
      expect(r.code, args.join(' ')).toBe(0)
      for (const line of r.stdout.split('\n')) expect([...line].length, `${args.join(' ')}: ${line}`).toBeLessThanOrEqual(80)
      expect(r.stdout).not.toMatch(/\u001b\[/)
    }
    const wide = await a.cli('peers', '-o', 'wide')
    expect(wide.stdout).toContain(idB)
    expect(wide.stdout).toMatch(/ADDRESS/)
    expect((await a.cli('peers')).stdout).not.toContain(idB)
    expect(JSON.parse((await a.cli('peers', '-o', 'json')).stdout).map((p: { peerId: string }) => p.peerId)).toContain(idB)
    // FORCE_COLOR turns colour on in a pipe; NO_COLOR wins over it.
    const forced = await runCli(['run', 'echo', '--input', '1', '--data-dir', a.dataDir], { FORCE_COLOR: '1' })
    expect(forced.stdout).toMatch(/\u001b\[32mok/)
    const plain = await runCli(['run', 'echo', '--input', '1', '--data-dir', a.dataDir], { FORCE_COLOR: '1', NO_COLOR: '1' })
    expect(plain.stdout).not.toMatch(/\u001b\[/)
  })

  it('no progress line when stderr is not a terminal', async () => {
    const r = await a.cli('run', 'sleep', '--input', '{"ms":300}')
    expect(r.code).toBe(0)
    expect(r.stderr).toBe('')
  })
})

describe('task input from a file or stdin', () => {
  it('--input-file sends the file\'s bytes as they are to a command kind; binary output comes back as outputBase64', async () => {
    const file = join(await tempDir(), 'in.bin')
    const bytes = Buffer.from([0, 1, 2, 253, 254, 255, 10, 0x7b])
    await writeFile(file, bytes)
    const count = await a.json<{ output: unknown }>('run', 'count', '--input-file', file)
    expect(Number(String(count.output).trim())).toBe(bytes.byteLength)
    const back = await a.json<{ output: unknown, outputBase64: string }>('run', 'cat', '--input-file', file)
    expect(back.output).toBeNull()
    expect(Buffer.from(back.outputBase64, 'base64')).toEqual(bytes)
  })

  it('--input - reads stdin; a JSON kind parses what it is given', async () => {
    const viaStdin = spawnCli(['run', 'sha256', '--input', '-', '--json', '--data-dir', a.dataDir], { input: '{"data": "hello"}\n' })
    const r = await viaStdin.done
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).output.hex).toBe('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824')
    const text = await spawnCli(['run', 'cat', '--input', '-', '--json', '--data-dir', a.dataDir], { input: 'plain words' }).done
    expect(JSON.parse(text.stdout).output).toBe('plain words')
  })
})

describe('about the CLI itself', () => {
  it('version says the version, the commit it was built from, libp2p and the Node running it', async () => {
    const v = JSON.parse((await runCli(['version', '--json'])).stdout) as { version: string, commit: string | null, node: string, libp2p: string }
    expect(v.version).toMatch(/^\d+\.\d+\.\d+/)
    expect(v.node).toBe(process.versions.node)
    expect(v.libp2p).toMatch(/^3\./)
    const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' })
    if (head.status === 0) expect(v.commit).toBe(head.stdout.trim())
    expect((await runCli(['--version'])).stdout.trim()).toBe(v.version)
  })

  it('completion prints a script bash accepts', async () => {
    const r = await runCli(['completion', 'bash'])
    expect(r.code).toBe(0)
    execFileSync('bash', ['-n', '-c', r.stdout])
    expect((await runCli(['completion', 'tcsh'])).code).toBe(2)
  })

  // Plain `node` on this machine's PATH is Node 20; CI images may have none older than 22.
  const old = spawnSync('sh', ['-c', 'for n in $(which -a node nodejs 2>/dev/null); do v=$("$n" -p "process.versions.node.split(\'.\')[0]" 2>/dev/null); [ -n "$v" ] && [ "$v" -lt 22 ] && { echo "$n"; exit 0; }; done; exit 1'], { encoding: 'utf8', env: { PATH: (process.env.PATH ?? '').split(':').filter(p => !p.includes('node_modules')).join(':') } })
  it('on a Node older than 22 says what to do instead of failing deep inside libp2p', (ctx) => {
    ctx.skip(old.status !== 0, 'no Node.js older than 22 on the PATH to run the CLI with')
    const r = spawnSync(old.stdout.trim(), [BIN, 'status'], { encoding: 'utf8' })
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/^fedmesh needs Node\.js 22 or newer; this is Node\.js \d+\./)
    expect(r.stderr).toMatch(/nvm install 22/)
    expect(r.stderr).not.toMatch(/withResolvers/)
  })
})
