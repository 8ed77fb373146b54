import type { Command, Option } from 'commander'

/**
 * Shell completion scripts generated from the command tree, so they never fall behind it:
 * commands and subcommands, each command's options, the choices of `-o`, and file names after
 * options that take a file or a directory.
 */

export type Shell = 'bash' | 'zsh' | 'fish'
export const SHELLS: Shell[] = ['bash', 'zsh', 'fish']

interface Node {
  /** Words before the cursor that name it: "" for fedmesh itself, "cache", "federation invite". */
  path: string
  subcommands: string[]
  options: Option[]
}

function walk (cmd: Command, prefix = ''): Node[] {
  const visible = cmd.commands.filter(c => !(c as unknown as { _hidden?: boolean })._hidden)
  const here: Node = { path: prefix, subcommands: visible.map(c => c.name()), options: cmd.options.filter(o => !o.hidden) }
  return [here, ...visible.flatMap(c => walk(c, prefix === '' ? c.name() : `${prefix} ${c.name()}`))]
}

function optionWords (o: Option): string[] {
  return [o.long, o.short].filter((w): w is string => w != null)
}

/** Options whose value is a path (complete file names after them). */
function takesPath (o: Option): boolean {
  return /<(dir|file|path)>/.test(o.flags)
}

export function completionScript (program: Command, shell: Shell): string {
  const nodes = walk(program)
  if (shell === 'fish') return fishScript(nodes)
  const bash = bashScript(nodes)
  // zsh runs the bash function through its bash compatibility layer.
  return shell === 'zsh' ? `autoload -U +X compinit && compinit\nautoload -U +X bashcompinit && bashcompinit\n${bash}` : bash
}

function bashScript (nodes: Node[]): string {
  const cases = nodes.map(n => `    "${n.path}") words="${[...n.subcommands, ...n.options.flatMap(optionWords), ...(n.path === '' ? [] : ['--help'])].join(' ')}" ;;`).join('\n')
  const options = nodes.flatMap(n => n.options)
  const pathOpts = unique(options.filter(takesPath).flatMap(optionWords))
  const valueOpts = unique(options.filter(o => o.required || o.optional).flatMap(optionWords))
  const choices = options.filter(o => o.argChoices != null).map(o => `    ${optionWords(o).join('|')}) COMPREPLY=($(compgen -W "${o.argChoices?.join(' ') ?? ''}" -- "$cur")); return ;;`)
  return `# fedmesh completion for bash: eval "$(fedmesh completion bash)" (e.g. in ~/.bashrc)
_fedmesh() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" path="" words="" i w
  case "$prev" in
${choices.join('\n')}
    ${pathOpts.join('|') || '__none__'}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    ${valueOpts.join('|') || '__none__'}) COMPREPLY=(); return ;;
  esac
  # The command path: the words before the cursor that name (sub)commands.
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in -*) continue ;; esac
    _fedmesh_words "$path"
    case " $words " in *" $w "*) path="\${path:+$path }$w" ;; esac
  done
  _fedmesh_words "$path"
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
_fedmesh_words() {
  case "$1" in
${cases}
    *) words="" ;;
  esac
}
complete -F _fedmesh fedmesh
`
}

function fishScript (nodes: Node[]): string {
  const lines = ['# fedmesh completion for fish: fedmesh completion fish > ~/.config/fish/completions/fedmesh.fish', 'complete -c fedmesh -f']
  for (const n of nodes) {
    const words = n.path === '' ? [] : n.path.split(' ')
    // fish's condition: exactly this command path has been typed (and nothing deeper).
    const seen = words.length === 0 ? '__fish_use_subcommand' : `__fish_seen_subcommand_from ${words[words.length - 1]}`
    const deeper = words.length > 0 && n.subcommands.length > 0 ? `; and not __fish_seen_subcommand_from ${n.subcommands.join(' ')}` : ''
    if (n.subcommands.length > 0) lines.push(`complete -c fedmesh -n '${seen}${deeper}' -a '${n.subcommands.join(' ')}'`)
    for (const o of n.options) {
      const flags = [o.long != null ? `-l ${o.long.replace(/^--/, '')}` : '', o.short != null ? `-s ${o.short.replace(/^-/, '')}` : ''].filter(f => f !== '').join(' ')
      const value = o.argChoices != null ? ` -x -a '${o.argChoices.join(' ')}'` : takesPath(o) ? ' -r -F' : (o.required || o.optional) ? ' -x' : ''
      lines.push(`complete -c fedmesh -n '${seen}' ${flags}${value} -d ${fishQuote(o.description.slice(0, 60))}`)
    }
  }
  return lines.join('\n') + '\n'
}

/** A single-quoted fish string (no variable expansion inside). */
function fishQuote (text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
}

function unique (words: string[]): string[] {
  return [...new Set(words)]
}
