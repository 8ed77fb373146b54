import { InvalidArgumentError } from 'commander'
import { SHELLS, completionScript } from '../completion.js'
import type { Shell } from '../completion.js'
import type { Command } from 'commander'

/** `fedmesh completion bash|zsh|fish`: print a completion script for the shell. */
export function registerCompletionCommand (program: Command): void {
  program.command('completion')
    .description('print a shell completion script: eval "$(fedmesh completion bash)" in ~/.bashrc (zsh: ~/.zshrc; fish: > ~/.config/fish/completions/fedmesh.fish)')
    .argument('<shell>', SHELLS.join(', '), (v: string): Shell => {
      if ((SHELLS as string[]).includes(v)) return v as Shell
      throw new InvalidArgumentError(`must be one of ${SHELLS.join(', ')}`)
    })
    .action((shell: Shell) => {
      let root: Command = program
      while (root.parent != null) root = root.parent
      process.stdout.write(completionScript(root, shell))
    })
}
