import type { Command } from 'commander'

const collect = (value: string, previous: string[] = []): string[] => [...previous, value]

export function registerDaemonCommand (program: Command): void {
  program.command('daemon')
    .description('run a fedmesh node in the foreground')
    .option('--data-dir <dir>', 'identity, LevelDB store, api and api.token files (default: $FEDMESH_DATA_DIR, $XDG_DATA_HOME/fedmesh, ~/.local/share/fedmesh)')
    .option('--listen <multiaddr>', 'listen address, repeatable (default /ip4/0.0.0.0/tcp/4101)', collect)
    .option('--api <host:port>', 'control API address, loopback only (default 127.0.0.1:4102; port 0 = any free port)')
    .option('--bootstrap <multiaddr>', 'peer to join through, with /p2p/<id>; repeatable', collect)
    .option('--no-mdns', 'do not discover peers on the LAN over mDNS')
    .option('--no-dht', 'do not run the Kademlia DHT')
    .option('--name <name>', 'a human name for this node (default: the end of its peer id)')
    .option('--concurrency <n>', 'tasks run at once (default: the number of cores)')
    .option('--config <file>', 'JSON config file; flags override it (default: $FEDMESH_CONFIG)')
    .option('--open', 'run an open mesh: no federation, any peer that connects takes part (labs and tests only)')
    .option('--join <token>', 'redeem an invite token from `fedmesh federation invite` at start')
    .option('--log-format <format>', 'log lines on stderr: text (readable) or json (pino-style, one object per line) (default text)')
    .option('--log-level <level>', 'lowest level logged: debug, info, warn or error (default info)')
    .option('--relay', 'relay for members behind NATs (run it on a publicly reachable node)')
    .option('--announce <multiaddr>', 'address announced as dialable without confirmation; repeatable', collect)
    .option('--stun <url>', 'STUN server for WebRTC hole punching (stun:host:port); repeatable', collect)
    .option('--no-upnp', 'do not map the listen port on a UPnP gateway')
    .action(async (opts: Record<string, unknown>) => {
      // Loaded on demand: the other commands must start fast and never load libp2p.
      const { daemonMain } = await import('../../daemon/main.js')
      await daemonMain({
        dataDir: opts.dataDir as string | undefined,
        listen: opts.listen as string[] | undefined,
        api: opts.api as string | undefined,
        bootstrap: opts.bootstrap as string[] | undefined,
        // commander sets mdns/dht to true unless --no-…; only a given flag may override the config.
        mdns: opts.mdns === false ? false : undefined,
        dht: opts.dht === false ? false : undefined,
        name: opts.name as string | undefined,
        concurrency: opts.concurrency as string | undefined,
        config: opts.config as string | undefined,
        open: opts.open === true ? true : undefined,
        join: opts.join as string | undefined,
        logFormat: opts.logFormat as string | undefined,
        logLevel: opts.logLevel as string | undefined,
        relay: opts.relay === true ? true : undefined,
        announce: opts.announce as string[] | undefined,
        stun: opts.stun as string[] | undefined,
        upnp: opts.upnp === false ? false : undefined
      })
      // Stopped: leave now, whatever a third-party handle would keep alive.
      process.exit(0)
    })
}
