#!/usr/bin/env node
// Regenerates src/wire/*.ts from protocols/*.proto with protons (the .proto files are the source
// of the wire formats; generated code is committed and never edited by hand).
// `--check` fails when the committed code is not what the .proto files generate (CI runs it).
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, basename } from 'node:path'

const check = process.argv.includes('--check')
const protos = readdirSync('protocols').filter(f => f.endsWith('.proto')).map(f => join('protocols', f))
const out = mkdtempSync(join(tmpdir(), 'fedmesh-protos-'))
try {
  execFileSync(process.execPath, ['node_modules/protons/dist/bin/protons.js', ...protos, '-o', out], { stdio: 'inherit' })
  let stale = 0
  for (const proto of protos) {
    const name = basename(proto, '.proto') + '.ts'
    const generated = '/* eslint-disable */\n// Generated from protocols/' + basename(proto) + ' by scripts/gen-protos.mjs. Do not edit.\n' + readFileSync(join(out, name), 'utf8')
    const target = join('src', 'wire', name)
    let current = ''
    try { current = readFileSync(target, 'utf8') } catch {}
    if (current === generated) continue
    if (check) {
      console.error(`${target} is not what ${proto} generates: run npm run protos`)
      stale++
    } else {
      writeFileSync(target, generated)
      console.log(`wrote ${target}`)
    }
  }
  if (stale > 0) process.exit(1)
} finally {
  rmSync(out, { recursive: true, force: true })
}
