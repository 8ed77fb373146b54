import { z } from 'zod'
import { isValidTaskId } from '../../services/tasks/frame-limits.js'
import { BadRequestError, NotFoundError } from '../../util/errors.js'
import { parseRoles } from '../../core/federation/roles.js'
import { SECOND } from '../../util/time.js'
import { PRIORITIES } from '../../core/priority.js'
import { MAX_PAUSE_MS } from '../../node/federation-node.js'
import type { Route } from './server.js'
import type { FederationNode } from '../../node/federation-node.js'
import type { JoinDoc } from '../../node/federation-api.js'
import type { Registry } from 'prom-client'

const runBody = z.object({
  kind: z.string().min(1).max(64),
  input: z.unknown().optional(),
  /** Raw input bytes, base64 (`run --input-file`, `--input -`), instead of `input`'s JSON. */
  inputBase64: z.base64().optional(),
  peer: z.string().min(1).max(128).optional(),
  timeoutMs: z.number().int().positive().optional(),
  taskId: z.string().refine(isValidTaskId, { message: 'must be 1-128 of A-Z a-z 0-9 . _ : -' }).optional(),
  priority: z.enum(PRIORITIES).optional()
}).strict()

/** `forMs` absent: until resumed. */
const pauseBody = z.object({ forMs: z.number().int().min(1).max(MAX_PAUSE_MS).optional() }).strict()

const pingBody = z.object({
  count: z.number().int().min(1).max(100).optional(),
  intervalMs: z.number().int().min(0).max(10_000).optional(),
  timeoutMs: z.number().int().min(1).max(60_000).optional()
}).strict()

const putBody = z.object({
  value: z.unknown(),
  ttlSeconds: z.number().int().min(0).optional()
}).strict()

/** Parse a body or answer 400 with the first problem, naming the field. */
export function parseBody<T> (schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body ?? {})
  if (r.success) return r.data
  const issue = r.error.issues[0]
  const field = issue.code === 'unrecognized_keys' ? issue.keys[0] : issue.path.join('.')
  throw new BadRequestError(issue.code === 'unrecognized_keys' ? `unknown field "${field}"` : `"${field}": ${issue.message}`)
}

const inviteBody = z.object({
  roles: z.string().max(100).optional(),
  ttlSeconds: z.number().int().positive().optional(),
  certificateTtlSeconds: z.number().int().positive().optional()
}).strict()

const joinBody = z.object({ token: z.string().min(1).max(4096), force: z.boolean().optional() }).strict()
const revokeBody = z.object({ peerId: z.string().min(1).max(128) }).strict()

/** What the routes reach: the node now (a join restarts it) and the daemon's join. */
export interface RouteHost {
  node: () => FederationNode
  join: (token: string, force?: boolean) => Promise<JoinDoc>
}

/** The control API's endpoints (CONTRACT.md "Control API"), each a thin call into the node. */
export function controlRoutes (host: RouteHost, registry: Registry): Route[] {
  const node = (): FederationNode => host.node()
  return [
    ...federationRoutes(host, node),
    { method: 'GET', path: /^\/v1\/status$/, handle: async () => ({ json: node().status() }) },
    { method: 'GET', path: /^\/v1\/serving$/, handle: async () => ({ json: node().serving() }) },
    { method: 'POST', path: /^\/v1\/pause$/, handle: async ({ body }) => ({ json: await node().pause(parseBody(pauseBody, body).forMs) }) },
    { method: 'POST', path: /^\/v1\/resume$/, handle: async () => ({ json: await node().resume() }) },
    { method: 'GET', path: /^\/v1\/peers$/, handle: async ({ query }) => ({ json: await node().peers({ all: query.get('all') === '1' }) }) },
    {
      method: 'POST',
      path: /^\/v1\/tasks$/,
      handle: async ({ body }) => {
        const req = parseBody(runBody, body)
        if (req.input !== undefined && req.inputBase64 != null) throw new BadRequestError('give "input" (JSON) or "inputBase64" (raw bytes), not both')
        // Raw bytes go as they are; JSON as its text (node.run's rule).
        const input = req.inputBase64 != null ? Buffer.from(req.inputBase64, 'base64') : (req.input ?? null)
        // An accepted task always answers with its run document, failed or not (the CLI prints
        // it and exits 1 on "error"); 503 (with Retry-After) is only for a node that refuses to
        // accept: shutting down, or its admission queue is full.
        return { json: await node().run({ kind: req.kind, input, peer: req.peer, timeoutMs: req.timeoutMs, taskId: req.taskId, priority: req.priority }) }
      }
    },
    { method: 'GET', path: /^\/v1\/tasks$/, handle: async () => ({ json: node().tasks() }) },
    { method: 'GET', path: /^\/v1\/tasks\/served$/, handle: async () => ({ json: node().served() }) },
    {
      // After /served: a task whose id is "served" cannot be looked up here.
      method: 'GET',
      path: /^\/v1\/tasks\/(?<id>[^/]+)$/,
      handle: async ({ params }) => {
        if (!isValidTaskId(params.id)) throw new BadRequestError('a task id is 1-128 of A-Z a-z 0-9 . _ : -')
        const doc = await node().task(params.id)
        if (doc == null) throw new NotFoundError(`not found: task ${params.id} (unknown here, or older than the journal keeps)`)
        return { json: doc }
      }
    },
    {
      method: 'POST',
      path: /^\/v1\/tasks\/(?<id>[^/]+)\/cancel$/,
      handle: async ({ params }) => {
        if (!isValidTaskId(params.id)) throw new BadRequestError('a task id is 1-128 of A-Z a-z 0-9 . _ : -')
        const doc = await node().cancelTask(params.id)
        if (doc == null) throw new NotFoundError(`not found: task ${params.id} (unknown here, or older than the journal keeps)`)
        return { json: doc }
      }
    },
    {
      method: 'POST',
      path: /^\/v1\/peers\/(?<id>[^/]+)\/ping$/,
      handle: async ({ params, body, signal }) => ({ json: await node().ping(params.id, { ...parseBody(pingBody, body), signal }) })
    },
    { method: 'GET', path: /^\/v1\/peers\/(?<id>[^/]+)\/rtt$/, handle: async ({ params }) => ({ json: node().rtt(params.id) }) },
    { method: 'GET', path: /^\/v1\/route\/(?<kind>[^/]+)$/, handle: async ({ params }) => ({ json: node().route(params.kind) }) },
    {
      method: 'PUT',
      path: /^\/v1\/cache\/(?<key>.+)$/,
      handle: async ({ params, body }) => {
        const req = parseBody(putBody, body)
        return { json: await node().cachePut(params.key, req.value, req.ttlSeconds) }
      }
    },
    {
      method: 'GET',
      path: /^\/v1\/cache\/(?<key>.+)$/,
      handle: async ({ params }) => {
        const doc = await node().cacheGet(params.key)
        if (doc == null) throw new NotFoundError(`not found: ${params.key}`)
        return { json: doc }
      }
    },
    {
      method: 'DELETE',
      path: /^\/v1\/cache\/(?<key>.+)$/,
      handle: async ({ params }) => {
        // Nothing to delete: say so (404), and write no tombstone for a key nobody has.
        const doc = await node().cacheDel(params.key)
        if (doc == null) throw new NotFoundError(`not found: ${params.key} (no node holds it, or it was deleted already)`)
        return { json: doc }
      }
    },
    {
      method: 'GET',
      path: /^\/v1\/cache$/,
      handle: async ({ query }) => {
        const limit = query.get('limit')
        if (limit != null && !/^\d{1,6}$/.test(limit)) throw new BadRequestError('limit must be a positive integer')
        return { json: await node().cacheList({ prefix: query.get('prefix') ?? undefined, limit: limit != null ? Number(limit) : undefined }) }
      }
    },
    {
      method: 'GET',
      path: /^\/metrics$/,
      handle: async () => ({ text: await registry.metrics(), contentType: registry.contentType })
    }
  ]
}

/** `fedmesh federation …`: status, invites, joining, members, revocation. */
function federationRoutes (host: RouteHost, node: () => FederationNode): Route[] {
  return [
    { method: 'GET', path: /^\/v1\/federation$/, handle: async () => ({ json: node().federation.status() }) },
    { method: 'GET', path: /^\/v1\/federation\/members$/, handle: async () => ({ json: node().federation.members() }) },
    {
      method: 'POST',
      path: /^\/v1\/federation\/invites$/,
      handle: async ({ body }) => {
        const req = parseBody(inviteBody, body)
        return {
          json: await node().federation.invite({
            roles: req.roles == null ? undefined : parseRoles(req.roles),
            ttlMs: req.ttlSeconds == null ? undefined : req.ttlSeconds * SECOND,
            certificateTtlMs: req.certificateTtlSeconds == null ? undefined : req.certificateTtlSeconds * SECOND
          })
        }
      }
    },
    {
      method: 'POST',
      path: /^\/v1\/federation\/join$/,
      handle: async ({ body }) => {
        const req = parseBody(joinBody, body)
        return { json: await host.join(req.token, req.force) }
      }
    },
    { method: 'POST', path: /^\/v1\/federation\/revocations$/, handle: async ({ body }) => ({ json: await node().federation.revoke(parseBody(revokeBody, body).peerId) }) }
  ]
}
