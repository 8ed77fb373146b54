import { CliError } from '../cli/errors.js'
import { ConfigError, StorageFaultError, StorageFullError, StoreLockedError, StoreVersionError, errorMessage } from '../util/errors.js'
import { loadDaemonConfig } from './config.js'
import { createDaemonLog, fdWriter } from './log.js'
import { installProcessGuards } from './process-guards.js'
import { applyDaemonFlags, flushIdleCode, STARTUP_CODE_FLUSH_DELAY_MS } from '../util/node-flags.js'
import { SHUTDOWN_BUDGET_MS, banner, runDaemon } from './run-daemon.js'
import type { DaemonFlags } from './config.js'
import type { DaemonLog } from './log.js'
import type { RunningDaemon } from './run-daemon.js'

/** Exit code for bad configuration (CONTRACT.md: the daemon refuses to start half-configured). */
export const EXIT_CONFIG = 2

/**
 * `fedmesh daemon`: validate config, start, print the banner, and on SIGINT/SIGTERM shut down
 * gracefully within the budget. Resolves when the daemon has stopped.
 */
export async function daemonMain (flags: DaemonFlags): Promise<void> {
  const log = createDaemonLog()
  // From here on a full or closed stdout/stderr costs log lines, never the process.
  const guards = installProcessGuards({ log })
  let config
  try {
    config = await loadDaemonConfig(flags)
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, EXIT_CONFIG)
    throw err
  }
  log.configure({ format: config.logFormat, level: config.logLevel })

  let daemon
  try {
    daemon = await runDaemon(config, log, guards, { benchEcho: process.env.FEDMESH_BENCH_ECHO === '1' })
  } catch (err) {
    if (err instanceof StoreLockedError || err instanceof StoreVersionError) throw new CliError(err.message)
    if (err instanceof StorageFullError || err instanceof StorageFaultError) throw new CliError(err.message)
    if ((err as any)?.code === 'EADDRINUSE') throw new CliError(`address in use: ${errorMessage(err)} (choose another --listen or --api port, or 0 for any)`)
    throw err
  }
  if (flags.join != null) await joinAtStart(daemon, flags.join, log)
  try {
    fdWriter(1)(banner(daemon, config))
  } catch {
    log.countDropped()
  }
  log.info('daemon started', { peerId: daemon.node.peerId.toString(), api: daemon.apiUrl, dataDir: config.dataDir })
  // Started: from now on the heap is kept small (an idle daemon's footprint, util/node-flags.ts),
  // and start-up's code is dropped once the first contacts are made.
  applyDaemonFlags()
  setTimeout(flushIdleCode, STARTUP_CODE_FLUSH_DELAY_MS).unref()

  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (signalCount++ > 0) {
        log.warn('second signal, exiting now', { signal })
        process.exit(1)
      }
      const watchdog = setTimeout(() => {
        log.error('shutdown took too long, exiting', { budgetMs: SHUTDOWN_BUDGET_MS })
        process.exit(1)
      }, SHUTDOWN_BUDGET_MS)
      daemon.shutdown(signal)
        .catch(err => { log.error('shutdown failed', { error: errorMessage(err) }) })
        .finally(() => {
          clearTimeout(watchdog)
          process.off('SIGINT', onSignal)
          process.off('SIGTERM', onSignal)
          resolve()
        })
    }
    let signalCount = 0
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
}

/**
 * `daemon --join TOKEN`: redeem the invite unless this node is a member of that federation
 * already (a service unit may keep the flag across restarts). A failed join stops the daemon.
 */
async function joinAtStart (daemon: RunningDaemon, token: string, log: DaemonLog): Promise<void> {
  try {
    const doc = await daemon.join(token)
    log.info('joined the federation', { federationId: doc.federationId })
  } catch (err) {
    if ((err as Error).name === 'AlreadyMemberError') {
      log.info('already a member of the invite\'s federation; --join ignored')
      return
    }
    await daemon.shutdown('join failed')
    throw new CliError(`could not join: ${errorMessage(err)}`)
  }
}
