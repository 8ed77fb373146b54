import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { renderLaunchdPlist, renderSystemdUnit, serviceFilePath, systemdQuote } from '../../../src/install/service-files.js'
import { BIN } from '../../helpers/daemon.js'
import { execStartWords } from '../../helpers/service-unit.js'
import { DAEMON_NODE_FLAGS } from '../../../src/util/node-flags.js'
import type { ServiceSpec } from '../../../src/install/service-files.js'

/**
 * The files `fedmesh service install` writes, checked by the tools that read them:
 * `systemd-analyze verify` for the unit (Debian package systemd) and Python's plistlib for the
 * launchd agent (launchd itself is macOS only).
 */

const spec: ServiceSpec = {
  name: 'fedmesh',
  node: process.execPath,
  bin: BIN,
  dataDir: '/home/ann/my data/fedmesh 100%',
  daemonArgs: ['--listen', '/ip4/127.0.0.1/tcp/4101', '--name', 'ann\'s "laptop" $HOME']
}

const dirs: string[] = []
afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }) })

function has (cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0
}

describe('systemd user unit', () => {
  it('runs the daemon with this Node, the data dir and the given flags, words quoted and escaped', () => {
    const unit = renderSystemdUnit(spec)
    expect(execStartWords(unit)).toEqual([process.execPath, ...DAEMON_NODE_FLAGS, BIN, 'daemon', '--data-dir', spec.dataDir, ...spec.daemonArgs])
    expect(unit).toMatch(/^Restart=on-failure$/m)
    expect(unit).toMatch(/^RestartPreventExitStatus=2$/m)
    expect(unit).toMatch(/^TimeoutStopSec=20$/m)
    expect(unit).toMatch(/^WantedBy=default.target$/m)
    expect(systemdQuote('plain')).toBe('plain')
    expect(systemdQuote('50%')).toBe('50%%')
  })

  it('goes to $XDG_CONFIG_HOME/systemd/user (else ~/.config)', () => {
    expect(serviceFilePath('linux', 'fm', { HOME: '/h', XDG_CONFIG_HOME: '/x' })).toBe('/x/systemd/user/fm.service')
    expect(serviceFilePath('linux', 'fm', { HOME: '/h' })).toBe('/h/.config/systemd/user/fm.service')
    expect(serviceFilePath('darwin', 'fm', { HOME: '/h' })).toBe('/h/Library/LaunchAgents/dev.fedmesh.fm.plist')
  })

  it('passes systemd-analyze verify without a warning', async (ctx) => {
    // .ci/run does not install it: Debian's systemd package is ~20 MB with its libraries.
    ctx.skip(!has('systemd-analyze'), 'systemd-analyze is not installed (Debian package systemd)')
    const dir = await mkdtemp(join(tmpdir(), 'fedmesh-unit-'))
    dirs.push(dir)
    const file = join(dir, 'fedmesh.service')
    await writeFile(file, renderSystemdUnit(spec))
    // A user manager's view needs a runtime dir; this machine may have no user session.
    const runtime = join(dir, 'run')
    execFileSync('mkdir', ['-m', '700', runtime])
    const r = spawnSync('systemd-analyze', ['--user', 'verify', file], { env: { ...process.env, XDG_RUNTIME_DIR: runtime }, encoding: 'utf8' })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    // The check is real: a unit with a mistake is reported.
    await writeFile(file, renderSystemdUnit(spec).replace('Restart=on-failure', 'Restart=sometimes'))
    const bad = spawnSync('systemd-analyze', ['--user', 'verify', file], { env: { ...process.env, XDG_RUNTIME_DIR: runtime }, encoding: 'utf8' })
    expect(bad.stderr).toMatch(/restart specifier.*sometimes/)
  })
})

describe('launchd agent', () => {
  it('is a property list launchd reads: label, arguments, restart on failure, log file', async (ctx) => {
    ctx.skip(!has('python3'), 'python3 (plistlib) is not installed to parse the property list')
    const dir = await mkdtemp(join(tmpdir(), 'fedmesh-plist-'))
    dirs.push(dir)
    const file = join(dir, 'agent.plist')
    await writeFile(file, renderLaunchdPlist(spec))
    const parsed = JSON.parse(execFileSync('python3', ['-c', 'import json, plistlib, sys; print(json.dumps(plistlib.load(open(sys.argv[1], "rb"))))', file], { encoding: 'utf8' }))
    expect(parsed).toMatchObject({
      Label: 'dev.fedmesh.fedmesh',
      ProgramArguments: [process.execPath, ...DAEMON_NODE_FLAGS, BIN, 'daemon', '--data-dir', spec.dataDir, ...spec.daemonArgs],
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false },
      ExitTimeOut: 20,
      StandardErrorPath: join(spec.dataDir, 'daemon.log')
    })
  })
})
