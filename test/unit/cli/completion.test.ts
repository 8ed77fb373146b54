import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { buildProgram } from '../../../src/cli/main.js'
import { completionScript } from '../../../src/cli/completion.js'

/** Completion scripts are generated from the command tree; bash runs the generated function here. */

function hasShell (name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** What bash completes for the words typed so far (the last one is being completed). */
function complete (words: string[]): string[] {
  const script = completionScript(buildProgram(), 'bash')
  const quoted = words.map(w => `'${w.replace(/'/g, '\'\\\'\'')}'`).join(' ')
  const out = execFileSync('bash', ['-c', `${script}\nCOMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _fedmesh; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' })
  return out.split('\n').filter(w => w !== '').sort()
}

describe.skipIf(!hasShell('bash'))('bash completion', () => {
  it('completes commands, subcommands and their options', () => {
    expect(complete(['fedmesh', 'ca'])).toEqual(['cache'])
    expect(complete(['fedmesh', 'cache', ''])).toEqual(expect.arrayContaining(['put', 'get', 'del', 'ls']))
    expect(complete(['fedmesh', 'federation', 'in'])).toEqual(['invite'])
    expect(complete(['fedmesh', 'tasks', 'c'])).toEqual(['cancel'])
    expect(complete(['fedmesh', 'run', 'echo', '--inp'])).toEqual(['--input', '--input-file'])
    expect(complete(['fedmesh', '--data-dir', '/tmp', 'sta'])).toEqual(['status'])
  })

  it('completes the choices of -o and nothing after an option that takes a free value', () => {
    expect(complete(['fedmesh', 'peers', '-o', ''])).toEqual(['json', 'table', 'wide'])
    expect(complete(['fedmesh', 'run', 'x', '--timeout', ''])).toEqual([])
  })

  it('completes file names after options that take a file', () => {
    const files = complete(['fedmesh', 'run', 'x', '--input-file', 'packa'])
    expect(files).toContain('package.json')
  })
})

describe('zsh and fish completion', () => {
  it('zsh loads the bash function through bashcompinit', () => {
    const zsh = completionScript(buildProgram(), 'zsh')
    expect(zsh).toMatch(/bashcompinit/)
    expect(zsh).toMatch(/complete -F _fedmesh fedmesh/)
  })

  it('zsh parses it', (ctx) => {
    ctx.skip(!hasShell('zsh'), 'zsh is not installed')
    execFileSync('zsh', ['-n', '-c', completionScript(buildProgram(), 'zsh')])
  })

  it('fish gets one complete line per command and option', () => {
    const fish = completionScript(buildProgram(), 'fish')
    expect(fish).toMatch(/complete -c fedmesh -n '__fish_use_subcommand' -a '[^']*\bcache\b/)
    expect(fish).toMatch(/complete -c fedmesh -n '__fish_seen_subcommand_from cache; and not __fish_seen_subcommand_from put get del ls' -a 'put get del ls'/)
    expect(fish).toMatch(/-l output -s o -x -a 'table wide json'/)
  })
})
