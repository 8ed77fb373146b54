import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFile, readdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ROOT, runCli, stopAll, tempDir, waitFor } from '../helpers/daemon.js'
import type { ChildProcess } from 'node:child_process'

/**
 * `npm pack` produces a package that installs and runs: the tarball is packed from this build,
 * installed into a fresh project and its `fedmesh` started with `npx fedmesh daemon`. Tests send
 * nothing beyond loopback, so the install is offline: from the npm cache that `npm ci` filled,
 * with the dependency versions of this repository's lockfile (what the registry would resolve
 * today may differ; that resolution is the one step not exercised here).
 */

const started: ChildProcess[] = []
afterAll(async () => {
  for (const p of started) if (p.exitCode == null) p.kill('SIGKILL')
  await stopAll()
})

/** npm with this Node first on the PATH (the installed fedmesh must run on Node 22+). */
function npm (args: string[], cwd: string): { status: number | null, stdout: string, stderr: string } {
  const r = spawnSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, npm_config_update_notifier: 'false' }, timeout: 180_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('the npm package', () => {
  it('packs bin, the build and the scenarios; installs offline; npx fedmesh daemon runs and answers', async (ctx) => {
    const out = await tempDir('fedmesh-pack-')
    // Pack this build as it is (the test run built it; `prepare` would rebuild under running tests).
    const pack = npm(['pack', '--ignore-scripts', '--json', '--pack-destination', out], ROOT)
    expect(pack.status, pack.stderr).toBe(0)
    const [packed] = JSON.parse(pack.stdout) as Array<{ filename: string, files: Array<{ path: string }> }>
    const files = packed.files.map(f => f.path)
    for (const f of ['bin/fedmesh.js', 'dist/src/cli/main.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/build-info.json', 'dist/bundle/daemon.cjs', 'dist/simulations/run-sim.js', 'simulations/scenarios/steady.json', 'docs/CONTRACT.md', 'README.md', 'package.json']) {
      expect(files, f).toContain(f)
    }
    expect(files.filter(f => f.startsWith('test/') || f.startsWith('src/') || f.startsWith('node_modules/') || (f.endsWith('.ts') && !f.endsWith('.d.ts')))).toEqual([])

    // A fresh project that depends on the tarball, locked to this repository's versions.
    const project = await tempDir('fedmesh-install-')
    const tarball = join(project, packed.filename)
    await writeFile(tarball, await readFile(join(out, packed.filename)))
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'))
    const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8'))
    const packages: Record<string, unknown> = {
      '': { name: 'fedmesh-install-test', dependencies: { fedmesh: `file:${packed.filename}` } },
      'node_modules/fedmesh': {
        version: pkg.version, resolved: `file:${packed.filename}`, license: pkg.license, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines,
        integrity: `sha512-${createHash('sha512').update(await readFile(tarball)).digest('base64')}`
      }
    }
    for (const [path, entry] of Object.entries(lock.packages as Record<string, { dev?: boolean }>)) {
      if (path.startsWith('node_modules/') && entry.dev !== true) packages[path] = entry
    }
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'fedmesh-install-test', private: true, dependencies: { fedmesh: `file:${packed.filename}` } }))
    await writeFile(join(project, 'package-lock.json'), JSON.stringify({ name: 'fedmesh-install-test', lockfileVersion: 3, requires: true, packages }))
    const install = npm(['ci', '--offline', '--no-audit', '--no-fund'], project)
    if (install.status !== 0 && /ENOTCACHED/.test(install.stderr)) {
      ctx.skip(`the npm cache lacks a dependency and tests stay offline: ${install.stderr.split('\n').find(l => l.includes('ENOTCACHED')) ?? ''}`)
    }
    expect(install.status, install.stderr).toBe(0)
    expect(await readdir(join(project, 'node_modules', '.bin'))).toContain('fedmesh')
    // Only what the package needs: no devDependencies came along.
    expect(await readdir(join(project, 'node_modules'))).not.toContain('vitest')

    const version = npm(['exec', '--offline', '--', 'fedmesh', 'version', '--json'], project)
    expect(version.status, version.stderr).toBe(0)
    expect(JSON.parse(version.stdout)).toMatchObject({ version: pkg.version, node: process.versions.node })

    const dataDir = await tempDir()
    const daemon = spawn('npx', ['--offline', 'fedmesh', 'daemon', '--data-dir', dataDir, '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0', '--no-mdns', '--open'], {
      cwd: project,
      stdio: 'ignore',
      // npx's own process and the daemon under it: signals go to the group.
      detached: true,
      env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, FEDMESH_PROFILE: 'local' }
    })
    started.push(daemon)
    try {
      await waitFor(async () => (await runCli(['status', '--json', '--data-dir', dataDir])).code === 0, 30_000, 'the installed daemon to answer')
      const run = JSON.parse((await runCli(['run', 'sha256', '--input', '{"data":"hello"}', '--json', '--data-dir', dataDir])).stdout)
      expect(run.output.hex).toBe('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824')
    } finally {
      process.kill(-(daemon.pid as number), 'SIGTERM')
    }
    await waitFor(async () => (await runCli(['status', '--data-dir', dataDir])).code === 3, 15_000, 'the daemon to stop on SIGTERM')
  })
})
