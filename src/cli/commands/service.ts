import { execFile } from 'node:child_process'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { promisify } from 'node:util'
import { Option } from 'commander'
import { resolveDataDir } from '../../daemon/config.js'
import { packageRoot } from '../../util/package-root.js'
import { DEFAULT_SERVICE_NAME, isValidServiceName, launchdLabel, renderService, serviceFilePath } from '../../install/service-files.js'
import { connect } from '../client.js'
import { CliError, EXIT, NotFoundCliError, UsageError } from '../errors.js'
import { printDoc } from '../output.js'
import type { ServicePlatform } from '../../install/service-files.js'
import type { StatusDoc } from '../../node/documents.js'
import type { Command } from 'commander'

const run = promisify(execFile)

/** bin/fedmesh.js, from dist/src/cli/commands/. */
const BIN = resolve(packageRoot(), 'bin', 'fedmesh.js')

interface ServiceOptions {
  name: string
  dataDir?: string
  platform?: ServicePlatform
  start?: boolean
  stop?: boolean
  json?: boolean
}

/** What `service status` reports. */
export interface ServiceStatusDoc {
  name: string
  platform: ServicePlatform
  file: string
  installed: boolean
  /** `systemctl --user is-active` / launchctl's view; null when the service manager cannot be asked. */
  active: string | null
  /** Whether a daemon answers on the data dir the service uses (`fedmesh status`). */
  daemon: { dataDir: string | null, running: boolean, peerId?: string }
}

/** `fedmesh service install|uninstall|status`: keep a daemon running across logins and reboots. */
export function registerServiceCommands (program: Command): void {
  const service = program.command('service').description('run the daemon as a systemd user service (Linux) or a launchd agent (macOS)')
  const common = (cmd: Command): Command => cmd
    .option('--name <name>', 'service name: the unit NAME.service or the label dev.fedmesh.NAME', DEFAULT_SERVICE_NAME)
    .addOption(new Option('--platform <platform>', 'write the file for this platform (default: this machine\'s)').choices(['linux', 'darwin']).hideHelp())
  common(service.command('install'))
    .description('write the service file and start it; daemon flags go after --, e.g. service install -- --listen /ip4/0.0.0.0/tcp/4101')
    .option('--data-dir <dir>', 'the daemon\'s data dir (default: $FEDMESH_DATA_DIR, $XDG_DATA_HOME/fedmesh, ~/.local/share/fedmesh)')
    .option('--no-start', 'only write the file; do not enable and start the service')
    .argument('[daemonArgs...]', 'flags for `fedmesh daemon` (after --)')
    .action(async (daemonArgs: string[], opts: ServiceOptions) => {
      const { platform, file } = serviceTarget(opts)
      if (daemonArgs.some(a => a === '--data-dir' || a.startsWith('--data-dir='))) throw new UsageError('give --data-dir before --, to service install itself')
      const dataDir = resolveDataDir(opts.dataDir, process.env)
      await mkdir(dirname(file), { recursive: true })
      await mkdir(dataDir, { recursive: true, mode: 0o700 })
      await writeFile(file, renderService(platform, { name: opts.name, node: process.execPath, bin: BIN, dataDir, daemonArgs }), { mode: 0o644 })
      process.stdout.write(`wrote ${file}\n  runs: ${process.execPath} ${BIN} daemon --data-dir ${dataDir}${daemonArgs.length > 0 ? ' ' + daemonArgs.join(' ') : ''}\n`)
      if (opts.start === false) {
        process.stdout.write(`start it with: ${startCommand(platform, opts.name, file)}\n`)
        return
      }
      await manage(platform === 'darwin'
        ? [['launchctl', 'bootstrap', `gui/${uid()}`, file]]
        : [['systemctl', '--user', 'daemon-reload'], ['systemctl', '--user', 'enable', '--now', `${opts.name}.service`]],
      `could not start it; start it with: ${startCommand(platform, opts.name, file)}`)
      process.stdout.write(platform === 'darwin'
        ? `started ${launchdLabel(opts.name)}; it starts again at every login\n`
        : `started ${opts.name}.service; it starts at every login (at boot too after: loginctl enable-linger $USER)\n`)
    })
  common(service.command('uninstall'))
    .description('stop the service and remove its file (the data dir stays)')
    .option('--no-stop', 'only remove the file; do not stop and disable the service')
    .action(async (opts: ServiceOptions) => {
      const { platform, file } = serviceTarget(opts)
      if (!(await exists(file))) throw new NotFoundCliError(`not installed: no ${file}`)
      if (opts.stop !== false) {
        await manage(platform === 'darwin'
          ? [['launchctl', 'bootout', `gui/${uid()}/${launchdLabel(opts.name)}`]]
          : [['systemctl', '--user', 'disable', '--now', `${opts.name}.service`]],
        'could not stop it (removing its file anyway)', false)
      }
      await rm(file, { force: true })
      if (platform === 'linux' && opts.stop !== false) await manage([['systemctl', '--user', 'daemon-reload']], '', false)
      process.stdout.write(`removed ${file}\n`)
    })
  common(service.command('status'))
    .description('is the service installed and running, and does its daemon answer? (exit 4 when not installed)')
    .option('--json', 'print one JSON document')
    .action(async (opts: ServiceOptions) => {
      const { platform } = serviceTarget(opts)
      const doc = await serviceStatus(platform, opts.name)
      printDoc(opts, doc, formatServiceStatus)
      if (!doc.installed) process.exitCode = EXIT.NOT_FOUND
    })
}

async function serviceStatus (platform: ServicePlatform, name: string): Promise<ServiceStatusDoc> {
  const file = serviceFilePath(platform, name)
  const text = await readFile(file, 'utf8').catch(() => undefined)
  const dataDir = text == null ? null : dataDirIn(text)
  const active = text == null
    ? null
    : await ask(platform === 'darwin' ? ['launchctl', 'print', `gui/${uid()}/${launchdLabel(name)}`] : ['systemctl', '--user', 'is-active', `${name}.service`])
  let daemon: ServiceStatusDoc['daemon'] = { dataDir, running: false }
  if (dataDir != null) {
    try {
      const status = await (await connect({ dataDir })).request<StatusDoc>('GET', '/v1/status')
      daemon = { dataDir, running: true, peerId: status.peerId }
    } catch {}
  }
  return { name, platform, file, installed: text != null, active: active == null ? null : platform === 'darwin' ? /state = running/.test(active) ? 'active' : 'inactive' : active.trim(), daemon }
}

export function formatServiceStatus (d: ServiceStatusDoc): string {
  if (!d.installed) return `${d.name}: not installed (no ${d.file}); install it with: fedmesh service install`
  return [
    `service   ${d.name} (${d.platform === 'darwin' ? 'launchd agent' : 'systemd user unit'})`,
    `file      ${d.file}`,
    `state     ${d.active ?? 'unknown (the service manager cannot be asked here)'}`,
    `daemon    ${d.daemon.running ? `answers, peer id ${d.daemon.peerId ?? '?'}` : 'does not answer'} (data dir ${d.daemon.dataDir ?? '?'})`
  ].join('\n')
}

/** The `--data-dir` the service file gives the daemon. */
function dataDirIn (text: string): string | null {
  const unit = /--data-dir\s+("(?:[^"\\]|\\.)*"|\S+)/.exec(text)
  if (unit != null) return (unit[1].startsWith('"') ? JSON.parse(unit[1]) as string : unit[1]).replace(/%%/g, '%').replace(/\$\$/g, '$')
  const plist = /<string>--data-dir<\/string>\s*<string>([^<]*)<\/string>/.exec(text)
  return plist == null ? null : plist[1].replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&')
}

/** The platform (this machine's unless --platform) and the service file of `--name`. */
function serviceTarget (opts: ServiceOptions): { platform: ServicePlatform, file: string } {
  const platform = opts.platform ?? process.platform
  if (platform !== 'linux' && platform !== 'darwin') {
    throw new CliError(`fedmesh service supports Linux (systemd) and macOS (launchd), not ${platform}; run \`fedmesh daemon\` under your own service manager`)
  }
  if (!isValidServiceName(opts.name)) throw new UsageError('--name must be 1-64 of A-Z a-z 0-9 _ . - (starting with a letter or digit)')
  return { platform, file: serviceFilePath(platform, opts.name) }
}

function startCommand (platform: ServicePlatform, name: string, file: string): string {
  return platform === 'darwin' ? `launchctl bootstrap gui/$(id -u) ${file}` : `systemctl --user daemon-reload && systemctl --user enable --now ${name}.service`
}

function uid (): number {
  return process.getuid?.() ?? 0
}

/** Run service-manager commands in order; the first failure is one line (an error, or a note when not `fatal`). */
async function manage (commands: string[][], advice: string, fatal = true): Promise<void> {
  for (const [cmd, ...args] of commands) {
    try {
      await run(cmd, args, { timeout: 30_000 })
    } catch (err: any) {
      const why = String(err?.stderr ?? err?.message ?? err).trim().split('\n')[0]
      if (fatal) throw new CliError(`${cmd} ${args.join(' ')}: ${why}; ${advice}`)
      if (advice !== '') process.stderr.write(`fedmesh: ${cmd} ${args.join(' ')}: ${why}; ${advice}\n`)
      return
    }
  }
}

/** A service manager's answer, or null when it cannot be asked. */
async function ask (command: string[]): Promise<string | null> {
  const [cmd, ...args] = command
  try {
    return (await run(cmd, args, { timeout: 10_000 })).stdout
  } catch (err: any) {
    // `systemctl is-active` exits 3 for an inactive unit, with the state on stdout.
    const out = typeof err?.stdout === 'string' ? err.stdout.trim() : ''
    return out !== '' && /^[a-z-]+$/.test(out) ? out : null
  }
}

async function exists (file: string): Promise<boolean> {
  return readFile(file).then(() => true, () => false)
}
