import { buildInfo } from '../../build-info.js'
import { printDoc } from '../output.js'
import type { BuildInfo } from '../../build-info.js'
import type { Command } from 'commander'

/** `fedmesh version`: the version and how it was built (`--version` prints the version alone). */
export function registerVersionCommand (program: Command): void {
  program.command('version')
    .description('version, git commit, build time, libp2p and the Node running it')
    .option('--json', 'print one JSON document')
    .action((opts: { json?: boolean }) => {
      printDoc(opts, buildInfo(), formatBuildInfo)
    })
}

export function formatBuildInfo (b: BuildInfo): string {
  const commit = b.commit == null ? 'unknown' : `${b.commit.slice(0, 12)}${b.dirty === true ? ' (with uncommitted changes)' : ''}`
  return [
    `fedmesh  ${b.version}`,
    `commit   ${commit}`,
    `built    ${b.builtAt ?? 'unknown'}`,
    `libp2p   ${b.libp2p ?? 'unknown'}`,
    `node     ${b.node} (${b.platform}-${b.arch})`
  ].join('\n')
}
