import { Option } from 'commander'
import { connect } from './client.js'
import type { ApiClient, EndpointOptions } from './client.js'
import type { Command } from 'commander'

export interface CommonOptions extends EndpointOptions {
  json?: boolean
}

/** Options every client command takes (CONTRACT.md "CLI"). */
export function withClientOptions (cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'data dir of the daemon to talk to (default: $FEDMESH_DATA_DIR, $XDG_DATA_HOME/fedmesh, ~/.local/share/fedmesh)')
    .addOption(new Option('--api <url>', 'control API base URL (token from $FEDMESH_API_TOKEN)'))
    .option('--json', 'print one JSON document instead of a table')
}

/** Run a client command: call the daemon, print JSON or the human form. */
export async function printResult<T> (opts: CommonOptions, call: (client: ApiClient) => Promise<T>, human: (doc: T) => string): Promise<T> {
  const client = await connect(opts)
  const doc = await call(client)
  process.stdout.write(opts.json === true ? JSON.stringify(doc, null, 2) + '\n' : human(doc) + '\n')
  return doc
}
