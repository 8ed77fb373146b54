import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { loadDaemonConfig, resolveDataDir } from '../../../src/daemon/config.js'
import { ConfigError } from '../../../src/util/errors.js'

async function withFile (content: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fedmesh-cfg-'))
  const file = join(dir, 'config.json')
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content))
  return file
}

async function rejection (p: Promise<unknown>): Promise<ConfigError> {
  const err = await p.then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(ConfigError)
  return err as ConfigError
}

describe('daemon config', () => {
  it('has documented defaults', async () => {
    const c = await loadDaemonConfig({}, { HOME: '/home/u' })
    // Every IPv4 interface (the unspecified address), port 4101: a LAN daemon must be reachable.
    expect(c.listen).toHaveLength(1)
    const [ip, tcp] = multiaddr(c.listen[0]).getComponents()
    expect([ip.name, ip.value?.split('.').every(octet => octet === '0'), tcp.name, tcp.value]).toEqual(['ip4', true, 'tcp', '4101'])
    expect(c.api).toBe('127.0.0.1:4102')
    expect(c.mdns).toBe(true)
    expect(c.dht).toBe(true)
    expect(c.bootstrap).toEqual([])
    expect(c.concurrency).toBeGreaterThanOrEqual(1)
    expect(c.dataDir).toBe('/home/u/.local/share/fedmesh')
  })

  it('resolves the data dir: flag, then FEDMESH_DATA_DIR, then XDG_DATA_HOME', () => {
    expect(resolveDataDir('/f', { FEDMESH_DATA_DIR: '/e', XDG_DATA_HOME: '/x' })).toBe('/f')
    expect(resolveDataDir(undefined, { FEDMESH_DATA_DIR: '/e', XDG_DATA_HOME: '/x' })).toBe('/e')
    expect(resolveDataDir(undefined, { XDG_DATA_HOME: '/x' })).toBe('/x/fedmesh')
  })

  it('flags override the environment, which overrides the file', async () => {
    const file = await withFile({ name: 'from-file', concurrency: 3, mdns: false })
    const c = await loadDaemonConfig({ config: file, name: 'from-flag' }, { FEDMESH_NAME: 'from-env', FEDMESH_CONCURRENCY: '5' })
    expect(c.name).toBe('from-flag')
    expect(c.concurrency).toBe(5)
    expect(c.mdns).toBe(false)
  })

  const rejected: Array<[string, unknown, RegExp]> = [
    ['an unknown key', { colour: 'blue' }, /unknown key "colour"/],
    ['an unknown nested key', { tasks: { lint: { command: ['x'], shell: true } } }, /unknown key "tasks\.lint\.shell"/],
    ['a bad listen address', { listen: ['not-a-multiaddr'] }, /"listen\.0"/],
    ['an empty listen list', { listen: [] }, /"listen"/],
    ['a non-loopback api', { api: '192.0.2.10:4102' }, /"api"/],
    ['an api port out of range', { api: '127.0.0.1:70000' }, /"api"/],
    ['a bootstrap address without a peer id', { bootstrap: ['/ip4/127.0.0.1/tcp/4101'] }, /"bootstrap\.0"/],
    ['zero concurrency', { concurrency: 0 }, /"concurrency"/],
    ['a fractional concurrency', { concurrency: 1.5 }, /"concurrency"/],
    ['a string for a boolean', { mdns: 'yes' }, /"mdns" must be boolean/],
    ['a command kind replacing a built-in', { tasks: { echo: { command: ['cat'] } } }, /"tasks\.echo"/],
    ['a command kind with a bad name', { tasks: { 'Bad Name': { command: ['cat'] } } }, /"tasks\.Bad Name"/],
    ['a command kind without a command', { tasks: { lint: {} } }, /"tasks\.lint\.command"/],
    ['a command given as a shell string', { tasks: { lint: { command: 'eslint .' } } }, /"tasks\.lint\.command"/],
    ['a negative timeout', { tasks: { lint: { command: ['x'], timeoutMs: -1 } } }, /"tasks\.lint\.timeoutMs"/],
    ['an unknown profile', { profile: 'fast' }, /"profile"/]
  ]
  for (const [what, content, message] of rejected) {
    it(`rejects ${what}, naming the key`, async () => {
      const err = await rejection(loadDaemonConfig({ config: await withFile(content) }, {}))
      expect(err.message).toMatch(message)
      expect(err.message.split('\n')).toHaveLength(1)
    })
  }

  it('rejects a config file that is not JSON or not an object', async () => {
    expect((await rejection(loadDaemonConfig({ config: await withFile('{ nope') }, {}))).message).toMatch(/not valid JSON/)
    expect((await rejection(loadDaemonConfig({ config: await withFile([1, 2]) }, {}))).message).toMatch(/JSON object/)
    expect((await rejection(loadDaemonConfig({ config: '/nonexistent/fedmesh.json' }, {}))).message).toMatch(/no such file/)
  })

  it('rejects bad environment values, naming the variable', async () => {
    expect((await rejection(loadDaemonConfig({}, { FEDMESH_MDNS: 'maybe' }))).message).toMatch(/FEDMESH_MDNS/)
    expect((await rejection(loadDaemonConfig({}, { FEDMESH_CONCURRENCY: 'many' }))).message).toMatch(/FEDMESH_CONCURRENCY/)
    expect((await rejection(loadDaemonConfig({ concurrency: 'x' }, {}))).message).toMatch(/--concurrency/)
  })

  it('accepts an owner-configured command kind with defaults filled in', async () => {
    const c = await loadDaemonConfig({ config: await withFile({ tasks: { lint: { command: ['eslint', '--stdin'] } } }) }, {})
    expect(c.tasks.lint).toMatchObject({ command: ['eslint', '--stdin'], timeoutMs: 60_000, maxOutputBytes: 1024 * 1024 })
  })
})
