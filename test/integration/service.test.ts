import { spawn, spawnSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { BIN, runCli, stopAll, tempDir, waitFor } from '../helpers/daemon.js'
import { execStartWords } from '../helpers/service-unit.js'
import { DAEMON_NODE_FLAGS } from '../../src/util/node-flags.js'
import type { ChildProcess } from 'node:child_process'

/**
 * `fedmesh service install|status|uninstall` with the service manager left out (--no-start,
 * --no-stop: no systemd user session here): the unit file is written where systemd looks, its
 * ExecStart is run exactly as systemd would run it and a daemon answers, `status` sees both,
 * `uninstall` removes it. The file's syntax is checked by systemd-analyze in the unit tests.
 */

const started: ChildProcess[] = []
afterAll(async () => {
  for (const p of started) if (p.exitCode == null) p.kill('SIGKILL')
  await stopAll()
})

describe('fedmesh service on Linux (systemd user unit)', () => {
  it('install writes a unit whose command runs the daemon; status sees it; uninstall removes it', async () => {
    const config = await tempDir('fedmesh-xdg-')
    const dataDir = join(await tempDir(), 'node data')
    const env = { XDG_CONFIG_HOME: config }
    const install = await runCli(['service', 'install', '--no-start', '--platform', 'linux', '--name', 'fedmesh-test', '--data-dir', dataDir, '--',
      '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0', '--no-mdns', '--open', '--name', 'from-service'], env)
    expect(install.code).toBe(0)
    const file = join(config, 'systemd', 'user', 'fedmesh-test.service')
    expect(install.stdout).toMatch(new RegExp(`wrote ${file}`))
    expect(install.stdout).toMatch(/start it with: systemctl --user daemon-reload && systemctl --user enable --now fedmesh-test\.service/)

    const words = execStartWords(await readFile(file, 'utf8'))
    expect(words.slice(0, 5 + DAEMON_NODE_FLAGS.length)).toEqual([process.execPath, ...DAEMON_NODE_FLAGS, BIN, 'daemon', '--data-dir', dataDir])
    // Run the unit's command as systemd would (no shell, its own words).
    const daemon = spawn(words[0], words.slice(1), { stdio: 'ignore', env: { ...process.env, FEDMESH_PROFILE: 'local' } })
    started.push(daemon)
    await waitFor(async () => (await runCli(['status', '--json', '--data-dir', dataDir])).code === 0, 20_000, 'the service\'s daemon to answer')
    expect(JSON.parse((await runCli(['status', '--json', '--data-dir', dataDir])).stdout).name).toBe('from-service')

    const status = await runCli(['service', 'status', '--json', '--platform', 'linux', '--name', 'fedmesh-test'], env)
    expect(status.code).toBe(0)
    expect(JSON.parse(status.stdout)).toMatchObject({ installed: true, file, daemon: { dataDir, running: true, peerId: expect.stringMatching(/^12D3Koo/) } })
    expect((await runCli(['service', 'status', '--platform', 'linux', '--name', 'fedmesh-test'], env)).stdout).toMatch(/^daemon +answers, peer id 12D3Koo/m)

    daemon.kill('SIGTERM')
    expect(await new Promise(resolve => daemon.on('exit', resolve))).toBe(0)

    const removed = await runCli(['service', 'uninstall', '--no-stop', '--platform', 'linux', '--name', 'fedmesh-test'], env)
    expect(removed.code).toBe(0)
    expect(removed.stdout).toMatch(/removed/)
    const gone = await runCli(['service', 'status', '--platform', 'linux', '--name', 'fedmesh-test'], env)
    expect(gone.code).toBe(4)
    expect(gone.stdout).toMatch(/not installed/)
    expect((await runCli(['service', 'uninstall', '--no-stop', '--platform', 'linux', '--name', 'fedmesh-test'], env)).code).toBe(4)
  })

  it('refuses a bad name and a --data-dir among the daemon flags (usage, exit 2)', async () => {
    const env = { XDG_CONFIG_HOME: await tempDir('fedmesh-xdg-') }
    expect((await runCli(['service', 'install', '--no-start', '--platform', 'linux', '--name', '../evil'], env)).code).toBe(2)
    expect((await runCli(['service', 'install', '--no-start', '--platform', 'linux', '--', '--data-dir', '/x'], env)).code).toBe(2)
  })
})

const hasPython = spawnSync('sh', ['-c', 'command -v python3']).status === 0
describe('fedmesh service on macOS (launchd agent)', () => {
  it('install writes ~/Library/LaunchAgents/dev.fedmesh.NAME.plist that runs the daemon', async (ctx) => {
    ctx.skip(!hasPython, 'python3 (plistlib) is not installed to parse the property list')
    const home = await tempDir('fedmesh-home-')
    const dataDir = join(home, 'data')
    const r = await runCli(['service', 'install', '--no-start', '--platform', 'darwin', '--data-dir', dataDir, '--', '--no-mdns'], { HOME: home })
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/start it with: launchctl bootstrap gui\/\$\(id -u\)/)
    const file = join(home, 'Library', 'LaunchAgents', 'dev.fedmesh.fedmesh.plist')
    const parsed = JSON.parse(spawnSync('python3', ['-c', 'import json, plistlib, sys; print(json.dumps(plistlib.load(open(sys.argv[1], "rb"))))', file], { encoding: 'utf8' }).stdout)
    expect(parsed.ProgramArguments).toEqual([process.execPath, ...DAEMON_NODE_FLAGS, BIN, 'daemon', '--data-dir', dataDir, '--no-mdns'])
    const status = JSON.parse((await runCli(['service', 'status', '--json', '--platform', 'darwin'], { HOME: home })).stdout)
    expect(status).toMatchObject({ installed: true, platform: 'darwin', daemon: { dataDir, running: false } })
  })
})
