import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../../helpers/daemon.js'
import pkg from '../../../package.json' with { type: 'json' }

/**
 * The Dockerfile cannot be built here (no docker daemon in CI): these checks keep it consistent
 * with the repository instead. Every file it copies exists and is not ignored, it builds what
 * `npm run build` builds, it runs the daemon as a non-root user on a Node that libp2p 3 needs.
 * hadolint lints it when installed.
 */

interface Instruction { keyword: string, args: string }

function instructions (text: string): Instruction[] {
  const logical = text.replace(/\\\n/g, ' ').split('\n').map(l => l.trim()).filter(l => l !== '' && !l.startsWith('#'))
  return logical.map(l => {
    const [keyword, ...rest] = l.split(/\s+/)
    return { keyword: keyword.toUpperCase(), args: rest.join(' ') }
  })
}

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
const steps = instructions(dockerfile)
const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map(l => l.trim()).filter(l => l !== '' && !l.startsWith('#'))

describe('Dockerfile', () => {
  it('uses only known instructions', () => {
    const known = new Set(['FROM', 'WORKDIR', 'COPY', 'RUN', 'ARG', 'ENV', 'USER', 'VOLUME', 'EXPOSE', 'STOPSIGNAL', 'ENTRYPOINT', 'CMD', 'LABEL', 'HEALTHCHECK'])
    expect(steps.filter(s => !known.has(s.keyword))).toEqual([])
  })

  it('copies only files that exist in the repository and are not in .dockerignore', () => {
    const sources = steps.filter(s => s.keyword === 'COPY' && !s.args.startsWith('--from')).flatMap(s => s.args.split(/\s+/).slice(0, -1))
    expect(sources.length).toBeGreaterThan(3)
    for (const src of sources) {
      expect(existsSync(join(ROOT, src)), src).toBe(true)
      expect(ignored.some(i => src === i || src.startsWith(`${i}/`)), src).toBe(false)
    }
  })

  it('builds on Node 22+ in both stages, as package.json\'s build does, and prunes dev dependencies', () => {
    const bases = steps.filter(s => s.keyword === 'FROM').map(s => /^node:(\d+)/.exec(s.args)?.[1])
    expect(bases).toHaveLength(2)
    for (const major of bases) expect(Number(major)).toBeGreaterThanOrEqual(Number(/\d+/.exec(pkg.engines.node)?.[0]))
    const run = steps.filter(s => s.keyword === 'RUN').map(s => s.args).join('\n')
    expect(run).toMatch(/npm ci/)
    expect(run).toMatch(/tsc -p tsconfig\.json/)
    expect(pkg.scripts.build).toMatch(/scripts\/build-info\.mjs/)
    expect(run).toMatch(/scripts\/build-info\.mjs/)
    expect(run).toMatch(/npm prune --omit=dev/)
  })

  it('runs the daemon as a non-root user, with its data in a volume, stopped by SIGTERM', () => {
    const runtime = steps.slice(steps.map(s => s.keyword).lastIndexOf('FROM'))
    const user = runtime.findIndex(s => s.keyword === 'USER')
    expect(user).toBeGreaterThan(0)
    expect(runtime[user].args).not.toMatch(/^(root|0)$/)
    expect(runtime.find(s => s.keyword === 'ENTRYPOINT')?.args).toBe('["fedmesh"]')
    expect(JSON.parse(runtime.find(s => s.keyword === 'CMD')?.args ?? '[]')[0]).toBe('daemon')
    expect(runtime.find(s => s.keyword === 'VOLUME')?.args).toBe('/data')
    expect(runtime.find(s => s.keyword === 'ENV')?.args).toMatch(/FEDMESH_DATA_DIR=\/data/)
    expect(runtime.find(s => s.keyword === 'STOPSIGNAL')?.args).toBe('SIGTERM')
    expect(existsSync(join(ROOT, 'bin', 'fedmesh.js'))).toBe(true)
  })

  it('passes hadolint', (ctx) => {
    ctx.skip(spawnSync('sh', ['-c', 'command -v hadolint']).status !== 0, 'hadolint is not installed (not packaged in Debian 12)')
    const r = spawnSync('hadolint', [join(ROOT, 'Dockerfile')], { encoding: 'utf8' })
    expect(r.stdout + r.stderr).toBe('')
  })
})
