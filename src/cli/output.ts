import { Option } from 'commander'
import { connect } from './client.js'
import { wantsColor } from './color.js'
import { DEFAULT_WIDTH } from './table.js'
import type { ApiClient, EndpointOptions } from './client.js'
import type { View } from './table.js'
import type { Command } from 'commander'

export interface CommonOptions extends EndpointOptions {
  json?: boolean
  /** `-o table|wide|json`. */
  output?: 'table' | 'wide' | 'json'
}

/** Options every client command takes (CONTRACT.md "CLI"). */
export function withClientOptions (cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'data dir of the daemon to talk to (default: $FEDMESH_DATA_DIR, $XDG_DATA_HOME/fedmesh, ~/.local/share/fedmesh)')
    .addOption(new Option('--api <address>', 'the daemon\'s control API as HOST:PORT or URL (token from $FEDMESH_API_TOKEN)'))
    .option('--json', 'print one JSON document instead of a table (same as -o json)')
    .addOption(new Option('-o, --output <format>', 'table (fits 80 columns), wide (every column, whole ids) or json').choices(['table', 'wide', 'json']))
}

export function wantsJson (opts: CommonOptions): boolean {
  return opts.json === true || opts.output === 'json'
}

/** How tables are shown on this stdout: its width when a terminal (80 otherwise), `-o wide`, colour. */
export function viewFor (opts: CommonOptions, stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): View {
  const width = stream.isTTY === true && (stream.columns ?? 0) > 0 ? stream.columns : DEFAULT_WIDTH
  return { wide: opts.output === 'wide', width, color: wantsColor(stream, env), now: Date.now() }
}

/** Run a client command: call the daemon, print JSON or the human form. */
export async function printResult<T> (opts: CommonOptions, call: (client: ApiClient) => Promise<T>, human: (doc: T, view: View) => string): Promise<T> {
  const client = await connect(opts)
  const doc = await call(client)
  printDoc(opts, doc, human)
  return doc
}

export function printDoc<T> (opts: CommonOptions, doc: T, human: (doc: T, view: View) => string): void {
  process.stdout.write(wantsJson(opts) ? JSON.stringify(doc, null, 2) + '\n' : human(doc, viewFor(opts)) + '\n')
}

/** Options of a subcommand whose parent has the same ones: given after the subcommand's arguments they may land on either. */
export function mergedOptions<T extends object> (own: T, cmd: Command): T {
  return { ...cmd.optsWithGlobals<T>(), ...own }
}
