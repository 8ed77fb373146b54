import { formatPeers, formatStatus } from '../format.js'
import { printResult, withClientOptions } from '../output.js'
import type { CommonOptions } from '../output.js'
import type { PeerDoc, StatusDoc } from '../../node/documents.js'
import type { Command } from 'commander'

export function registerStatusCommands (program: Command): void {
  withClientOptions(program.command('status').description('show this node: peer id, addresses, mode, capacity'))
    .action(async (opts: CommonOptions) => {
      await printResult(opts, async c => c.request<StatusDoc>('GET', '/v1/status'), formatStatus)
    })
  withClientOptions(program.command('peers').description('list known peers: connection, discovery source, latency, capacity, reputation'))
    .action(async (opts: CommonOptions) => {
      await printResult(opts, async c => c.request<PeerDoc[]>('GET', '/v1/peers'), formatPeers)
    })
}
