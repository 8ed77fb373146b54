import { connect } from '../client.js'
import { CliError, EXIT, UsageError } from '../errors.js'
import { printDoc, withClientOptions } from '../output.js'
import { resolvePeer } from '../peer-arg.js'
import { shortId } from '../format.js'
import type { CommonOptions } from '../output.js'
import type { PingDoc, RttDoc } from '../../node/documents.js'
import type { Command } from 'commander'

/** `fedmesh ping PEER` (round trips measured now) and `fedmesh rtt PEER` (what routing uses). */
export function registerPingCommands (program: Command): void {
  withClientOptions(program.command('ping <peer>').description('measure round trips to a peer now over libp2p ping (a name, a peer id, or a unique start or end of one)'))
    .option('-c, --count <n>', 'pings to send (1-100)', '3')
    .option('--interval <ms>', 'time between pings', '200')
    .action(async (given: string, opts: CommonOptions & { count: string, interval: string }) => {
      const count = Number(opts.count)
      const intervalMs = Number(opts.interval)
      if (!Number.isInteger(count) || count < 1 || count > 100) throw new UsageError('--count must be an integer from 1 to 100')
      if (!Number.isInteger(intervalMs) || intervalMs < 0 || intervalMs > 10_000) throw new UsageError('--interval must be an integer from 0 to 10000 (ms)')
      const client = await connect(opts)
      const peer = await resolvePeer(client, given)
      if (peer.self) throw new UsageError(`${given} is this node`)
      const doc = await client.request<PingDoc>('POST', `/v1/peers/${encodeURIComponent(peer.peerId)}/ping`, { count, intervalMs })
      printDoc(opts, doc, formatPing)
      if (doc.received === 0) process.exitCode = EXIT.FAILED
    })
  withClientOptions(program.command('rtt <peer>').description('the round trip routing uses for a peer: measured by background pings, and estimated from Vivaldi coordinates'))
    .action(async (given: string, opts: CommonOptions) => {
      const client = await connect(opts)
      const peer = await resolvePeer(client, given)
      if (peer.self) throw new UsageError(`${given} is this node`)
      const doc = await client.request<RttDoc>('GET', `/v1/peers/${encodeURIComponent(peer.peerId)}/rtt`)
      printDoc(opts, doc, formatRtt)
      if (doc.source === 'none') throw new CliError(`no round trip known for ${peerLabel(doc)}: not connected and no coordinate advertised`, EXIT.FAILED)
    })
}

function peerLabel (d: { peerId: string, name: string }): string {
  return `${d.name !== '' ? `${d.name} ` : ''}(${shortId(d.peerId)})`
}

function ms (v: number | null): string {
  return v == null ? '-' : `${v} ms`
}

export function formatPing (d: PingDoc): string {
  const lines = [`PING ${peerLabel(d)}`]
  d.pings.forEach((rtt, i) => { lines.push(rtt == null ? `#${i + 1}  no answer` : `#${i + 1}  ${rtt} ms`) })
  lines.push(`${d.sent} sent, ${d.received} answered${d.received > 0 ? `, min/avg/max ${d.minMs}/${d.avgMs}/${d.maxMs} ms` : ''}`)
  if (d.error != null) lines.push(`error: ${d.error}`)
  return lines.join('\n')
}

export function formatRtt (d: RttDoc): string {
  return [
    `peer       ${peerLabel(d)}${d.connected ? ', connected' : ', not connected'}`,
    `measured   ${ms(d.measuredMs)}${d.measuredMs != null ? ' (background pings, median-filtered average)' : ''}`,
    `estimated  ${ms(d.estimatedMs)}${d.estimatedMs != null ? ' (Vivaldi: this node\'s coordinate to the one it advertises)' : ''}`,
    `routing    ${d.source === 'none' ? 'knows no round trip' : `uses the ${d.source === 'ping' ? 'measured' : 'estimated'} figure`}`
  ].join('\n')
}
