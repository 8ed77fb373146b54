import { z } from 'zod'
import { isValidTaskId } from '../../services/tasks/frame-limits.js'
import { BadRequestError, NotFoundError } from '../../util/errors.js'
import type { Route } from './server.js'
import type { FederationNode } from '../../node/federation-node.js'
import type { Registry } from 'prom-client'

const runBody = z.object({
  kind: z.string().min(1).max(64),
  input: z.unknown().optional(),
  peer: z.string().min(1).max(128).optional(),
  timeoutMs: z.number().int().positive().optional(),
  taskId: z.string().refine(isValidTaskId, { message: 'must be 1-128 of A-Z a-z 0-9 . _ : -' }).optional()
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

/** The control API's endpoints (CONTRACT.md "Control API"), each a thin call into the node. */
export function controlRoutes (node: FederationNode, registry: Registry): Route[] {
  return [
    { method: 'GET', path: /^\/v1\/status$/, handle: async () => ({ json: node.status() }) },
    { method: 'GET', path: /^\/v1\/peers$/, handle: async () => ({ json: await node.peers() }) },
    {
      method: 'POST',
      path: /^\/v1\/tasks$/,
      handle: async ({ body }) => {
        const req = parseBody(runBody, body)
        const input = new TextEncoder().encode(JSON.stringify(req.input ?? null))
        // An accepted task always answers with its run document, failed or not (the CLI prints
        // it and exits 1 on "error"); 503 (with Retry-After) is only for a node that refuses to
        // accept: shutting down, or its admission queue is full.
        return { json: await node.run({ kind: req.kind, input, peer: req.peer, timeoutMs: req.timeoutMs, taskId: req.taskId }) }
      }
    },
    { method: 'GET', path: /^\/v1\/tasks$/, handle: async () => ({ json: node.tasks() }) },
    { method: 'GET', path: /^\/v1\/tasks\/served$/, handle: async () => ({ json: node.served() }) },
    {
      // After /served: a task whose id is "served" cannot be looked up here.
      method: 'GET',
      path: /^\/v1\/tasks\/(?<id>[^/]+)$/,
      handle: async ({ params }) => {
        if (!isValidTaskId(params.id)) throw new BadRequestError('a task id is 1-128 of A-Z a-z 0-9 . _ : -')
        const doc = await node.task(params.id)
        if (doc == null) throw new NotFoundError(`not found: task ${params.id} (unknown here, or older than the journal keeps)`)
        return { json: doc }
      }
    },
    { method: 'GET', path: /^\/v1\/route\/(?<kind>[^/]+)$/, handle: async ({ params }) => ({ json: node.route(params.kind) }) },
    {
      method: 'PUT',
      path: /^\/v1\/cache\/(?<key>.+)$/,
      handle: async ({ params, body }) => {
        const req = parseBody(putBody, body)
        return { json: await node.cachePut(params.key, req.value, req.ttlSeconds) }
      }
    },
    {
      method: 'GET',
      path: /^\/v1\/cache\/(?<key>.+)$/,
      handle: async ({ params }) => {
        const doc = await node.cacheGet(params.key)
        if (doc == null) throw new NotFoundError(`not found: ${params.key}`)
        return { json: doc }
      }
    },
    { method: 'DELETE', path: /^\/v1\/cache\/(?<key>.+)$/, handle: async ({ params }) => ({ json: await node.cacheDel(params.key) }) },
    {
      method: 'GET',
      path: /^\/v1\/cache$/,
      handle: async ({ query }) => {
        const limit = query.get('limit')
        if (limit != null && !/^\d{1,6}$/.test(limit)) throw new BadRequestError('limit must be a positive integer')
        return { json: await node.cacheList({ prefix: query.get('prefix') ?? undefined, limit: limit != null ? Number(limit) : undefined }) }
      }
    },
    {
      method: 'GET',
      path: /^\/metrics$/,
      handle: async () => ({ text: await registry.metrics(), contentType: registry.contentType })
    }
  ]
}
