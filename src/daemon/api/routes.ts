import type { Route } from './server.js'
import type { FederationNode } from '../../node/federation-node.js'
import type { Registry } from 'prom-client'

/** The control API's endpoints (CONTRACT.md "Control API"), each a thin call into the node. */
export function controlRoutes (node: FederationNode, registry: Registry): Route[] {
  return [
    { method: 'GET', path: /^\/v1\/status$/, handle: async () => ({ json: node.status() }) },
    { method: 'GET', path: /^\/v1\/peers$/, handle: async () => ({ json: await node.peers() }) },
    {
      method: 'GET',
      path: /^\/metrics$/,
      handle: async () => ({ text: await registry.metrics(), contentType: registry.contentType })
    }
  ]
}
