import { formatPeers, formatStatus } from '../format.js'
import { printResult, withClientOptions } from '../output.js'
import { formatPeersAll } from '../federation-format.js'
import type { CommonOptions } from '../output.js'
import type { PeerDoc, StatusDoc } from '../../node/documents.js'
import type { Command } from 'commander'

export function registerStatusCommands (program: Command): void {
  withClientOptions(program.command('status').description('show this node: peer id, addresses, mode, capacity'))
    .action(async (opts: CommonOptions) => {
      await printResult(opts, async c => c.request<StatusDoc>('GET', '/v1/status'), formatStatus)
    })
  withClientOptions(program.command('peers').description('list known peers: connection, discovery source, latency, capacity, reputation'))
    .option('--all', 'also list peers that tried and failed to prove membership')
    .action(async (opts: CommonOptions & { all?: boolean }) => {
      await printResult(opts, async c => c.request<PeerDoc[]>('GET', opts.all === true ? '/v1/peers?all=1' : '/v1/peers'), opts.all === true ? formatPeersAll : formatPeers)
    })
}
