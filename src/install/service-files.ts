import { DAEMON_NODE_FLAGS } from '../util/node-flags.js'
import { homedir } from 'node:os'
import { join } from 'node:path'

/**
 * The files `fedmesh service install` writes: a systemd user unit (Linux) or a launchd agent
 * (macOS) that runs `node bin/fedmesh.js daemon --data-dir DIR …` with the Node that ran the
 * install (the pinned Node 24 under `npx fedmesh`), restarts it when it fails, and gives it the
 * time its graceful shutdown needs. Pure: rendering is unit-tested, the files are verified by
 * `systemd-analyze verify` and plistlib in the tests.
 */

export type ServicePlatform = 'linux' | 'darwin'

export interface ServiceSpec {
  /** Unit name (`NAME.service`) or the last part of the launchd label (`dev.fedmesh.NAME`). Default `fedmesh`. */
  name: string
  /** Absolute path of the Node binary. */
  node: string
  /** Absolute path of bin/fedmesh.js. */
  bin: string
  /** Absolute data dir (passed as --data-dir, so the CLI and the service agree). */
  dataDir: string
  /** More daemon flags, as given after `--`. */
  daemonArgs: string[]
}

export const DEFAULT_SERVICE_NAME = 'fedmesh'
/** The daemon stops within 10 s (CONTRACT.md); the service manager waits twice that before it kills. */
export const STOP_TIMEOUT_S = 20
/** Exit code of bad configuration: restarting would fail the same way. */
const EXIT_CONFIG = 2

export function daemonCommand (spec: ServiceSpec): string[] {
  return [spec.node, ...DAEMON_NODE_FLAGS, spec.bin, 'daemon', '--data-dir', spec.dataDir, ...spec.daemonArgs]
}

/** Where the file goes: `$XDG_CONFIG_HOME/systemd/user/NAME.service`, `~/Library/LaunchAgents/dev.fedmesh.NAME.plist`. */
export function serviceFilePath (platform: ServicePlatform, name: string, env: NodeJS.ProcessEnv = process.env): string {
  const home = env.HOME != null && env.HOME !== '' ? env.HOME : homedir()
  if (platform === 'darwin') return join(home, 'Library', 'LaunchAgents', `${launchdLabel(name)}.plist`)
  const config = env.XDG_CONFIG_HOME != null && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : join(home, '.config')
  return join(config, 'systemd', 'user', `${name}.service`)
}

export function launchdLabel (name: string): string {
  return `dev.fedmesh.${name}`
}

export function isValidServiceName (name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)
}

export function renderService (platform: ServicePlatform, spec: ServiceSpec): string {
  return platform === 'darwin' ? renderLaunchdPlist(spec) : renderSystemdUnit(spec)
}

export function renderSystemdUnit (spec: ServiceSpec): string {
  return `# Written by \`fedmesh service install\`; remove with \`fedmesh service uninstall\`.
[Unit]
Description=fedmesh peer-to-peer federation daemon (${spec.dataDir.replace(/%/g, '%%')})

[Service]
Type=simple
ExecStart=${daemonCommand(spec).map(systemdQuote).join(' ')}
# SIGTERM: the daemon finishes or hands back running tasks and flushes its store within 10 s.
KillSignal=SIGTERM
TimeoutStopSec=${STOP_TIMEOUT_S}
Restart=on-failure
RestartSec=2
# Bad configuration (exit ${EXIT_CONFIG}) fails the same way every time: not restarted.
RestartPreventExitStatus=${EXIT_CONFIG}
NoNewPrivileges=true

[Install]
WantedBy=default.target
`
}

/**
 * One ExecStart word: quoted when it has spaces or quotes; `%` (specifiers) and `$`
 * (variables) are escaped everywhere, as systemd.service(5) requires.
 */
export function systemdQuote (word: string): string {
  const escaped = word.replace(/%/g, '%%').replace(/\$/g, '$$$$')
  if (escaped !== '' && !/[\s"'\\;]/.test(escaped)) return escaped
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
}

export function renderLaunchdPlist (spec: ServiceSpec): string {
  const args = daemonCommand(spec).map(a => `    <string>${xmlEscape(a)}</string>`).join('\n')
  const log = xmlEscape(join(spec.dataDir, 'daemon.log'))
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- Written by \`fedmesh service install\`; remove with \`fedmesh service uninstall\`. -->
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${xmlEscape(launchdLabel(spec.name))}</string>
  <key>ProgramArguments</key>
  <array>
${args}
  </array>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ExitTimeOut</key>
  <integer>${STOP_TIMEOUT_S}</integer>
  <key>ProcessType</key>
  <string>Background</string>
  <key>StandardOutPath</key>
  <string>${log}</string>
  <key>StandardErrorPath</key>
  <string>${log}</string>
</dict>
</plist>
`
}

function xmlEscape (s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}
